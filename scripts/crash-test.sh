#!/usr/bin/env bash
# Crash test of the append-only file: writers on 127.0.0.1 make acknowledged INCR and SET writes
# while the server is killed with SIGKILL at a random moment, then restarted from the same
# directory, and every acknowledged write is checked.
#
# Round 1: appendfsync always, repeated ROUNDS times: no acknowledged write may be lost.
# Round 2: appendfsync everysec, repeated ROUNDS times: the loss is measured (acknowledged writes
# missing after the restart, and the window: from the oldest lost acknowledgement to the last
# acknowledgement the writers got before the server died, in ms).
#
# A SIGKILL loses what the process held, not what the kernel has: writes the AOF writer had
# handed to write() survive it even without fsync. So the everysec numbers measure the writer's
# lag behind the workers; a power cut would also lose the page cache's unsynced second.
#
# Usage: scripts/crash-test.sh [rounds] [writes-per-round]
#   ROOST=path/to/roost to use an existing binary (default: build target/release/roost).
# Needs python3 and the roost binary; nothing else is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
WRITES=${2:-100000}
if [ -z "${ROOST:-}" ]; then
  cargo build --release -q -p roost
  ROOST=target/release/roost
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 - "$ROOST" "$WORK" "$ROUNDS" "$WRITES" <<'PY'
import os, random, signal, socket, subprocess, sys, threading, time

roost, work, rounds, writes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
WRITERS = 4

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d: raise ConnectionError("closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l
    def reply(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            while len(self.buf) < n + 2:
                d = self.s.recv(65536)
                if not d: raise ConnectionError("closed")
                self.buf += d
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            return [self.reply() for _ in range(int(rest))]
        if t == b":": return int(rest)
        if t == b"-": raise RuntimeError(rest.decode())
        return rest
    def cmd(self, *args):
        self.s.sendall(encode(*args)); return self.reply()

def start(policy, port, logf):
    p = subprocess.Popen([roost, "--port", str(port), "--bind", "127.0.0.1", "--dir", work,
                          "--appendonly", "yes", "--appendfsync", policy, "--save", ""],
                         stdout=logf, stderr=logf)
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise SystemExit("roost exited at startup, see %s/roost.log" % work)
        try:
            c = Conn(port)
            if c.cmd("PING") == b"PONG": return p, c
        except OSError:
            time.sleep(0.05)
    raise SystemExit("roost did not start")

# What was acknowledged, across all rounds: counters (writer -> highest INCR reply) and SET keys.
acked_counter = {w: 0 for w in range(WRITERS)}
acked_sets = {}          # key -> (value, ack time)
counter_acks = {w: [] for w in range(WRITERS)}  # (value, ack time), this round
last_ack = [0.0]         # time of the last acknowledgement of the round

def writer(port, w, stop, budget):
    try:
        c = Conn(port)
        n = 0
        while not stop.is_set() and n < budget:
            if n % 2 == 0:
                v = c.cmd("INCR", "ctr:%d" % w)
                t = time.time()
                acked_counter[w] = v
                counter_acks[w].append((v, t))
                last_ack[0] = max(last_ack[0], t)
            else:
                key = "set:%d:%d:%d" % (w, int(time.time() * 1e6), n)
                val = "v%d" % n
                c.cmd("SET", key, val)
                t = time.time()
                acked_sets[key] = (val, t)
                last_ack[0] = max(last_ack[0], t)
            n += 1
    except (OSError, ConnectionError, RuntimeError):
        pass  # the server died under us: what was acknowledged is recorded

def check(c, last):
    lost, oldest = 0, None
    for w in range(WRITERS):
        got = c.cmd("GET", "ctr:%d" % w)
        got = int(got) if got is not None else 0
        if got < acked_counter[w]:
            lost += acked_counter[w] - got
            for v, t in counter_acks[w]:
                if v > got:
                    oldest = t if oldest is None else min(oldest, t); break
            acked_counter[w] = got  # the next rounds continue from what survived
    keys = list(acked_sets)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        vals = c.cmd("MGET", *chunk)
        for k, v in zip(chunk, vals):
            if v is None or v.decode() != acked_sets[k][0]:
                lost += 1
                t = acked_sets[k][1]
                oldest = t if oldest is None else min(oldest, t)
                del acked_sets[k]
    window = 0 if oldest is None else max(0, (last - oldest) * 1000)
    return lost, window

def campaign(policy):
    global acked_counter, acked_sets, counter_acks
    for f in os.listdir(work):
        if f != "roost.log":
            subprocess.run(["rm", "-rf", os.path.join(work, f)])
    acked_counter = {w: 0 for w in range(WRITERS)}
    acked_sets = {}
    results = []
    logf = open(os.path.join(work, "roost.log"), "ab")
    for r in range(rounds):
        port = free_port()
        proc, c = start(policy, port, logf)
        counter_acks = {w: [] for w in range(WRITERS)}
        last_ack[0] = 0.0
        stop = threading.Event()
        before = sum(acked_counter.values()) + len(acked_sets)
        threads = [threading.Thread(target=writer, args=(port, w, stop, writes // WRITERS)) for w in range(WRITERS)]
        for t in threads: t.start()
        time.sleep(random.uniform(0.05, 1.5))
        os.kill(proc.pid, signal.SIGKILL)   # only the process this script started
        proc.wait()
        stop.set()
        for t in threads: t.join()
        acked = sum(acked_counter.values()) + len(acked_sets) - before
        port = free_port()
        proc, c = start(policy, port, logf)
        lost, window = check(c, last_ack[0])
        proc.send_signal(signal.SIGTERM); proc.wait()
        results.append((acked, lost, window))
        print("  %-8s round %2d: %6d writes acknowledged, %4d lost, loss window %6.1f ms"
              % (policy, r + 1, acked, lost, window), flush=True)
    return results

summary = {}
for policy in ("always", "everysec"):
    print("appendfsync %s: %d rounds, kill -9 at a random moment of each" % (policy, rounds), flush=True)
    summary[policy] = campaign(policy)

print()
print("%-10s %7s %12s %10s %14s %16s" % ("policy", "rounds", "acked", "lost", "rounds w/loss", "max window (ms)"))
for policy, res in summary.items():
    acked = sum(a for a, _, _ in res); lost = sum(l for _, l, _ in res)
    with_loss = sum(1 for _, l, _ in res if l)
    window = max(w for _, _, w in res)
    print("%-10s %7d %12d %10d %14d %16.1f" % (policy, len(res), acked, lost, with_loss, window))
always_lost = sum(l for _, l, _ in summary["always"])
if always_lost:
    print("FAIL: appendfsync always lost %d acknowledged writes" % always_lost)
    sys.exit(1)
print("OK: appendfsync always lost no acknowledged write")
PY
