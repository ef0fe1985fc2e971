//! The two pumps of an HTTP/2 connection through a fault proxy, following frames per stream
//! without decoding headers.
//!
//! Upstream, frames are forwarded in the order they came (header blocks must stay in order for
//! etcd's HPACK decoder), but a new stream is held, and everything behind it, until the rules
//! have judged it: a pattern found in its DATA, or its request complete (END_STREAM, or its
//! first gRPC message whole, or 16 KiB of it, or 300 ms). Downstream, the answer on a faulted
//! stream meets its fault at its first HEADERS, DATA or RST_STREAM frame.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::http2::{
    grpc_message_complete, Frame, Item, Splitter, CONTINUATION, DATA, HEADERS, NO_ERROR, PREFACE,
    REFUSED_STREAM, RST_STREAM,
};
use super::link::{Got, Link};
use super::rules::{Fault, Firing, Rules, Verdict};
use crate::relay::lock;

/// A stream is judged by the time this much of its data has come.
const HOLD_CAP: usize = 16 * 1024;
/// A stream is judged by the time it has been held this long.
const HOLD_TIME: Duration = Duration::from_millis(300);
/// How much of a faulted stream's data is kept to find where its request ends.
const TRACK_CAP: usize = 1 << 20;

/// Answer faults waiting for their stream's answer, from the upstream pump to the downstream one.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    waiting: Mutex<HashMap<u32, Firing>>,
}

enum Judgement {
    Undecided,
    Pass,
    Fire(Firing),
}

struct Stream {
    judgement: Judgement,
    data: Vec<u8>,
    ended: bool,
    since: Instant,
    /// How much data had come when the stream was faulted.
    fired_at: usize,
}

impl Stream {
    /// Whether the faulted request has come whole: its side of the stream ended, or the gRPC
    /// message in which the trigger fired is complete.
    fn whole(&self) -> bool {
        self.ended || grpc_message_complete(&self.data, self.fired_at.saturating_sub(1))
    }
}

struct Upstream<'a> {
    link: &'a Link,
    rules: &'a Rules,
    answers: &'a Answers,
    queue: VecDeque<Frame>,
    streams: BTreeMap<u32, Stream>,
    /// The highest stream whose HEADERS went to etcd.
    highest: u32,
}

/// Client to etcd.
pub(crate) fn upstream(link: &Link, rules: &Rules, answers: &Answers) {
    let mut up = Upstream {
        link,
        rules,
        answers,
        queue: VecDeque::new(),
        streams: BTreeMap::new(),
        highest: 0,
    };
    let mut splitter = Splitter::client();
    let mut raw = false;
    let mut buf = vec![0u8; 64 * 1024];
    while link.open() {
        match link.read(true, &mut buf) {
            Got::Bytes(n) if raw => {
                if !link.to_server(&buf[..n]) {
                    break;
                }
                continue;
            }
            Got::Bytes(n) => {
                splitter.push(&buf[..n]);
                loop {
                    match splitter.next() {
                        Ok(Some(Item::Preface)) => {
                            link.to_server(PREFACE);
                        }
                        Ok(Some(Item::Frame(f))) => up.arrive(f),
                        Ok(None) => break,
                        Err(_) => {
                            // Not HTTP/2 (any more): pass everything on as it is.
                            raw = true;
                            for f in up.queue.drain(..) {
                                link.to_server(f.bytes());
                            }
                            link.to_server(&splitter.take_rest());
                            break;
                        }
                    }
                }
            }
            Got::Idle => {}
            Got::End => {
                up.judge(true);
                if up.flush() {
                    link.half_close(true);
                }
                break;
            }
        }
        up.judge(false);
        if !raw && !up.flush() {
            break;
        }
    }
    link.finish_upstream();
}

impl Upstream<'_> {
    fn arrive(&mut self, f: Frame) {
        let id = f.stream();
        if f.opens_stream() && !self.streams.contains_key(&id) {
            self.streams.insert(
                id,
                Stream {
                    judgement: Judgement::Undecided,
                    data: Vec::new(),
                    ended: false,
                    since: Instant::now(),
                    fired_at: 0,
                },
            );
        }
        if let Some(s) = self.streams.get_mut(&id) {
            if !matches!(s.judgement, Judgement::Pass) && s.data.len() < TRACK_CAP {
                s.data.extend_from_slice(f.data());
            }
            s.ended |= f.ends_stream();
        }
        self.queue.push_back(f);
    }

    /// Judges the streams still held (`force`: the client is gone, judge them as complete).
    fn judge(&mut self, force: bool) {
        for (id, s) in self.streams.iter_mut() {
            if !matches!(s.judgement, Judgement::Undecided) {
                continue;
            }
            let complete = force
                || s.ended
                || grpc_message_complete(&s.data, 0)
                || s.data.len() >= HOLD_CAP
                || s.since.elapsed() >= HOLD_TIME;
            match self.rules.judge(&s.data, complete) {
                Verdict::Undecided => {}
                Verdict::Pass => {
                    s.judgement = Judgement::Pass;
                    s.data = Vec::new();
                }
                Verdict::Fire(firing) => {
                    s.fired_at = s.data.len();
                    if firing.fault.on_answer() {
                        lock(&self.answers.waiting).insert(*id, firing.clone());
                    }
                    s.judgement = Judgement::Fire(firing);
                }
            }
        }
    }

    /// Forwards what may go, in order; `false` when the connection is done.
    fn flush(&mut self) -> bool {
        while let Some(front) = self.queue.front() {
            let id = front.stream();
            let Some(stream) = self.streams.get(&id) else {
                // Connection frames, and frames about streams this proxy never saw open.
                if !self.forward_front() {
                    return false;
                }
                continue;
            };
            let firing = match &stream.judgement {
                Judgement::Undecided => return true,
                Judgement::Pass => {
                    if !self.forward_front() {
                        return false;
                    }
                    continue;
                }
                Judgement::Fire(firing) => firing.clone(),
            };
            match firing.fault {
                f if f.on_answer() => {
                    if !self.forward_front() {
                        return false;
                    }
                    let rest = self.queue.iter().any(|f| f.stream() == id);
                    if !rest && self.streams.get(&id).is_some_and(Stream::whole) {
                        firing.reached_server();
                    }
                }
                Fault::CloseAfterRequestBytes(n) => return self.truncate(id, n, &firing),
                Fault::GoAway => {
                    self.link
                        .to_client(Frame::goaway(self.highest, NO_ERROR).bytes());
                    self.link.close();
                    return false;
                }
                Fault::RefusedStream => {
                    self.link
                        .to_client(Frame::rst_stream(id, REFUSED_STREAM).bytes());
                    self.link.close();
                    return false;
                }
                _ => {
                    self.link.black_hole();
                    return false;
                }
            }
        }
        true
    }

    fn forward_front(&mut self) -> bool {
        let Some(f) = self.queue.pop_front() else {
            return true;
        };
        if f.opens_stream() {
            self.highest = self.highest.max(f.stream());
        }
        self.link.to_server(f.bytes())
    }

    /// Forwards the first `n` bytes of stream `id`'s frames once they are in (or its request is
    /// whole), then closes both connections without reading further.
    fn truncate(&mut self, id: u32, n: usize, firing: &Firing) -> bool {
        let mine: Vec<u8> = self
            .queue
            .iter()
            .filter(|f| f.stream() == id)
            .flat_map(|f| f.bytes().iter().copied())
            .collect();
        let whole = self.streams.get(&id).is_some_and(Stream::whole);
        if mine.len() < n && !whole {
            return true;
        }
        if whole && n >= mine.len() {
            firing.reached_server();
        }
        self.link.to_server(&mine[..n.min(mine.len())]);
        self.link.abort();
        false
    }
}

/// etcd to client.
pub(crate) fn downstream(link: &Link, answers: &Answers) {
    let mut splitter = Splitter::server();
    let mut raw = false;
    let mut active: HashMap<u32, Fault> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    while link.open() {
        match link.read(false, &mut buf) {
            Got::Bytes(n) if raw => {
                if !link.to_client(&buf[..n]) {
                    return;
                }
            }
            Got::Bytes(n) => {
                splitter.push(&buf[..n]);
                loop {
                    match splitter.next() {
                        Ok(Some(Item::Frame(f))) => {
                            if !answer_frame(link, answers, &mut active, f) {
                                return;
                            }
                        }
                        Ok(_) => break,
                        Err(_) => {
                            raw = true;
                            link.to_client(&splitter.take_rest());
                            break;
                        }
                    }
                }
            }
            Got::Idle => {}
            Got::End => {
                link.half_close(false);
                return;
            }
        }
    }
}

/// Forwards one frame from etcd, or applies the fault waiting for it; `false` when the
/// connection is done.
fn answer_frame(
    link: &Link,
    answers: &Answers,
    active: &mut HashMap<u32, Fault>,
    f: Frame,
) -> bool {
    let id = f.stream();
    if id == 0 || !matches!(f.kind(), HEADERS | CONTINUATION | DATA | RST_STREAM) {
        return link.to_client(f.bytes());
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = active.entry(id) {
        if let Some(firing) = lock(&answers.waiting).remove(&id) {
            slot.insert(firing.fault);
        }
    }
    let Some(&fault) = active.get(&id) else {
        return link.to_client(f.bytes());
    };
    let head = matches!(f.kind(), HEADERS | CONTINUATION);
    match fault {
        Fault::DropAnswerAndClose => {
            link.close();
            false
        }
        Fault::ResetAfterForward => {
            link.reset();
            false
        }
        Fault::DelayAnswer(d) => {
            active.remove(&id);
            link.sleep(d) && link.to_client(f.bytes())
        }
        Fault::CutAfterHead if head => {
            if !link.to_client(f.bytes()) {
                return false;
            }
            if f.ends_headers() {
                link.close();
                return false;
            }
            true
        }
        // Headers that end the stream (an answer without a body) are cut before they go.
        Fault::CutMidBody if head && !f.ends_stream() => link.to_client(f.bytes()),
        Fault::CutMidBody if f.kind() == DATA => {
            link.to_client(f.shortened(f.data().len() / 2).bytes());
            link.close();
            false
        }
        Fault::DelayBody(_) if head => link.to_client(f.bytes()),
        Fault::DelayBody(d) => {
            active.remove(&id);
            link.sleep(d) && link.to_client(f.bytes())
        }
        _ => {
            link.close();
            false
        }
    }
}
