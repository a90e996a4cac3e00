#!/usr/bin/env bash
# Roost vs redis-server with `roost bench`, in the same run: throughput and p99 ratios per workload.
#
# Each server is pinned to core 0 (Roost with --threads 1), the load generator to core 1; rounds
# are interleaved (Roost, Redis, Roost, ...) so machine noise hits both alike, and medians are
# compared. Workloads: redis-benchmark's get/set at -P 16, the mix (60% GET, 25% SET, 10% INCR, 5%
# timeline assembly, Zipf keys) and timeline fan-out with concurrent timeline reads.
# redis-benchmark -t get,set -P 16 runs against the same servers too, next to `roost bench`'s own
# get/set figures, as a check of the tool itself.
#
# Usage: scripts/compare.sh [rounds] [requests]
#   TIMELINE_SECS (default 5): length of each timeline run; USERS (default 10000); POST_RATE (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-200000}
TIMELINE_SECS=${TIMELINE_SECS:-5}
USERS=${USERS:-10000}
POST_RATE=${POST_RATE:-200}
for tool in redis-server redis-cli redis-benchmark taskset python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools util-linux python3)" >&2; exit 1; }
done
cargo build --release -q -p roost
ROOST=target/release/roost
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

ROOST_PORT=$(free_port)
taskset -c 0 "$ROOST" server --port "$ROOST_PORT" --bind 127.0.0.1 --threads 1 >"$WORK/roost.log" 2>&1 &
ROOST_PID=$!; PIDS+=("$ROOST_PID")
REDIS_PORT=$(free_port)
taskset -c 0 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_port "$ROOST_PORT"; wait_port "$REDIS_PORT"

BENCH=(taskset -c 1 "$ROOST" bench -h 127.0.0.1 --threads 1 -c 50 --json)
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
record() { # target round workload json
  python3 -c 'import json,sys; print(json.dumps({"target":sys.argv[1],"round":int(sys.argv[2]),"workload":sys.argv[3],"result":json.loads(sys.argv[4])}))' "$@" >>"$RESULTS"
}

echo "Roost vs redis-server with roost bench: $ROUNDS interleaved rounds, $REQUESTS requests, server on core 0, load on core 1"
for round in $(seq 1 "$ROUNDS"); do
  for target in roost redis; do
    port=$ROOST_PORT; [ "$target" = redis ] && port=$REDIS_PORT
    echo "round $round: $target" >&2
    redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null
    record "$target" "$round" getset "$("${BENCH[@]}" -p "$port" -t get,set -P 16 -n "$REQUESTS" -r 100000)"
    redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null
    record "$target" "$round" mix "$("${BENCH[@]}" -p "$port" --workload mix -n "$REQUESTS" -r 100000 --zipf 0.99 --users "$USERS")"
    redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null
    record "$target" "$round" timeline "$("${BENCH[@]}" -p "$port" --workload timeline --users "$USERS" --post-rate "$POST_RATE" --duration "$TIMELINE_SECS")"
    redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null
    taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" -t get,set -c 50 -P 16 -n "$REQUESTS" -r 100000 --csv 2>/dev/null \
      | tail -n +2 | python3 -c '
import csv, json, sys
rows = {r[0]: {"ops_per_sec": float(r[1]), "p99": float(r[6]) * 1000} for r in csv.reader(sys.stdin)}
print(json.dumps({"commands": rows}))' >"$WORK/rb.json"
    record "$target" "$round" redis-benchmark "$(cat "$WORK/rb.json")"
  done
done

python3 - "$RESULTS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]

def med(target, workload, path):
    vals = []
    for r in runs:
        if r["target"] != target or r["workload"] != workload:
            continue
        v = r["result"]
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return statistics.median(vals) if vals else float("nan")

rows = [
    ("get -P 16", "getset", ["commands", "GET"]),
    ("set -P 16", "getset", ["commands", "SET"]),
    ("mix (all ops)", "mix", ["overall"]),
    ("mix GET", "mix", ["commands", "GET"]),
    ("mix TIMELINE", "mix", ["commands", "TIMELINE"]),
    ("timeline reads", "timeline", ["timeline", "reads"]),
    ("timeline fan-out", "timeline", ["timeline", "fanout"]),
]
print()
print(f"{'workload':<20}{'roost ops/s':>14}{'redis ops/s':>14}{'ratio':>8}{'roost p99 ms':>14}{'redis p99 ms':>14}{'ratio':>8}")
for name, workload, path in rows:
    r_ops, d_ops = med("roost", workload, path + ["ops_per_sec"]), med("redis", workload, path + ["ops_per_sec"])
    r_p99, d_p99 = med("roost", workload, path + ["p99"]) / 1000, med("redis", workload, path + ["p99"]) / 1000
    print(f"{name:<20}{r_ops:>14,.0f}{d_ops:>14,.0f}{r_ops / d_ops if d_ops else 0:>8.2f}{r_p99:>14.3f}{d_p99:>14.3f}{r_p99 / d_p99 if d_p99 else 0:>8.2f}")
r, d = med("roost", "timeline", ["timeline", "deliveries_per_sec"]), med("redis", "timeline", ["timeline", "deliveries_per_sec"])
print(f"{'timeline deliveries':<20}{r:>14,.0f}{d:>14,.0f}{r / d if d else 0:>8.2f}")
r, d = med("roost", "timeline", ["timeline", "largest_account", "fanout", "p99"]), med("redis", "timeline", ["timeline", "largest_account", "fanout", "p99"])
print(f"{'largest fan-out p99':<20}{'':>14}{'':>14}{'':>8}{r / 1000:>14.3f}{d / 1000:>14.3f}{r / d if d else 0:>8.2f}")
print("\n(ratio = roost / redis: above 1 is better for ops/s, below 1 is better for p99)")

print("\nTool check, -t get,set -c 50 -P 16: roost bench vs redis-benchmark on the same server (median ops/s, p99 ms)")
print(f"{'server':<8}{'test':<6}{'roost bench':>14}{'redis-benchmark':>17}{'ratio':>8}{'p99 ours':>10}{'p99 r-b':>9}")
for target in ("roost", "redis"):
    for test in ("SET", "GET"):
        ours = med(target, "getset", ["commands", test, "ops_per_sec"])
        theirs = med(target, "redis-benchmark", ["commands", test, "ops_per_sec"])
        ours_p99 = med(target, "getset", ["commands", test, "p99"]) / 1000
        theirs_p99 = med(target, "redis-benchmark", ["commands", test, "p99"]) / 1000
        print(f"{target:<8}{test:<6}{ours:>14,.0f}{theirs:>17,.0f}{ours / theirs if theirs else 0:>8.2f}{ours_p99:>10.3f}{theirs_p99:>9.3f}")
PY
kill "$ROOST_PID" "$REDIS_PID" 2>/dev/null || true
wait "$ROOST_PID" "$REDIS_PID" 2>/dev/null || true
