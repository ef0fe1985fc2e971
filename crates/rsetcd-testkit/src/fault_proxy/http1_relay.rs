//! The two pumps of an HTTP/1.1 connection through a fault proxy. Upstream, each request is held
//! until the rules have judged it (its bytes contain a trigger's pattern, or it is complete),
//! then passed on, or faulted; downstream, the answer to a faulted request meets its fault.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::http1::{mid_body_cut, Framer, Framing, Piece, Side};
use super::link::{Got, Link};
use super::rules::{Fault, Firing, Rules, Verdict};
use crate::relay::lock;

/// Requests held longer than this are judged as complete (a pattern must come before).
const HOLD_CAP: usize = 1 << 20;

/// What the answer side needs to know about each request once it has been judged.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    judged: Mutex<VecDeque<Judged>>,
}

#[derive(Debug)]
struct Judged {
    index: u64,
    head_method: bool,
    answer_fault: Option<Firing>,
}

impl Exchanges {
    fn head_method(&self, index: u64) -> bool {
        lock(&self.judged)
            .iter()
            .any(|j| j.index == index && j.head_method)
    }

    /// The fault waiting for answer `index`, if any; forgets the requests before it.
    fn answer_fault(&self, index: u64) -> Option<Firing> {
        let mut judged = lock(&self.judged);
        while judged.front().is_some_and(|j| j.index < index) {
            judged.pop_front();
        }
        judged
            .front_mut()
            .filter(|j| j.index == index)
            .and_then(|j| j.answer_fault.take())
    }
}

/// The request being read.
struct Request {
    index: u64,
    head_method: bool,
    /// Its bytes while it is judged (nothing of it forwarded yet).
    held: Vec<u8>,
    complete: bool,
    state: State,
}

enum State {
    Undecided,
    Pass,
    /// Forwarded whole, its answer faulted.
    Answer(Firing),
    /// Truncated to this many bytes once they are in.
    Truncate(usize),
}

/// Client to etcd.
pub(crate) fn upstream(link: &Link, rules: &Rules, exchanges: &Exchanges) {
    let mut framer = Framer::new(Side::Requests);
    let mut request: Option<Request> = None;
    let mut buf = vec![0u8; 64 * 1024];
    while link.open() {
        let n = match link.read(true, &mut buf) {
            Got::Bytes(n) => n,
            Got::Idle => continue,
            Got::End => {
                if let Some(r) = &mut request {
                    r.complete = true;
                    if !step(link, rules, exchanges, r) {
                        break;
                    }
                }
                link.half_close(true);
                break;
            }
        };
        let pieces = framer.push(&buf[..n], &|_| false);
        if !pieces
            .into_iter()
            .all(|p| piece(link, rules, exchanges, &mut request, p))
        {
            break;
        }
    }
    link.finish_upstream();
}

/// Handles one piece of the request stream; `false` when the connection is done.
fn piece(
    link: &Link,
    rules: &Rules,
    exchanges: &Exchanges,
    request: &mut Option<Request>,
    piece: Piece,
) -> bool {
    match piece {
        Piece::Start(index) => {
            *request = Some(Request {
                index,
                head_method: false,
                held: Vec::new(),
                complete: false,
                state: State::Undecided,
            });
            true
        }
        Piece::Head(_, head, bytes) => match request {
            Some(r) => {
                r.head_method = head.head_method;
                bytes_of(link, rules, exchanges, r, &bytes)
            }
            None => link.to_server(&bytes),
        },
        Piece::Body(_, bytes) => match request {
            Some(r) => bytes_of(link, rules, exchanges, r, &bytes),
            None => link.to_server(&bytes),
        },
        Piece::End(_) => match request.take() {
            Some(mut r) => {
                r.complete = true;
                step(link, rules, exchanges, &mut r)
            }
            None => true,
        },
        Piece::Interim(bytes) | Piece::Raw(bytes) => {
            // Unframeable from here on: whatever was held goes first, then everything passes.
            if let Some(mut r) = request.take() {
                if !link.to_server(&std::mem::take(&mut r.held)) {
                    return false;
                }
            }
            link.to_server(&bytes)
        }
    }
}

/// More bytes of the current request.
fn bytes_of(
    link: &Link,
    rules: &Rules,
    exchanges: &Exchanges,
    r: &mut Request,
    bytes: &[u8],
) -> bool {
    match r.state {
        State::Pass | State::Answer(_) => link.to_server(bytes),
        State::Undecided | State::Truncate(_) => {
            r.held.extend_from_slice(bytes);
            step(link, rules, exchanges, r)
        }
    }
}

/// Judges the request if it is still undecided, then does what its state says with what is
/// held; `false` when the connection is done.
fn step(link: &Link, rules: &Rules, exchanges: &Exchanges, r: &mut Request) -> bool {
    if let State::Undecided = r.state {
        let complete = r.complete || r.held.len() >= HOLD_CAP;
        let answer_fault = match rules.judge(&r.held, complete) {
            Verdict::Undecided => return true,
            Verdict::Pass => {
                r.state = State::Pass;
                None
            }
            Verdict::Fire(firing) => match firing.fault {
                Fault::CloseAfterRequestBytes(n) => {
                    r.state = State::Truncate(n);
                    // The request will not complete: nothing to tell the answer side.
                    return truncate(link, r, n, &firing);
                }
                f if f.on_answer() => {
                    r.state = State::Answer(firing.clone());
                    Some(firing)
                }
                // BlackHole, and the HTTP/2 faults `arm` refuses here.
                _ => {
                    link.black_hole();
                    return false;
                }
            },
        };
        lock(&exchanges.judged).push_back(Judged {
            index: r.index,
            head_method: r.head_method,
            answer_fault,
        });
        if !link.to_server(&std::mem::take(&mut r.held)) {
            return false;
        }
    }
    match &r.state {
        State::Truncate(n) => {
            let n = *n;
            truncate_pending(link, r, n)
        }
        State::Answer(firing) => {
            if r.complete {
                firing.reached_server();
            }
            true
        }
        _ => true,
    }
}

fn truncate(link: &Link, r: &mut Request, n: usize, firing: &Firing) -> bool {
    if r.complete && r.held.len() <= n {
        firing.reached_server();
    }
    truncate_pending(link, r, n)
}

/// Forwards the first `n` bytes of the request once they are in (or the request is complete),
/// then closes both connections without reading further.
fn truncate_pending(link: &Link, r: &mut Request, n: usize) -> bool {
    if r.held.len() < n && !r.complete {
        return true;
    }
    let keep = n.min(r.held.len());
    link.to_server(&r.held[..keep]);
    link.abort();
    false
}

/// What happens to the answer being read.
enum Answer {
    Pass,
    Faulted(Fault),
    /// CutMidBody: the head went; the body so far, waiting for the cut.
    Cutting(Framing, Vec<u8>),
    /// DelayBody: the head went; the delay comes with the first body byte.
    Delaying(std::time::Duration),
}

/// etcd to client.
pub(crate) fn downstream(link: &Link, exchanges: &Exchanges) {
    let mut framer = Framer::new(Side::Answers);
    let mut answer = Answer::Pass;
    let mut buf = vec![0u8; 64 * 1024];
    let head_method = |i: u64| exchanges.head_method(i);
    while link.open() {
        let pieces = match link.read(false, &mut buf) {
            Got::Bytes(n) => framer.push(&buf[..n], &head_method),
            Got::Idle => continue,
            Got::End => {
                let pieces = framer.finish();
                if pieces
                    .into_iter()
                    .all(|p| answer_piece(link, exchanges, &mut answer, p))
                {
                    link.half_close(false);
                }
                return;
            }
        };
        if !pieces
            .into_iter()
            .all(|p| answer_piece(link, exchanges, &mut answer, p))
        {
            return;
        }
    }
}

/// Handles one piece of the answer stream; `false` when the connection is done.
fn answer_piece(link: &Link, exchanges: &Exchanges, answer: &mut Answer, piece: Piece) -> bool {
    match piece {
        Piece::Start(index) => {
            *answer = match exchanges.answer_fault(index) {
                None => Answer::Pass,
                Some(firing) => match firing.fault {
                    Fault::DropAnswerAndClose => {
                        link.close();
                        return false;
                    }
                    Fault::ResetAfterForward => {
                        link.reset();
                        return false;
                    }
                    Fault::DelayAnswer(d) => {
                        if !link.sleep(d) {
                            return false;
                        }
                        Answer::Pass
                    }
                    fault => Answer::Faulted(fault),
                },
            };
            true
        }
        Piece::Head(_, head, bytes) => {
            let sent = link.to_client(&bytes);
            match std::mem::replace(answer, Answer::Pass) {
                Answer::Faulted(Fault::CutAfterHead) => {
                    link.close();
                    false
                }
                Answer::Faulted(Fault::CutMidBody) => {
                    *answer = Answer::Cutting(head.framing, Vec::new());
                    sent
                }
                Answer::Faulted(Fault::DelayBody(d)) => {
                    *answer = Answer::Delaying(d);
                    sent
                }
                _ => sent,
            }
        }
        Piece::Body(_, bytes) => match answer {
            Answer::Cutting(framing, body) => {
                body.extend_from_slice(&bytes);
                match mid_body_cut(*framing, body) {
                    Some(cut) => {
                        link.to_client(&body[..cut]);
                        link.close();
                        false
                    }
                    None => true,
                }
            }
            Answer::Delaying(d) => {
                let d = *d;
                *answer = Answer::Pass;
                link.sleep(d) && link.to_client(&bytes)
            }
            _ => link.to_client(&bytes),
        },
        Piece::End(_) => match std::mem::replace(answer, Answer::Pass) {
            // The whole body came before a cut point could be found (it was too short):
            // the answer still loses its end.
            Answer::Cutting(..) => {
                link.close();
                false
            }
            _ => true,
        },
        Piece::Interim(bytes) | Piece::Raw(bytes) => link.to_client(&bytes),
    }
}
