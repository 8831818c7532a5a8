#!/usr/bin/env bash
# Is the harness's load generator the bottleneck? On one warm cluster (`cluster up`, reached as an
# external cluster), Kafka's own kafka-producer-perf-test and the harness's producer of every
# client run in turn, each round: acks=all with idempotence, 128-byte records, 3 partitions,
# replication factor 3, min.insync.replicas 2, nothing throttled. Prints records/s of each and the
# ratio harness / perf-test per round.
#
#   scripts/perf-compare.sh [ROUNDS]        (default 3; needs `make build workers image`)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=target/release/kafka-chaos
records=${PERF_RECORDS:-400000}
tmp=$(mktemp -d)

"$bin" cluster up --print-external "$tmp/external.toml" >/dev/null 2>"$tmp/up.log" &
up=$!
cleanup() { kill -TERM "$up" 2>/dev/null || true; wait "$up" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 1 240); do [ -f "$tmp/external.toml" ] && break; sleep 1; done
[ -f "$tmp/external.toml" ] || { cat "$tmp/up.log" >&2; echo "perf-compare: the cluster did not start" >&2; exit 3; }

mapfile -t containers < <(sed -n 's/^container = "\(.*\)"$/\1/p' "$tmp/external.toml")
broker=${containers[0]}
internal=$(printf '%s:19092,' "${containers[@]}"); internal=${internal%,}
cat scenarios/throughput.toml "$tmp/external.toml" >"$tmp/throughput.toml"

kafka() { docker exec "$broker" "/opt/kafka/bin/$@"; }

# Kafka's tool prints records/s from its first send to its last ack; the harness's rate is taken
# the same way from each cell's history (acked sends / time from the first ack to the last), so a
# JVM's start-up counts in neither. The order alternates (perf-test first in odd rounds, last in
# even ones) so that a cluster that warms up or fills its page cache favours neither side.
perf_test() {
  local topic=kc-perf-$1-$$ rate
  kafka kafka-topics.sh --bootstrap-server "$broker:19092" --create --topic "$topic" \
    --partitions 3 --replication-factor 3 --config min.insync.replicas=2 >/dev/null
  # The last line: "400000 records sent, 31234.5 records/sec (3.81 MB/sec), ..."
  rate=$(kafka kafka-producer-perf-test.sh --topic "$topic" --num-records "$records" --record-size 128 \
    --throughput -1 --producer-props "bootstrap.servers=$internal" acks=all enable.idempotence=true 2>/dev/null \
    | tail -1 | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p')
  kafka kafka-topics.sh --bootstrap-server "$broker:19092" --delete --topic "$topic" >/dev/null
  echo "$rate"
}

harness() {
  "$bin" run "$tmp/throughput.toml" --out "$tmp/round-$1" >/dev/null 2>"$tmp/run-$1.log" || true
  python3 - "$tmp/round-$1" <<'PY'
import json, os, sys
out = sys.argv[1]
for cell in json.load(open(os.path.join(out, "summary.json")))["cells"]:
    times = [e["time_ms"] for e in map(json.loads, open(os.path.join(out, "cells", cell["id"], "history.jsonl")))
             if e.get("type") == "send" and e.get("outcome") == "acked"]
    rate = len(times) / ((max(times) - min(times)) / 1000.0) if len(times) > 1 else 0.0
    print(cell["config"].get("client", "rdkafka"), f"{rate:.0f}")
PY
}

printf '%-6s %-8s %-14s %12s %8s\n' round order producer records/s ratio
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    perf=$(perf_test "$round"); rates=$(harness "$round"); order="perf-first"
  else
    rates=$(harness "$round"); perf=$(perf_test "$round"); order="perf-last"
  fi
  printf '%-6s %-8s %-14s %12.0f %8s\n' "$round" "$order" perf-test "$perf" 1.00
  while read -r client rate; do
    printf '%-6s %-8s %-14s %12.0f %8.2f\n' "$round" "$order" "$client" "$rate" "$(awk -v a="$rate" -v b="$perf" 'BEGIN { print a / b }')"
  done <<<"$rates"
done
