//! Routing on an open stream: commands from the watches, and etcd's answers to each watch
//! (creations, events, progress, cancellations), pausing a watch whose channel is full.

use tokio::sync::mpsc::error::TrySendError;

use super::{deliver_last, Command, Sender, State, Stop};
use crate::v3::error::from_message;
use crate::v3::proto::etcdserverpb::watch_request::RequestUnion;
use crate::v3::proto::etcdserverpb::{
    WatchCancelRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use crate::v3::watch::WatchItem;

impl State {
    pub(super) fn command(&mut self, cmd: Command, sender: &Sender) {
        match cmd {
            Command::Create { id, .. } => {
                self.offline(cmd);
                self.queue.push_back(id);
                self.send_next_create(sender);
            }
            Command::Cancel { id } => {
                let Some(w) = self.watchers.remove(&id) else {
                    return;
                };
                // Queued: skipped. Sent, not answered: cancelled when the answer comes.
                if self.routes.remove(&w.wire).is_some() {
                    cancel(sender, w.wire);
                }
            }
            Command::Progress => {
                let _ = sender.send(WatchRequest {
                    request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
                });
            }
        }
    }

    pub(super) fn send_next_create(&mut self, sender: &Sender) {
        if let Some(create) = self.next_create() {
            let _ = sender.send(create);
        }
    }

    /// The creation of the next queued watch, unless one is on its way already.
    pub(super) fn next_create(&mut self) -> Option<WatchRequest> {
        if self.sending.is_some() {
            return None;
        }
        while let Some(id) = self.queue.pop_front() {
            let Some(w) = self.watchers.get_mut(&id) else {
                continue;
            };
            if w.paused || w.wire != 0 {
                continue;
            }
            let wire = self.next_wire;
            self.next_wire += 1;
            w.wire = wire;
            self.sending = Some((id, wire));
            return Some(w.create_request(wire));
        }
        None
    }

    pub(super) async fn answer(&mut self, resp: WatchResponse, sender: &Sender) -> Stop {
        let revision = resp.header.as_ref().map_or(0, |h| h.revision);
        if resp.created {
            let Some((id, wire)) = self.sending.take() else {
                return Stop::Continue;
            };
            let stop = self.created(id, wire, resp, revision, sender).await;
            self.send_next_create(sender);
            return stop;
        }
        if resp.watch_id == -1 {
            // An answer to a progress request, for every watch; it may overtake events still
            // on their way, so it does not move where a watch resumes. One that does not fit
            // is dropped: it carries no change.
            for w in self.watchers.values() {
                if w.created.is_none() && self.routes.contains_key(&w.wire) {
                    let _ = w.items.try_send(Ok(WatchItem::Progress { revision }));
                }
            }
            return Stop::Continue;
        }
        // Answers to a cancelled (or paused) watch's ID are no longer routed.
        let Some(&id) = self.routes.get(&resp.watch_id) else {
            return Stop::Continue;
        };
        if resp.canceled {
            self.routes.remove(&resp.watch_id);
            if let Some(w) = self.watchers.remove(&id) {
                if resp.compact_revision > 0 {
                    let compacted = WatchItem::Compacted {
                        compact_revision: resp.compact_revision,
                    };
                    deliver_last(w.items, Ok(compacted));
                } else {
                    let reason = if resp.cancel_reason.is_empty() {
                        "etcdserver: watch canceled"
                    } else {
                        &resp.cancel_reason
                    };
                    w.fail(from_message(reason, &self.endpoint));
                }
            }
            return Stop::Continue;
        }
        let Some(w) = self.watchers.get_mut(&id) else {
            return Stop::Continue;
        };
        let sent = if resp.events.is_empty() {
            w.next_rev = w.next_rev.max(revision + 1);
            match w.items.try_send(Ok(WatchItem::Progress { revision })) {
                // A progress item carries no change: one that does not fit is dropped.
                Err(TrySendError::Full(_)) => Ok(()),
                other => other,
            }
        } else {
            let next = w.next_rev;
            let events: Vec<_> = resp
                .events
                .into_iter()
                .filter(|e| e.kv.as_ref().is_some_and(|kv| kv.mod_revision >= next))
                .collect();
            let Some(last) = events.last().and_then(|e| e.kv.as_ref()) else {
                return Stop::Continue;
            };
            let last = last.mod_revision;
            let sent = w.items.try_send(Ok(WatchItem::Events { revision, events }));
            if sent.is_ok() {
                w.next_rev = last + 1;
            }
            sent
        };
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.pause(id, sender),
            Err(TrySendError::Closed(_)) => {
                self.watchers.remove(&id);
                self.routes.remove(&resp.watch_id);
                cancel(sender, resp.watch_id);
            }
        }
        Stop::Continue
    }

    /// The watch's consumer is behind: cancel it on the server until half its channel is free.
    fn pause(&mut self, id: i64, sender: &Sender) {
        let Some(w) = self.watchers.get_mut(&id) else {
            return;
        };
        tracing::debug!(
            watch = id,
            next = w.next_rev,
            "watch consumer behind; pausing it"
        );
        self.routes.remove(&w.wire);
        cancel(sender, w.wire);
        w.wire = 0;
        w.paused = true;
        let items = w.items.clone();
        let room = (items.max_capacity() / 2).max(1);
        self.catching_up.spawn(async move {
            // The permits are released at once: this only waits for the room.
            let _ = items.reserve_many(room).await;
            id
        });
    }

    async fn created(
        &mut self,
        id: i64,
        wire: i64,
        resp: WatchResponse,
        revision: i64,
        sender: &Sender,
    ) -> Stop {
        let Some(w) = self.watchers.get_mut(&id).filter(|w| w.wire == wire) else {
            // Cancelled while its creation was on the way.
            if !resp.canceled {
                cancel(sender, wire);
            }
            return Stop::Continue;
        };
        if resp.canceled {
            w.wire = 0;
            let err = from_message(&resp.cancel_reason, &self.endpoint);
            if !w.auth_retried && self.core.may_be_stale_token(&err) {
                // An expired token: renew it and re-open the stream (once for this watch). A
                // failed renewal is the opening's to meet: it is retried, then given up.
                w.auth_retried = true;
                let deadline = &self.core.config.deadline();
                if let Ok(stale) = self.core.token(deadline).await.map(|t| t.generation) {
                    if let Err(e) = self.core.refresh_token(stale, deadline).await {
                        tracing::debug!(error = %e, "cannot renew the auth token");
                    }
                }
                return Stop::Broken;
            }
            if let Some(w) = self.watchers.remove(&id) {
                w.fail(err);
            }
            return Stop::Continue;
        }
        w.auth_retried = false;
        if w.next_rev == 0 {
            w.next_rev = revision + 1;
        }
        self.routes.insert(wire, id);
        if let Some(created) = w.created.take() {
            let _ = created.send(Ok(revision));
        }
        Stop::Continue
    }
}

fn cancel(sender: &Sender, wire: i64) {
    let _ = sender.send(WatchRequest {
        request_union: Some(RequestUnion::CancelRequest(WatchCancelRequest {
            watch_id: wire,
        })),
    });
}
