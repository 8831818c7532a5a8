#!/usr/bin/env bash
# Start and tear down a cluster N times in a row with `kafka-chaos cluster up` and count what
# failed: the check behind "a cluster that always starts". Each start must print its bootstrap
# servers; each Ctrl-C must leave no container or network of its run.
#   scripts/cluster-starts.sh [N] [extra cluster-up flags...]      (default N: 15)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-15}
shift || true
bin=${KAFKA_CHAOS_BIN:-target/release/kafka-chaos}
log=$(mktemp -d)
failures=0
for i in $(seq 1 "$n"); do
  out=$log/start-$i.log
  "$bin" cluster up "$@" >"$out.stdout" 2>"$out" &
  pid=$!
  started=
  for _ in $(seq 1 240); do
    if grep -q "press Ctrl-C" "$out"; then started=yes; break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  run=$(sed -n 's/^cluster \([^ ]*\) up in \([0-9.]*\) s.*/\1 \2/p' "$out")
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  code=$?
  left=0
  if [ -n "$run" ]; then
    left=$(docker ps -aq --filter "label=kafka-chaos.run=${run%% *}" | wc -l)
  fi
  if [ -n "$started" ] && [ "$code" = 0 ] && [ "$left" = 0 ]; then
    echo "start $i: ok, up in ${run#* } s"
  else
    failures=$((failures + 1))
    echo "start $i: FAILED (exit $code, $left container(s) left); its log:"
    sed 's/^/    /' "$out"
  fi
done
echo "$((n - failures)) of $n starts succeeded"
rm -rf "$log"
[ "$failures" = 0 ]
