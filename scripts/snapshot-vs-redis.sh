#!/usr/bin/env bash
# BGSAVE under a steady write load, Roost (fork-less snapshot) vs redis-server (fork), in one run:
# the peak of the server's extra private memory during the save (all its processes, so Redis's
# forked child counts: /proc/PID/smaps_rollup Private_Clean + Private_Dirty) as a fraction of
# the dataset, the write throughput during the save vs just before it, the save's duration, and
# the time each takes to start with the file it wrote.
#
# Usage: scripts/snapshot-vs-redis.sh [keys] [value-bytes] [rounds]   (default 2000000 keys of
# 400 bytes, about 1 GB, 3 rounds; each round measures Roost, then redis-server, and the medians
# of the rounds are printed last). Servers use their default threads; nothing is pinned (the
# point is memory).
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-2000000}
VALUE=${2:-400}
ROUNDS=${3:-3}
for tool in redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install -y redis-server redis-tools python3)" >&2; exit 1; }
done
cargo build --release -q -p roost
python3 - "$KEYS" "$VALUE" "$ROUNDS" <<'PY'
import os, shutil, socket, statistics, subprocess, sys, tempfile, time

KEYS, VALUE, ROUNDS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def private_kb(pid):
    try:
        text = open(f"/proc/{pid}/smaps_rollup").read()
    except OSError:
        return 0
    return sum(int(l.split()[1]) for l in text.splitlines() if l.startswith(("Private_Clean:", "Private_Dirty:")))

def family_kb(pid):
    """The server and its children (Redis's forked saver)."""
    kids = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            kids += [int(x) for x in open(f"/proc/{pid}/task/{t}/children").read().split()]
    except OSError:
        pass
    return private_kb(pid) + sum(private_kb(k) for k in kids)

class Conn:
    """One RESP connection, so polling during the save costs a round trip, not a process."""
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *args):
        self.sock.sendall(b"".join([f"*{len(args)}\r\n".encode()] +
                                   [f"${len(a)}\r\n{a}\r\n".encode() for a in args]))
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            body, self.buf = self.buf[:n], self.buf[n + 2:]
            return body.decode()
        return line[1:].decode()

_conns = {}

def info(port, section):
    if port not in _conns:
        _conns[port] = Conn(port)
    out = _conns[port].call("INFO", section)
    return dict(l.split(":", 1) for l in out.splitlines() if ":" in l)

def wait_ready(port, proc, deadline=600):
    end = time.time() + deadline
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("server exited")
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout
        if "PONG" in r and dict(l.split(":", 1) for l in subprocess.run(["redis-cli", "-p", str(port), "info", "persistence"],
                capture_output=True, text=True).stdout.splitlines() if ":" in l).get("loading") == "0":
            return
        time.sleep(0.02)
    raise SystemExit("server did not start")

def start(kind, port, d):
    if kind == "roost":
        cmd = ["target/release/roost", "server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d]
    else:
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", "--appendonly", "no"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def fill(port):
    """Every key the load will write (redis-benchmark's key:NNNNNNNNNNNN names), so the dataset
    does not grow during the measurement and the extra memory is the save's alone."""
    value = b"x" * VALUE
    pipe = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    batch = []
    for i in range(KEYS):
        key = b"key:%012d" % i
        batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
        if len(batch) == 10000:
            pipe.stdin.write(b"".join(batch)); batch = []
    pipe.stdin.write(b"".join(batch))
    pipe.stdin.close()
    if pipe.wait() != 0:
        raise SystemExit("filling the dataset failed")

def commands(port):
    return int(info(port, "stats")["total_commands_processed"])

def measure(kind):
    # The previous measurement's files are flushed to disk first: their writeback would
    # otherwise take CPU and disk in this one's window.
    os.sync()
    d = tempfile.mkdtemp(prefix=f"snapshot-{kind}-")
    port = free_port()
    p = start(kind, port, d)
    try:
        wait_ready(port, p)
        fill(port)
        dataset = int(info(port, "memory")["used_memory"])
        # A steady write load on the same keys for the rest of the measurement.
        load = subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(KEYS * 100), "-r", str(KEYS),
                                 "-d", str(VALUE), "-P", "16", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        # The window before the save is polled as the save is, so both pay the same overhead.
        c0, t0 = commands(port), time.time()
        before_mem = 0
        polls = 0
        while time.time() - t0 < 2.0:
            # Reading smaps walks the whole address space under the mm lock, which stalls the
            # server's own memory mapping: every tenth poll only.
            if polls % 10 == 0:
                before_mem = max(before_mem, family_kb(p.pid))
            polls += 1
            info(port, "persistence")
            time.sleep(0.005)
        before_rate = (commands(port) - c0) / (time.time() - t0)
        c1, t1 = commands(port), time.time()
        info(port, "persistence")
        assert "started" in _conns[port].call("BGSAVE")
        peak, polls = before_mem, 0
        while True:
            if polls % 10 == 0:
                peak = max(peak, family_kb(p.pid))
            polls += 1
            if time.time() - t1 > 0.2 and info(port, "persistence").get("rdb_bgsave_in_progress") == "0":
                break
            time.sleep(0.005)
        saved = time.time() - t1
        during_rate = (commands(port) - c1) / saved
        load.kill()
        ok = info(port, "persistence").get("rdb_last_bgsave_status")
    finally:
        _conns.pop(port, None)
        p.kill(); p.wait()
    size = os.path.getsize(os.path.join(d, "dump.rdb"))
    port = free_port()
    t = time.time()
    p = start(kind, port, d)
    try:
        wait_ready(port, p)
        load_secs = time.time() - t
    finally:
        p.kill(); p.wait()
        shutil.rmtree(d, ignore_errors=True)
    extra = (peak - before_mem) * 1024
    return dict(dataset=dataset, extra=extra, frac=extra / dataset, before=before_rate, during=during_rate,
                save=saved, load=load_secs, size=size, ok=ok)

def row(label, r):
    print(f"{label:<14}{r['dataset']/1e6:>12.0f}{r['extra']/1e6:>10.0f}{r['frac']*100:>11.1f}%{r['before']:>17,.0f}{r['during']:>10,.0f}"
          f"{r['during']/max(r['before'],1):>7.2f}{r['save']:>8.2f}{r['load']:>8.2f}{r['size']/1e6:>9.0f}  {r.get('ok', '')}", flush=True)

print(f"BGSAVE under a SET load: {KEYS} keys of {VALUE} bytes, {ROUNDS} rounds")
print(f"{'server':<14}{'dataset MB':>12}{'extra MB':>10}{'extra/data':>12}{'writes/s before':>17}{'during':>10}{'ratio':>7}{'save s':>8}{'load s':>8}{'file MB':>9}  save status")
rounds = {"roost": [], "redis": []}
for n in range(ROUNDS):
    for kind in rounds:
        r = measure(kind)
        rounds[kind].append(r)
        row(f"{kind} #{n + 1}", r)
for kind, rs in rounds.items():
    median = {k: statistics.median(r[k] for r in rs) for k in ("dataset", "extra", "frac", "before", "during", "save", "load", "size")}
    # The ratio's median over the rounds, not the ratio of the medians.
    median["during"] = statistics.median(r["during"] / max(r["before"], 1) for r in rs) * max(median["before"], 1)
    row(f"{kind} median", median)
PY
