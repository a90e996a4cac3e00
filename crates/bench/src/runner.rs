//! Runs one phase of a benchmark: opens the connections, spreads them over worker threads, and in
//! each thread drives its connections with one poll loop over non-blocking sockets (no async
//! runtime: the loop is the scheduler, and its clock readings are the latency measurements).
//!
//! Latency of an operation = time its last reply was read - its start, where the start is the
//! moment its first request was queued for sending (closed loop) or the moment the timetable
//! said to send it (open loop, so a stalled server is charged for every request it delayed).

use crate::cluster::SlotMap;
use crate::conn::{Endpoint, Sock, Writer};
use crate::histogram::Recorder;
use crate::schedule::{Budget, Schedule};
use crate::workload::{Driver, OpState, NO_LABEL};
use roost_resp::{parse_reply, RespValue};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a connection starts operations.
#[derive(Clone, Copy, Debug)]
pub enum Pacing {
    /// Keep `depth` operations in flight (the pipeline depth, -P).
    Closed { depth: usize },
    /// Start operations on a fixed timetable: `rate` per second shared by `of` connections.
    Open { rate: f64, index: usize, of: usize },
}

/// In an open-loop run a connection that falls this far behind stops starting operations until
/// replies come back; the late ones still start the clock at their scheduled time.
const OPEN_LOOP_MAX_IN_FLIGHT: usize = 10_000;

pub struct ClientSpec {
    pub driver: Box<dyn Driver>,
    pub pacing: Pacing,
    /// Whether its operations count against -n (readers do, timeline writers don't).
    pub counted: bool,
}

pub struct RunSpec {
    pub name: String,
    pub labels: Vec<String>,
    /// Trailing labels that re-record operations of other labels (see `Recorder::views`).
    pub views: usize,
    pub clients: Vec<ClientSpec>,
    pub threads: usize,
    pub endpoint: Endpoint,
    /// The cluster's slot map (--cluster); `None` sends everything to `endpoint`.
    pub slots: Option<Arc<SlotMap>>,
    pub ops: Option<u64>,
    pub duration: Option<Duration>,
    pub progress: bool,
}

pub struct RunResult {
    pub name: String,
    pub labels: Vec<String>,
    pub rec: Recorder,
    pub elapsed: Duration,
    /// (seconds since start, operations per second over the preceding interval).
    pub series: Vec<(f64, f64)>,
}

struct Client {
    socks: Vec<Sock>,
    driver: Box<dyn Driver>,
    pacing: Pacing,
    schedule: Option<Schedule>,
    counted: bool,
    ops: Vec<OpState>,
    free: Vec<u32>,
    in_progress: usize,
}

struct Shared {
    rec: Mutex<Recorder>,
    completed: AtomicU64,
    abort: AtomicBool,
}

pub fn run(spec: RunSpec) -> Result<RunResult, String> {
    let RunSpec { name, labels, views, clients, threads, endpoint, slots, ops, duration, progress } = spec;
    let nodes: Vec<Endpoint> = match &slots {
        Some(map) => map.nodes.iter().map(|(h, p)| endpoint.at(h, *p)).collect(),
        None => vec![endpoint.clone()],
    };
    let route = slots.filter(|m| m.nodes.len() > 1);
    let mut opened = Vec::with_capacity(clients.len());
    for c in clients {
        let socks = nodes.iter().map(Sock::open).collect::<Result<Vec<_>, _>>()?;
        opened.push(Client {
            socks,
            driver: c.driver,
            pacing: c.pacing,
            schedule: None,
            counted: c.counted,
            ops: Vec::new(),
            free: Vec::new(),
            in_progress: 0,
        });
    }
    let threads = threads.clamp(1, opened.len().max(1));
    let mut groups: Vec<Vec<Client>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, c) in opened.into_iter().enumerate() {
        groups[i % threads].push(c);
    }

    let shared = Shared {
        rec: Mutex::new(Recorder::with_views(labels.len(), views)),
        completed: AtomicU64::new(0),
        abort: AtomicBool::new(false),
    };
    let start = Instant::now();
    let budget = Budget::new(ops, duration.map(|d| start + d));
    let mut series = Vec::new();
    let tty = std::io::stderr().is_terminal();
    let (outcome, finish) = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| {
                let (shared, budget, route, labels) = (&shared, &budget, route.as_deref(), labels.len());
                scope.spawn(move || {
                    let r = worker(group, start, budget, shared, route, labels);
                    if r.is_err() {
                        shared.abort.store(true, Ordering::Relaxed);
                        budget.stop();
                    }
                    (r, Instant::now())
                })
            })
            .collect();
        // The main thread samples throughput for the chart and the progress line.
        let sample = Duration::from_millis(250);
        let (mut last_t, mut last_n, mut last_print, mut printed_n) = (start, 0u64, start, 0u64);
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(Duration::from_millis(10));
            let now = Instant::now();
            if now - last_t < sample {
                continue;
            }
            let n = shared.completed.load(Ordering::Relaxed);
            series.push(((now - start).as_secs_f64(), (n - last_n) as f64 / (now - last_t).as_secs_f64()));
            (last_t, last_n) = (now, n);
            if progress && now - last_print >= Duration::from_secs(1) {
                let rate = (n - printed_n) as f64 / (now - last_print).as_secs_f64();
                printed_n = n;
                let p99 = shared.rec.lock().map(|r| r.overall().percentile_us(99.0)).unwrap_or(0.0);
                let line = format!(
                    "{name}: {:.1}s elapsed, {:.0} ops/s, p99 so far {:.3} ms",
                    (now - start).as_secs_f64(),
                    rate,
                    p99 / 1000.0
                );
                let mut err = std::io::stderr().lock();
                let _ = if tty { write!(err, "\r\x1b[K{line}") } else { writeln!(err, "{line}") };
                last_print = now;
            }
        }
        // The last partial interval, so short runs still have a point.
        let n = shared.completed.load(Ordering::Relaxed);
        let now = Instant::now();
        if n > last_n && now > last_t {
            series.push(((now - start).as_secs_f64(), (n - last_n) as f64 / (now - last_t).as_secs_f64()));
        }
        let mut outcome = Ok(());
        let mut finish = start;
        for h in handles {
            let (r, t) = h.join().unwrap_or_else(|_| (Err("a worker thread panicked".into()), Instant::now()));
            finish = finish.max(t);
            if outcome.is_ok() {
                outcome = r;
            }
        }
        (outcome, finish)
    });
    if progress && tty && finish - start >= Duration::from_secs(1) {
        eprint!("\r\x1b[K");
    }
    outcome?;
    let rec = shared.rec.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(RunResult { name, labels, rec, elapsed: finish - start, series })
}

/// One thread's loop over its connections.
fn worker(
    mut clients: Vec<Client>,
    start: Instant,
    budget: &Budget,
    shared: &Shared,
    route: Option<&SlotMap>,
    labels: usize,
) -> Result<(), String> {
    let mut local = Recorder::new(labels);
    let mut completed = 0u64;
    let mut last_flush = start;
    // Operations are taken from the shared budget in chunks; `allowance` is this thread's stock.
    let mut allowance = 0u64;
    let mut pollfds: Vec<libc::pollfd> = Vec::new();
    let mut where_: Vec<(usize, usize)> = Vec::new();
    let mut done: Vec<u32> = Vec::new();
    for c in &mut clients {
        if let Pacing::Open { rate, index, of } = c.pacing {
            c.schedule = Some(Schedule::new(start, rate, index, of));
        }
    }
    let result = (|| -> Result<(), String> {
        loop {
            let now = Instant::now();
            let mut wake: Option<Instant> = None;
            let mut busy = false;
            for c in clients.iter_mut() {
                c.start_ops(now, budget, &mut allowance, &mut wake, route, &mut local);
                for s in &mut c.socks {
                    s.flush()?;
                }
                busy |= c.in_progress > 0;
            }
            if !busy && allowance == 0 && !budget.live(now) {
                return Ok(());
            }
            if shared.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
            pollfds.clear();
            where_.clear();
            for (ci, c) in clients.iter().enumerate() {
                for (si, s) in c.socks.iter().enumerate() {
                    let mut events = libc::POLLIN;
                    if s.wants_write() {
                        events |= libc::POLLOUT;
                    }
                    pollfds.push(libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(&s.stream), events, revents: 0 });
                    where_.push((ci, si));
                }
            }
            // Wake for the next scheduled send, and at least every 50 ms to see the deadline.
            let mut timeout = Duration::from_millis(50);
            if let Some(w) = wake {
                timeout = timeout.min(w.saturating_duration_since(Instant::now()));
            }
            let ts = libc::timespec {
                tv_sec: timeout.as_secs() as libc::time_t,
                tv_nsec: timeout.subsec_nanos() as libc::c_long,
            };
            // SAFETY: `pollfds` is a valid, exclusively borrowed array of `len` pollfd structs, and
            // `ts` outlives the call; a null signal mask leaves the mask unchanged.
            let n = unsafe { libc::ppoll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, &ts, std::ptr::null()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("poll failed: {e}"));
            }
            for (k, pfd) in pollfds.iter().enumerate() {
                if pfd.revents == 0 {
                    continue;
                }
                let (ci, si) = where_[k];
                let c = &mut clients[ci];
                if pfd.revents & libc::POLLOUT != 0 {
                    c.socks[si].flush()?;
                }
                if pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                    c.socks[si].fill()?;
                    let now = Instant::now();
                    c.read_replies(si, &mut local, &mut done)?;
                    completed += c.finish_steps(&mut done, now, route, &mut local);
                }
            }
            let now = Instant::now();
            if now - last_flush >= Duration::from_millis(100) {
                flush(shared, &mut local, &mut completed);
                last_flush = now;
            }
        }
    })();
    flush(shared, &mut local, &mut completed);
    result
}

fn flush(shared: &Shared, local: &mut Recorder, completed: &mut u64) {
    if let Ok(mut rec) = shared.rec.lock() {
        rec.drain_from(local);
    }
    shared.completed.fetch_add(std::mem::take(completed), Ordering::Relaxed);
}

impl Client {
    fn start_ops(
        &mut self,
        now: Instant,
        budget: &Budget,
        allowance: &mut u64,
        wake: &mut Option<Instant>,
        route: Option<&SlotMap>,
        local: &mut Recorder,
    ) {
        let mut may_start = |counted: bool| {
            if !counted {
                return budget.live(now);
            }
            if *allowance == 0 {
                *allowance = budget.take(64, now);
            }
            if *allowance == 0 {
                return false;
            }
            *allowance -= 1;
            true
        };
        match self.pacing {
            Pacing::Closed { depth } => {
                while self.in_progress < depth && may_start(self.counted) {
                    self.begin(now, route, local);
                }
            }
            Pacing::Open { .. } => {
                let Some(mut schedule) = self.schedule.take() else { return };
                while self.in_progress < OPEN_LOOP_MAX_IN_FLIGHT {
                    let next = schedule.peek();
                    if next > now {
                        *wake = Some(wake.map_or(next, |w| w.min(next)));
                        break;
                    }
                    if !may_start(self.counted) {
                        break;
                    }
                    schedule.due(now);
                    self.begin(next, route, local);
                }
                self.schedule = Some(schedule);
            }
        }
    }

    fn begin(&mut self, start: Instant, route: Option<&SlotMap>, local: &mut Recorder) {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.ops.push(OpState::new(start));
                (self.ops.len() - 1) as u32
            }
        };
        let op = &mut self.ops[id as usize];
        op.label = 0;
        op.also = NO_LABEL;
        op.start = start;
        op.step = 0;
        op.data.clear();
        let mut w = Writer { socks: &mut self.socks, route, op: id, issued: 0 };
        self.driver.begin(&mut w, op);
        op.pending = w.issued;
        self.in_progress += 1;
        if w.issued == 0 {
            self.complete(id, start, local);
        }
    }

    /// Consumes the replies buffered on socket `si`; operations whose step is complete go to `done`.
    fn read_replies(&mut self, si: usize, local: &mut Recorder, done: &mut Vec<u32>) -> Result<(), String> {
        let sock = &mut self.socks[si];
        while let Some((pending, reply)) = sock.next_reply()? {
            local.requests += 1;
            if reply.first() == Some(&b'-') {
                local.errors += 1;
                if local.first_error.is_none() {
                    let text = String::from_utf8_lossy(&reply[1..]).trim_end().to_string();
                    local.first_error = Some(text);
                }
            }
            let op = &mut self.ops[pending.op as usize];
            if pending.want_data {
                collect_bulks(reply, &mut op.data);
            }
            op.pending -= 1;
            if op.pending == 0 {
                done.push(pending.op);
            }
        }
        Ok(())
    }

    /// Moves each operation in `done` to its next step, or records it; returns how many finished.
    fn finish_steps(
        &mut self,
        done: &mut Vec<u32>,
        now: Instant,
        route: Option<&SlotMap>,
        local: &mut Recorder,
    ) -> u64 {
        let mut finished = 0;
        for id in done.drain(..) {
            let op = &mut self.ops[id as usize];
            let mut w = Writer { socks: &mut self.socks, route, op: id, issued: 0 };
            self.driver.step_done(&mut w, op);
            if w.issued > 0 {
                op.pending = w.issued;
                op.step += 1;
            } else {
                self.complete(id, now, local);
                finished += 1;
            }
        }
        finished
    }

    fn complete(&mut self, id: u32, now: Instant, local: &mut Recorder) {
        let op = &self.ops[id as usize];
        let latency = now.saturating_duration_since(op.start);
        local.hists[op.label as usize].record(latency);
        if op.also != NO_LABEL {
            local.hists[op.also as usize].record(latency);
        }
        self.driver.finished(op);
        self.free.push(id);
        self.in_progress -= 1;
    }
}

/// Appends the bulk strings of an array reply (LRANGE's) to `out`.
fn collect_bulks(reply: &[u8], out: &mut Vec<Vec<u8>>) {
    if let Some((RespValue::Array(items), _)) = parse_reply(reply) {
        for item in items {
            if let RespValue::Bulk(b) = item {
                out.push(b);
            }
        }
    }
}
