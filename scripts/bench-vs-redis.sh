#!/usr/bin/env bash
# Roost vs redis-server with redis-benchmark, in the same run, as a throughput ratio.
#
# Pinned part: each server on core 0 (Roost with --threads 1), redis-benchmark on core 1, rounds
# interleaved (Roost, Redis, Roost, ...) so machine noise hits both alike; medians are compared.
# Unpinned part: Roost with its default threads against redis-server, nothing pinned.
#
# Usage: scripts/bench-vs-redis.sh [rounds] [requests]
#   TESTS=get,set environment variable: the redis-benchmark tests to run (default: the core
#   string tests and the data-type tests Roost supports).
#   EVALSHA=0 skips the scripting test: EVALSHA of a small rate-limiter script (INCR, and EXPIRE
#   on the first hit) on random keys.
#   STREAMS=0 skips the stream tests: XADD with automatic IDs onto one stream, then XREADGROUP
#   COUNT 1 of those entries by one group's consumers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
REQUESTS=${2:-1000000}
TESTS=${TESTS:-get,set,incr,mset,lpush,rpop,sadd,hset,spop,zadd,lrange_100,lrange_600}
for tool in redis-server redis-benchmark taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools util-linux)" >&2; exit 1; }
done
cargo build --release -q
ROOST=target/release/roost
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server on $1 did not start" >&2; exit 1; }

start_servers() { # $1 = pin prefix for servers, $2 = extra roost args
  ROOST_PORT=$(free_port); REDIS_PORT=$(free_port)
  $1 "$ROOST" server --port "$ROOST_PORT" --bind 127.0.0.1 $2 >"$WORK/roost.log" 2>&1 & PIDS+=($!); ROOST_PID=$!
  $1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 & PIDS+=($!); REDIS_PID=$!
  wait_port "$ROOST_PORT"; wait_port "$REDIS_PORT"
}
stop_servers() { kill "$ROOST_PID" "$REDIS_PID" 2>/dev/null || true; wait "$ROOST_PID" "$REDIS_PID" 2>/dev/null || true; }

run_rounds() { # $1 = label, $2 = pipeline, $3 = benchmark pin prefix
  local out="$WORK/$1.csv"; : >"$out"
  for round in $(seq 1 "$ROUNDS"); do
    for target in roost redis; do
      local port=$ROOST_PORT; [ "$target" = redis ] && port=$REDIS_PORT
      redis-cli -p "$port" flushall >/dev/null
      $3 redis-benchmark -p "$port" -t "$TESTS" -c 50 -r 100000 -n "$REQUESTS" -P "$2" --csv 2>/dev/null \
        | tail -n +2 | sed "s/^/$target,$round,/" >>"$out"
      if [ "${EVALSHA:-1}" = 1 ]; then
        local sha
        sha=$(redis-cli -p "$port" script load "$LIMITER")
        $3 redis-benchmark -p "$port" -c 50 -r 100000 -n "$REQUESTS" -P "$2" --csv \
          evalsha "$sha" 1 "rate:__rand_int__" 2>/dev/null \
          | tail -n +2 | sed 's/^"[^"]*"/"EVALSHA limiter"/' | sed "s/^/$target,$round,/" >>"$out"
      fi
      if [ "${STREAMS:-1}" = 1 ]; then
        $3 redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -P "$2" --csv xadd bench:stream '*' f v 2>/dev/null \
          | tail -n +2 | sed 's/^"[^"]*"/"XADD"/' | sed "s/^/$target,$round,/" >>"$out"
        redis-cli -p "$port" xgroup create bench:stream g 0 >/dev/null
        $3 redis-benchmark -p "$port" -c 50 -n "$REQUESTS" -P "$2" --csv \
          xreadgroup group g c count 1 streams bench:stream '>' 2>/dev/null \
          | tail -n +2 | sed 's/^"[^"]*"/"XREADGROUP"/' | sed "s/^/$target,$round,/" >>"$out"
      fi
    done
  done
  python3 - "$1" "$out" <<'PY'
import csv, statistics, sys
label, path = sys.argv[1], sys.argv[2]
rps = {}
for row in csv.reader(open(path)):
    target, _round, test, value = row[0], row[1], row[2], float(row[3])
    rps.setdefault(test, {}).setdefault(target, []).append(value)
print(f"\n{label}")
print(f"{'test':<16}{'roost rps':>14}{'redis rps':>14}{'ratio':>8}")
for test, by in rps.items():
    r, d = statistics.median(by.get("roost", [0])), statistics.median(by.get("redis", [0]))
    print(f"{test:<16}{r:>14,.0f}{d:>14,.0f}{(r / d if d else 0):>8.2f}")
PY
}

LIMITER="local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], 60) end return n"

echo "Roost vs redis-server: redis-benchmark -t $TESTS -c 50 -r 100000 -n $REQUESTS, median of $ROUNDS interleaved rounds"
start_servers "taskset -c 0" "--threads 1"
run_rounds "pinned, one core each, -P 16" 16 "taskset -c 1"
run_rounds "pinned, one core each, -P 1" 1 "taskset -c 1"
stop_servers
start_servers "" ""
run_rounds "unpinned, Roost default threads, -P 16" 16 ""
run_rounds "unpinned, Roost default threads, -P 1" 1 ""
stop_servers
