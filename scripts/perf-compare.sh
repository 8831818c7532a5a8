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

printf '%-6s %-14s %12s %8s\n' round producer records/s ratio
for round in $(seq 1 "$rounds"); do
  topic=kc-perf-$round-$$
  kafka kafka-topics.sh --bootstrap-server "$broker:19092" --create --topic "$topic" \
    --partitions 3 --replication-factor 3 --config min.insync.replicas=2 >/dev/null
  # The last line: "400000 records sent, 31234.5 records/sec (3.81 MB/sec), ..."
  perf=$(kafka kafka-producer-perf-test.sh --topic "$topic" --num-records "$records" --record-size 128 \
    --throughput -1 --producer-props "bootstrap.servers=$internal" acks=all enable.idempotence=true 2>/dev/null \
    | tail -1 | sed -n 's/.* records sent, \([0-9.]*\) records\/sec.*/\1/p')
  kafka kafka-topics.sh --bootstrap-server "$broker:19092" --delete --topic "$topic" >/dev/null
  printf '%-6s %-14s %12.0f %8s\n' "$round" perf-test "$perf" 1.00
  "$bin" run "$tmp/throughput.toml" --out "$tmp/round-$round" >/dev/null 2>"$tmp/run-$round.log" || true
  python3 - "$tmp/round-$round/summary.json" "$perf" "$round" <<'PY'
import json, sys
summary, perf, round_ = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3]
# The producers send for the workload's duration (20 s); a JVM's start-up counts in it.
for cell in summary["cells"]:
    client = cell["config"].get("client", "rdkafka")
    rate = cell["counts"]["acked"] / 20.0
    print(f"{round_:<6} {client:<14} {rate:12.0f} {rate / perf:8.2f}")
PY
done
