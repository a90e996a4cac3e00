#!/usr/bin/env bash
# roost proxy vs nutcracker (twemproxy) with redis-benchmark, in the same run, as a throughput ratio.
#
# Three redis-server backends behind one nutcracker.yml pool (fnv1a_64, ketama); nutcracker and
# `roost proxy` each load it (two copies differing only in `listen`). redis-benchmark GET/SET
# at -P 16 and -P 1, rounds interleaved (roost, nutcracker, roost, ...) so machine noise hits both
# alike, FLUSHALL on the backends before each round; medians of rps and of p99 are compared.
#
# Usage: scripts/bench-proxy-vs-nutcracker.sh [rounds] [requests]
#   PINNED=1 environment variable: both proxies on core 0 (Roost with --threads 1), backends and
#   redis-benchmark on core 1, via taskset. Default: nothing pinned, Roost with its default
#   threads (one per core), since Roost's proxy is multi-threaded and nutcracker is not.
#   THREADS=N environment variable (unpinned only): Roost with --threads N. Where the load
#   generator and the backends share the proxy's cores, fewer threads than cores can do better.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
REQUESTS=${2:-500000}
PINNED=${PINNED:-0}
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools)" >&2; exit 1; }
done
command -v nutcracker >/dev/null || { echo "nutcracker is required: apt-get install -y nutcracker" >&2; exit 1; }
if [ "$PINNED" = 1 ]; then
  command -v taskset >/dev/null || { echo "taskset is required for PINNED=1 (apt-get install -y util-linux)" >&2; exit 1; }
  PROXY_PIN="taskset -c 0"; OTHER_PIN="taskset -c 1"; ROOST_ARGS="--threads 1"
else
  PROXY_PIN=""; OTHER_PIN=""; ROOST_ARGS="${THREADS:+--threads $THREADS}"
fi
cargo build --release -q
ROOST=target/release/roost
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # $1 = port, $2 = log file
  for _ in $(seq 1 200); do redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "server on $1 did not start; $2:" >&2; cat "$2" >&2 || true; exit 1
}

BACKEND_PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  $OTHER_PIN redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis$i.log" 2>&1 & PIDS+=($!)
  wait_port "$port" "$WORK/redis$i.log"
  BACKEND_PORTS+=("$port")
done

write_conf() { # $1 = file, $2 = listen port
  {
    echo "bench:"
    echo "  listen: 127.0.0.1:$2"
    echo "  hash: fnv1a_64"
    echo "  distribution: ketama"
    echo "  redis: true"
    echo "  timeout: 400"
    echo "  auto_eject_hosts: false"
    echo "  servers:"
    for i in 1 2 3; do echo "   - 127.0.0.1:${BACKEND_PORTS[$((i - 1))]}:1 server$i"; done
  } >"$1"
}
ROOST_PORT=$(free_port); NUT_PORT=$(free_port)
write_conf "$WORK/roost.yml" "$ROOST_PORT"
write_conf "$WORK/nutcracker.yml" "$NUT_PORT"
$PROXY_PIN "$ROOST" proxy -c "$WORK/roost.yml" -s "$(free_port)" -a 127.0.0.1 $ROOST_ARGS >"$WORK/roost.log" 2>&1 & PIDS+=($!)
$PROXY_PIN nutcracker -c "$WORK/nutcracker.yml" -s "$(free_port)" -a 127.0.0.1 -o "$WORK/nutcracker.log" >"$WORK/nutcracker.out" 2>&1 & PIDS+=($!)
wait_port "$ROOST_PORT" "$WORK/roost.log"
wait_port "$NUT_PORT" "$WORK/nutcracker.log"

run_rounds() { # $1 = pipeline
  local dir="$WORK/P$1"; mkdir -p "$dir"
  for round in $(seq 1 "$ROUNDS"); do
    for target in roost nutcracker; do
      local port=$ROOST_PORT; [ "$target" = nutcracker ] && port=$NUT_PORT
      for b in "${BACKEND_PORTS[@]}"; do redis-cli -h 127.0.0.1 -p "$b" flushall >/dev/null; done
      $OTHER_PIN redis-benchmark -h 127.0.0.1 -p "$port" -t get,set -c 50 -r 100000 -n "$REQUESTS" -P "$1" --csv \
        2>/dev/null >"$dir/$target.$round.csv"
    done
  done
}

echo "roost proxy vs nutcracker, 3 redis-server backends: redis-benchmark -t get,set -c 50 -r 100000 -n $REQUESTS," \
  "median of $ROUNDS interleaved rounds, $([ "$PINNED" = 1 ] && echo "pinned (proxies core 0, Roost --threads 1; backends and benchmark core 1)" || echo "unpinned, Roost $([ -n "${THREADS:-}" ] && echo "--threads $THREADS" || echo "default threads")")"
for pipeline in 16 1; do run_rounds "$pipeline"; done

python3 - "$WORK" <<'PY'
import csv, glob, os, statistics, sys
work = sys.argv[1]
data = {}  # (pipeline, test) -> target -> {"rps": [...], "p99": [...]}
for path in sorted(glob.glob(os.path.join(work, "P*", "*.csv"))):
    pipeline = os.path.basename(os.path.dirname(path))[1:]
    target = os.path.basename(path).split(".")[0]
    rows = list(csv.DictReader(open(path)))
    if not rows:
        sys.exit(f"no redis-benchmark output in {path}")
    for col in ("test", "rps", "p99_latency_ms"):
        if col not in rows[0]:
            sys.exit(f"redis-benchmark --csv has no '{col}' column (header: {list(rows[0])}); redis-benchmark 7.0+ is needed")
    for row in rows:
        by = data.setdefault((pipeline, row["test"]), {}).setdefault(target, {"rps": [], "p99": []})
        by["rps"].append(float(row["rps"]))
        by["p99"].append(float(row["p99_latency_ms"]))
med = lambda by, t, k: statistics.median(by[t][k]) if t in by else 0.0
print(f"\n{'test':<6}{'-P':>4}{'roost rps':>14}{'nutcracker rps':>16}{'ratio':>8}{'roost p99 ms':>14}{'nutcracker p99 ms':>19}")
for (pipeline, test), by in sorted(data.items(), key=lambda kv: (-int(kv[0][0]), kv[0][1] != "SET", kv[0][1])):
    r, n = med(by, "roost", "rps"), med(by, "nutcracker", "rps")
    print(f"{test:<6}{pipeline:>4}{r:>14,.0f}{n:>16,.0f}{(r / n if n else 0):>8.2f}"
          f"{med(by, 'roost', 'p99'):>14.3f}{med(by, 'nutcracker', 'p99'):>19.3f}")
PY
