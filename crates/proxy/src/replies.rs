//! A client's replies, in request order.
//!
//! Each request takes the next place in its client's queue before it is forwarded, and its
//! backend connection copies the reply into that place: straight into the client's output when
//! the place is at the head, else into a stash shared by the client's early replies until the
//! places before it are answered. A split command, and any request to a Redis Cluster, takes a
//! place with legs: the legs' replies are merged, or a leg redirected by `-MOVED`/`-ASK` is
//! sent again by the client's writer, before the place counts as answered. The writer sends
//! whatever reached the output in one write per wake-up, and a backend wakes it once per batch
//! of replies, not once per reply. The requests of one read from the client make a batch, and
//! the writer holds its replies until the batch is answered (or they pass `HOLD_MAX` bytes): a
//! pipelining client waits for all of them anyway, and one write instead of one per backend
//! spares both ends a wake-up and the loopback stack a segment each.
//!
//! Owns: reply order, merging split replies, the client's backpressure (its reader stops while
//! too much is unanswered or unsent).
//! Never: sockets or routing. A reply for a client that has gone is dropped here, so it can
//! never reach another client.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::backend::reason;
use crate::client::ViewRef;
use crate::cluster::{is_redirect, MAX_REDIRECTS};
use crate::command::SplitKind;
use crate::reply::{array_elements, integer, is_error, push_err};

/// Requests a client may have unanswered before the proxy stops reading from it.
const MAX_PENDING: usize = 1024;
/// Output a client may have unsent before the proxy stops reading from it.
const MAX_UNSENT: usize = 1024 * 1024;
/// A stash this large whose live replies fill less than half of it is compacted: under a
/// steady pipeline some reply may always be waiting, so it is never simply emptied.
const STASH_COMPACT: usize = 1024 * 1024;
/// Replies ready to write that are sent even while their batch is still partly unanswered.
const HOLD_MAX: usize = 64 * 1024;

/// Where one backend reply goes: a client's queue, the place of the request, and which leg.
pub struct Ticket {
    replies: Rc<Replies>,
    seq: u64,
    leg: usize,
}

impl Ticket {
    pub fn deliver(self, reply: &[u8]) {
        self.replies.complete(self.seq, self.leg, reply, true);
    }

    /// The proxy's own failure, sent as `-ERR <why>`.
    pub fn fail(self, why: &str) {
        let mut err = Vec::with_capacity(why.len() + 7);
        push_err(&mut err, why);
        self.deliver(&err);
    }
}

/// How to send a cluster request again where a node redirects it.
pub struct Resend {
    pub data: Vec<u8>,
    /// The view and node the request went to: an empty host in a redirection means that node.
    pub view: ViewRef,
    pub node: usize,
}

/// How the legs of a split command make its reply.
pub struct Merge {
    pub kind: SplitKind,
    pub nkeys: usize,
    /// Per leg, the key positions it answers for.
    pub keys: Vec<Vec<usize>>,
}

/// A leg whose reply was a redirection, handed to the writer to follow.
pub struct Redirected {
    pub seq: u64,
    pub leg: usize,
    pub reply: Vec<u8>,
    pub resend: Resend,
}

/// What the client's writer should do next.
pub enum Step {
    /// Write the bytes swapped into its buffer.
    Write,
    /// Follow redirections (`take_redirects`).
    Follow,
    /// Everything is written: shut the connection.
    Done,
}

pub struct Replies(RefCell<Queue>);

#[derive(Default)]
struct Queue {
    /// Replies ready to write, in order.
    out: Vec<u8>,
    /// Requests not answered yet, or answered before an earlier one; `places[0]` is `head`.
    places: VecDeque<Place>,
    head: u64,
    stash: Vec<u8>,
    /// Places holding a stash range, and the bytes of those ranges.
    stashed: usize,
    stashed_bytes: usize,
    /// Places with a redirected leg.
    redirected: Vec<u64>,
    /// Where each batch of requests not yet fully answered ends: the place after its last.
    batch_ends: VecDeque<u64>,
    /// A batch was answered in full since the output was last taken.
    batch_done: bool,
    /// A `Close` reached the output: nothing follows it.
    closing: bool,
    reader_done: bool,
    gone: bool,
    writer: Option<Waker>,
    reader: Option<Waker>,
}

enum Place {
    Waiting,
    Stashed {
        start: usize,
        end: usize,
    },
    /// Close the connection after these bytes (QUIT's `+OK`).
    Close(&'static [u8]),
    Legs(Box<Legs>),
}

struct Legs {
    legs: Vec<Leg>,
    missing: usize,
    /// `None`: one leg, whose reply is the reply.
    merge: Option<Merge>,
}

#[derive(Default)]
struct Leg {
    resend: Option<Resend>,
    hops: usize,
    reply: Option<Vec<u8>>,
    redirect: Option<Vec<u8>>,
}

fn wake(w: &mut Option<Waker>) {
    if let Some(w) = w.take() {
        w.wake();
    }
}

fn park(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
    }
}

impl Replies {
    pub fn new() -> Rc<Replies> {
        Rc::new(Replies(RefCell::new(Queue::default())))
    }

    /// A reply the proxy gives itself, in its turn.
    pub fn ready(&self, reply: &[u8]) {
        let mut q = self.0.borrow_mut();
        if q.places.is_empty() {
            q.out.extend_from_slice(reply);
            wake(&mut q.writer);
        } else {
            let i = q.places.len();
            q.places.push_back(Place::Waiting);
            q.fill(i, reply);
        }
    }

    /// Closes the connection once everything before is written, after `last`.
    pub fn close(&self, last: &'static [u8]) {
        let mut q = self.0.borrow_mut();
        q.places.push_back(Place::Close(last));
        q.advance();
        wake(&mut q.writer);
    }

    /// A place for a request forwarded whole, outside a Redis Cluster.
    pub fn expect_one(self: &Rc<Self>) -> Ticket {
        let mut q = self.0.borrow_mut();
        q.places.push_back(Place::Waiting);
        let seq = q.head + q.places.len() as u64 - 1;
        Ticket { replies: self.clone(), seq, leg: 0 }
    }

    /// A place with one leg per element of `resends` (`Some` for a cluster request), merged by
    /// `merge` when there are several.
    pub fn expect_legs(self: &Rc<Self>, resends: Vec<Option<Resend>>, merge: Option<Merge>) -> Vec<Ticket> {
        let n = resends.len();
        let legs = resends.into_iter().map(|resend| Leg { resend, ..Leg::default() }).collect();
        let mut q = self.0.borrow_mut();
        q.places.push_back(Place::Legs(Box::new(Legs { legs, missing: n, merge })));
        let seq = q.head + q.places.len() as u64 - 1;
        (0..n).map(|leg| Ticket { replies: self.clone(), seq, leg }).collect()
    }

    pub fn ticket(self: &Rc<Self>, seq: u64, leg: usize) -> Ticket {
        Ticket { replies: self.clone(), seq, leg }
    }

    /// Whether the reader may take another request now.
    pub fn has_room(&self) -> bool {
        let q = self.0.borrow();
        !q.gone && q.places.len() < MAX_PENDING && q.out.len() < MAX_UNSENT
    }

    /// Ready with `true` when the reader may go on, `false` when the client has gone.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut q = self.0.borrow_mut();
        if q.gone {
            return Poll::Ready(false);
        }
        if q.places.len() < MAX_PENDING && q.out.len() < MAX_UNSENT {
            return Poll::Ready(true);
        }
        park(&mut q.reader, cx);
        Poll::Pending
    }

    /// The client sends nothing more: the writer finishes once every place is answered.
    pub fn finish_reading(&self) {
        let mut q = self.0.borrow_mut();
        q.reader_done = true;
        wake(&mut q.writer);
    }

    /// The client has gone: whatever is still to come is dropped.
    pub fn abandon(&self) {
        let mut q = self.0.borrow_mut();
        q.gone = true;
        q.out = Vec::new();
        q.stash = Vec::new();
        q.places.clear();
        q.redirected.clear();
        wake(&mut q.reader);
    }

    /// The writer's next step; `Write` swaps the output into `buf`, which must be empty.
    pub fn poll_writer(&self, cx: &mut Context<'_>, buf: &mut Vec<u8>) -> Poll<Step> {
        let mut q = self.0.borrow_mut();
        if !q.redirected.is_empty() {
            return Poll::Ready(Step::Follow);
        }
        if !q.out.is_empty() && q.write_due() {
            std::mem::swap(&mut q.out, buf);
            q.batch_done = false;
            wake(&mut q.reader);
            return Poll::Ready(Step::Write);
        }
        if q.gone || q.closing || (q.reader_done && q.places.is_empty()) {
            return Poll::Ready(Step::Done);
        }
        park(&mut q.writer, cx);
        Poll::Pending
    }

    pub fn take_redirects(&self) -> Vec<Redirected> {
        let mut q = self.0.borrow_mut();
        let seqs = std::mem::take(&mut q.redirected);
        let mut found = Vec::new();
        for seq in seqs {
            let Some(Place::Legs(legs)) = q.index(seq).and_then(|i| q.places.get_mut(i)) else { continue };
            for (leg, l) in legs.legs.iter_mut().enumerate() {
                if let (Some(reply), Some(resend)) = (l.redirect.take(), l.resend.take()) {
                    found.push(Redirected { seq, leg, reply, resend });
                }
            }
        }
        found
    }

    /// A redirected leg was sent again, as `resend` says.
    pub fn resume(&self, seq: u64, leg: usize, resend: Resend) {
        let mut q = self.0.borrow_mut();
        let Some(Place::Legs(legs)) = q.index(seq).and_then(|i| q.places.get_mut(i)) else { return };
        if let Some(l) = legs.legs.get_mut(leg).filter(|l| l.reply.is_none()) {
            l.resend = Some(resend);
            l.hops += 1;
        }
    }

    /// A redirection that cannot be followed is the leg's reply.
    pub fn settle(&self, seq: u64, leg: usize, reply: &[u8]) {
        self.complete(seq, leg, reply, false);
    }

    fn complete(&self, seq: u64, leg: usize, reply: &[u8], follow: bool) {
        let mut guard = self.0.borrow_mut();
        let q = &mut *guard;
        if q.gone {
            return;
        }
        let Some(i) = q.index(seq) else { return };
        let merged = match &mut q.places[i] {
            Place::Waiting => None,
            Place::Legs(legs) => {
                let Some(l) = legs.legs.get_mut(leg) else { return };
                if follow && l.resend.is_some() && l.hops < MAX_REDIRECTS && is_redirect(reply) {
                    l.redirect = Some(reply.to_vec());
                    q.redirected.push(seq);
                    wake(&mut q.writer);
                    return;
                }
                l.reply = Some(reply.to_vec());
                legs.missing -= 1;
                if legs.missing > 0 {
                    return;
                }
                Some(legs.finish())
            }
            Place::Stashed { .. } | Place::Close(_) => return,
        };
        q.fill(i, merged.as_deref().unwrap_or(reply));
        if q.write_due() {
            wake(&mut q.writer);
        }
    }

    /// The requests dispatched since the last call make one batch: their replies leave together.
    /// The reader calls it after each read's requests. Requests not yet in a batch hold nothing
    /// back, so a reader stopped for room part way through a read never waits on its own replies.
    pub fn end_batch(&self) {
        let mut q = self.0.borrow_mut();
        let end = q.head + q.places.len() as u64;
        if end > q.head && q.batch_ends.back() != Some(&end) {
            q.batch_ends.push_back(end);
        }
        if q.write_due() {
            wake(&mut q.writer);
        }
    }
}

impl Queue {
    /// Whether the output should be written now: a batch was answered in full since the last
    /// write, no batch is waiting, enough is held, or nothing more will come.
    fn write_due(&mut self) -> bool {
        while self.batch_ends.front().is_some_and(|&end| end <= self.head) {
            self.batch_ends.pop_front();
            self.batch_done = true;
        }
        self.batch_done || self.batch_ends.is_empty() || self.out.len() >= HOLD_MAX || self.closing || self.reader_done
    }

    fn index(&self, seq: u64) -> Option<usize> {
        let i = usize::try_from(seq.checked_sub(self.head)?).ok()?;
        (i < self.places.len()).then_some(i)
    }

    /// Place `i` is answered with `reply`.
    fn fill(&mut self, i: usize, reply: &[u8]) {
        if i == 0 {
            self.out.extend_from_slice(reply);
            self.places.pop_front();
            self.head += 1;
            self.advance();
        } else {
            let start = self.stash.len();
            self.stash.extend_from_slice(reply);
            self.places[i] = Place::Stashed { start, end: self.stash.len() };
            self.stashed += 1;
            self.stashed_bytes += reply.len();
        }
    }

    /// Moves the answered places at the head to the output.
    fn advance(&mut self) {
        loop {
            match self.places.front() {
                Some(&Place::Stashed { start, end }) => {
                    self.out.extend_from_slice(&self.stash[start..end]);
                    self.stashed -= 1;
                    self.stashed_bytes -= end - start;
                }
                Some(&Place::Close(last)) => {
                    self.out.extend_from_slice(last);
                    self.closing = true;
                }
                _ => break,
            }
            self.places.pop_front();
            self.head += 1;
        }
        if self.stashed == 0 {
            self.stash.clear();
        } else if self.stash.len() > STASH_COMPACT && self.stash.len() > 2 * self.stashed_bytes {
            let mut live = Vec::with_capacity(self.stashed_bytes);
            for p in self.places.iter_mut() {
                if let Place::Stashed { start, end } = p {
                    let from = live.len();
                    live.extend_from_slice(&self.stash[*start..*end]);
                    (*start, *end) = (from, live.len());
                }
            }
            self.stash = live;
        }
        if self.places.len() < MAX_PENDING {
            wake(&mut self.reader);
        }
    }
}

impl Legs {
    fn finish(&mut self) -> Vec<u8> {
        match &self.merge {
            None => self.legs.first_mut().and_then(|l| l.reply.take()).unwrap_or_default(),
            Some(m) => {
                let parts = self.legs.iter_mut().map(|l| l.reply.take().unwrap_or_default());
                let mut out = Vec::new();
                merge(m.kind, m.nkeys, parts.zip(&m.keys), &mut out);
                out
            }
        }
    }
}

/// Merges the parts of a split command: each part's reply and the key positions it answers
/// for. Any failed part (an error reply, or the proxy's own failure) fails the whole command
/// with one error (partial results are never returned), as in nutcracker, but the connection
/// stays open.
fn merge<'a>(kind: SplitKind, nkeys: usize, parts: impl Iterator<Item = (Vec<u8>, &'a Vec<usize>)>, out: &mut Vec<u8>) {
    let replies: Vec<(Vec<u8>, &Vec<usize>)> = parts.collect();
    if let Some((failure, _)) = replies.iter().find(|(d, _)| is_error(d)) {
        out.extend_from_slice(failure);
        return;
    }
    match kind {
        SplitKind::Mget => {
            let mut slots: Vec<Option<(usize, usize, usize)>> = vec![None; nkeys];
            for (p, (d, keys)) in replies.iter().enumerate() {
                let Some(spans) = array_elements(d, keys.len()) else {
                    push_err(out, reason::INVALID);
                    return;
                };
                for (&k, (s, e)) in keys.iter().zip(spans) {
                    slots[k] = Some((p, s, e));
                }
            }
            out.push(b'*');
            out.extend_from_slice(nkeys.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
            for (p, s, e) in slots.into_iter().flatten() {
                out.extend_from_slice(&replies[p].0[s..e]);
            }
        }
        SplitKind::Sum => {
            let mut total: i64 = 0;
            for (d, _) in &replies {
                match integer(d) {
                    Some(n) => total = total.saturating_add(n),
                    None => {
                        push_err(out, reason::INVALID);
                        return;
                    }
                }
            }
            out.push(b':');
            out.extend_from_slice(total.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        SplitKind::Mset => {
            if replies.iter().all(|(d, _)| d.as_slice() == b"+OK\r\n") {
                out.extend_from_slice(b"+OK\r\n");
            } else {
                push_err(out, reason::INVALID);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(kind: SplitKind, nkeys: usize, parts: &[(&[u8], Vec<usize>)]) -> Vec<u8> {
        let mut out = Vec::new();
        merge(kind, nkeys, parts.iter().map(|(d, k)| (d.to_vec(), k)), &mut out);
        out
    }

    #[test]
    fn mget_parts_merge_in_key_order() {
        let out = merged(
            SplitKind::Mget,
            4,
            &[(b"*2\r\n$1\r\nc\r\n$-1\r\n", vec![0, 2]), (b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", vec![1, 3])],
        );
        assert_eq!(out, b"*4\r\n$1\r\nc\r\n$1\r\na\r\n$-1\r\n$1\r\nb\r\n");
    }

    #[test]
    fn sums_and_mset() {
        assert_eq!(merged(SplitKind::Sum, 3, &[(b":1\r\n", vec![0]), (b":2\r\n", vec![1, 2])]), b":3\r\n");
        assert_eq!(merged(SplitKind::Mset, 2, &[(b"+OK\r\n", vec![0]), (b"+OK\r\n", vec![1])]), b"+OK\r\n");
    }

    #[test]
    fn one_failed_part_fails_the_whole_command() {
        let out =
            merged(SplitKind::Mget, 2, &[(b"*1\r\n$1\r\na\r\n", vec![0]), (b"-ERR Connection refused\r\n", vec![1])]);
        assert_eq!(out, b"-ERR Connection refused\r\n");
        let out = merged(SplitKind::Sum, 2, &[(b"-NOAUTH x\r\n", vec![0]), (b":1\r\n", vec![1])]);
        assert_eq!(out, b"-NOAUTH x\r\n");
    }

    fn drain(r: &Replies) -> Vec<u8> {
        std::mem::take(&mut r.0.borrow_mut().out)
    }

    #[test]
    fn replies_leave_in_request_order_whatever_order_they_come_in() {
        let r = Replies::new();
        let a = r.expect_one();
        let b = r.expect_one();
        r.ready(b"+PONG\r\n");
        let c = r.expect_one();
        c.deliver(b":3\r\n");
        b.deliver(b":2\r\n");
        assert!(drain(&r).is_empty(), "nothing before the first reply");
        a.deliver(b":1\r\n");
        assert_eq!(drain(&r), b":1\r\n:2\r\n+PONG\r\n:3\r\n");
        assert!(r.0.borrow().stash.is_empty(), "the stash empties once nothing waits in it");
    }

    #[test]
    fn split_legs_merge_once_all_are_in() {
        let r = Replies::new();
        let legs = r.expect_legs(
            vec![None, None],
            Some(Merge { kind: SplitKind::Sum, nkeys: 3, keys: vec![vec![0, 2], vec![1]] }),
        );
        let mut legs = legs.into_iter();
        let (first, second) = (legs.next().unwrap(), legs.next().unwrap());
        second.deliver(b":1\r\n");
        assert!(drain(&r).is_empty());
        first.fail(reason::TIMED_OUT);
        assert_eq!(drain(&r), b"-ERR Connection timed out\r\n");
    }

    #[test]
    fn a_gone_client_gets_nothing() {
        let r = Replies::new();
        let a = r.expect_one();
        r.abandon();
        a.deliver(b"+OK\r\n");
        assert!(drain(&r).is_empty());
    }

    /// What the writer would send now, if anything.
    fn written(r: &Replies) -> Option<Vec<u8>> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut buf = Vec::new();
        matches!(r.poll_writer(&mut cx, &mut buf), Poll::Ready(Step::Write)).then_some(buf)
    }

    #[test]
    fn a_batch_of_requests_is_answered_in_one_write() {
        let r = Replies::new();
        let (a, b, c) = (r.expect_one(), r.expect_one(), r.expect_one());
        r.end_batch();
        let d = r.expect_one();
        r.end_batch();
        a.deliver(b":1\r\n");
        c.deliver(b":3\r\n");
        assert_eq!(written(&r), None, "the first batch is not answered yet");
        d.deliver(b":4\r\n");
        assert_eq!(written(&r), None, "a later batch's reply does not release an earlier one");
        b.deliver(b":2\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":1\r\n:2\r\n:3\r\n:4\r\n"[..]));

        // A finished batch leaves even while the next one is partly answered.
        let (e, f) = (r.expect_one(), r.expect_one());
        r.end_batch();
        let (g, h) = (r.expect_one(), r.expect_one());
        r.end_batch();
        e.deliver(b":5\r\n");
        f.deliver(b":6\r\n");
        g.deliver(b":7\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":5\r\n:6\r\n:7\r\n"[..]));
        assert_eq!(written(&r), None);
        h.deliver(b":8\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":8\r\n"[..]));
    }

    #[test]
    fn requests_not_yet_in_a_batch_hold_nothing_back() {
        let r = Replies::new();
        let (a, b) = (r.expect_one(), r.expect_one());
        a.deliver(b":1\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":1\r\n"[..]));
        r.end_batch();
        b.deliver(b":2\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":2\r\n"[..]));
    }

    struct Flag(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn held_replies_leave_once_they_pass_the_limit() {
        let r = Replies::new();
        let (first, second, last) = (r.expect_one(), r.expect_one(), r.expect_one());
        r.end_batch();
        // The writer, parked with nothing to write, is woken by the reply that reaches the limit.
        let flag = std::sync::Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let woken = || flag.0.load(std::sync::atomic::Ordering::Relaxed);
        let mut buf = Vec::new();
        assert!(r.poll_writer(&mut Context::from_waker(&waker), &mut buf).is_pending());
        first.deliver(&[b'x'; HOLD_MAX - 1]);
        assert!(!woken());
        assert!(r.poll_writer(&mut Context::from_waker(&waker), &mut buf).is_pending());
        second.deliver(b"y");
        assert!(woken(), "the writer is woken at the limit");
        assert_eq!(written(&r).map(|w| w.len()), Some(HOLD_MAX));
        last.deliver(b":1\r\n");
        assert_eq!(written(&r).as_deref(), Some(&b":1\r\n"[..]));
    }

    #[test]
    fn close_waits_for_earlier_replies() {
        let r = Replies::new();
        let a = r.expect_one();
        r.close(b"+OK\r\n");
        assert!(!r.0.borrow().closing);
        a.deliver(b"$1\r\nx\r\n");
        assert_eq!(drain(&r), b"$1\r\nx\r\n+OK\r\n");
        assert!(r.0.borrow().closing);
    }
}
