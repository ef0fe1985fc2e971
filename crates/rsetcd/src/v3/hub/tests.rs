//! The routing state machine without a network: a [`State`] whose endpoint is never contacted,
//! driven by commands and hand-made answers; what it sends goes to a channel the test reads.

use bytes::Bytes;

use super::*;
use crate::error::V3ErrorKind;
use crate::v3::proto::etcdserverpb::ResponseHeader;
use crate::v3::proto::mvccpb::{Event, KeyValue};

const S: Duration = Duration::from_secs(1);

/// A hub's state with no stream opened yet, on a client whose endpoint is never contacted.
fn state() -> State {
    let config = crate::v3::Client::builder()
        .endpoints(["http://127.0.0.1:1"])
        .test_config()
        .unwrap();
    State {
        core: Arc::new(Core::new(config).unwrap()),
        watchers: BTreeMap::new(),
        queue: VecDeque::new(),
        sending: None,
        routes: HashMap::new(),
        next_wire: 1,
        catching_up: JoinSet::new(),
        prefer: None,
        endpoint: "http://127.0.0.1:1".into(),
        outage: Outage::default(),
    }
}

/// The watch's side: its items and the answer to its creation.
struct Handle {
    items: mpsc::Receiver<Result<WatchItem>>,
    created: oneshot::Receiver<Result<i64>>,
}

fn create_command(id: i64, start: i64, buffer: usize, give_up: Duration) -> (Command, Handle) {
    let (items, items_rx) = mpsc::channel(buffer);
    let (created, created_rx) = oneshot::channel();
    let cmd = Command::Create {
        id,
        req: WatchCreateRequest {
            key: Bytes::from_static(b"/k"),
            start_revision: start,
            ..Default::default()
        },
        items,
        created,
        give_up,
    };
    (
        cmd,
        Handle {
            items: items_rx,
            created: created_rx,
        },
    )
}

/// A watch asked for on the open stream.
fn create(st: &mut State, tx: &Sender, id: i64, start: i64, buffer: usize) -> Handle {
    let (cmd, handle) = create_command(id, start, buffer, 30 * S);
    st.command(cmd, tx);
    handle
}

/// What was sent on the stream since last asked, in order.
#[derive(Debug, PartialEq)]
enum Sent {
    /// Wire ID and start revision.
    Create(i64, i64),
    Cancel(i64),
    Progress,
}

fn sent(rx: &mut mpsc::UnboundedReceiver<WatchRequest>) -> Vec<Sent> {
    let mut out = Vec::new();
    while let Ok(req) = rx.try_recv() {
        out.push(match req.request_union {
            Some(RequestUnion::CreateRequest(c)) => Sent::Create(c.watch_id, c.start_revision),
            Some(RequestUnion::CancelRequest(c)) => Sent::Cancel(c.watch_id),
            Some(RequestUnion::ProgressRequest(_)) => Sent::Progress,
            None => panic!("an empty request"),
        });
    }
    out
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

fn created(wire: i64, revision: i64) -> WatchResponse {
    WatchResponse {
        header: header(revision),
        watch_id: wire,
        created: true,
        ..Default::default()
    }
}

fn events(wire: i64, revision: i64, revs: &[i64]) -> WatchResponse {
    WatchResponse {
        header: header(revision),
        watch_id: wire,
        events: revs
            .iter()
            .map(|&mod_revision| Event {
                kv: Some(KeyValue {
                    key: Bytes::from_static(b"/k"),
                    mod_revision,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn canceled(wire: i64, compact_revision: i64, reason: &str) -> WatchResponse {
    WatchResponse {
        header: header(0),
        watch_id: wire,
        canceled: true,
        compact_revision,
        cancel_reason: reason.into(),
        ..Default::default()
    }
}

async fn answer(st: &mut State, resp: WatchResponse, tx: &Sender) {
    assert!(matches!(st.answer(resp, tx).await, Stop::Continue));
}

/// The revisions of the events the watch has been given, item by item (`Err` for anything else).
fn delivered(handle: &mut Handle) -> Vec<Result<Vec<i64>, String>> {
    let mut out = Vec::new();
    while let Ok(item) = handle.items.try_recv() {
        out.push(match item {
            Ok(WatchItem::Events { events, .. }) => Ok(events
                .iter()
                .map(|e| e.kv.as_ref().unwrap().mod_revision)
                .collect()),
            other => Err(format!("{other:?}")),
        });
    }
    out
}

fn wire_of(st: &State, id: i64) -> i64 {
    st.watchers[&id].wire
}

// ----- Creation and routing -----

#[tokio::test]
async fn creations_go_one_at_a_time_and_answers_route_by_wire_id() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 10, 0, 8);
    let mut b = create(&mut st, &tx, 11, 5, 8);
    assert_eq!(
        sent(&mut rx),
        [Sent::Create(1, 0)],
        "the second waits for the first"
    );
    answer(&mut st, created(1, 100), &tx).await;
    assert_eq!(a.created.try_recv().unwrap().unwrap(), 100);
    assert_eq!(sent(&mut rx), [Sent::Create(2, 5)]);
    answer(&mut st, created(2, 100), &tx).await;
    assert_eq!(b.created.try_recv().unwrap().unwrap(), 100);

    answer(&mut st, events(2, 101, &[101]), &tx).await;
    answer(&mut st, events(1, 102, &[102]), &tx).await;
    // An ID that is no watch's: dropped.
    answer(&mut st, events(7, 103, &[103]), &tx).await;
    assert_eq!(delivered(&mut a), [Ok(vec![102])]);
    assert_eq!(delivered(&mut b), [Ok(vec![101])]);
    // "From now": the watch resumes after the revision of its creation's answer.
    assert_eq!(st.watchers[&10].next_rev, 103);
    assert!(sent(&mut rx).is_empty());
}

#[tokio::test]
async fn a_refused_creation_fails_its_watch_and_the_next_one_is_sent() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 8);
    let _b = create(&mut st, &tx, 2, 0, 8);
    assert_eq!(sent(&mut rx), [Sent::Create(1, 0)]);
    let mut refused = created(1, 100);
    refused.canceled = true;
    refused.cancel_reason = "etcdserver: permission denied".into();
    answer(&mut st, refused, &tx).await;
    let err = a.created.try_recv().unwrap().unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::PermissionDenied));
    assert!(!st.watchers.contains_key(&1));
    assert_eq!(sent(&mut rx), [Sent::Create(2, 0)]);
}

#[tokio::test]
async fn a_watch_cancelled_while_its_creation_is_on_the_way_is_cancelled_when_it_is_answered() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 8);
    let _b = create(&mut st, &tx, 2, 0, 8);
    let mut c = create(&mut st, &tx, 3, 0, 8);
    assert_eq!(sent(&mut rx), [Sent::Create(1, 0)]);
    st.command(Command::Cancel { id: 1 }, &tx);
    st.command(Command::Cancel { id: 2 }, &tx);
    assert!(
        sent(&mut rx).is_empty(),
        "nothing to cancel on the server yet"
    );
    answer(&mut st, created(1, 100), &tx).await;
    // Watch 2, queued, is skipped.
    assert_eq!(sent(&mut rx), [Sent::Cancel(1), Sent::Create(2, 0)]);
    assert!(a.created.try_recv().is_err(), "its handle is gone");
    answer(&mut st, created(2, 100), &tx).await;
    assert_eq!(c.created.try_recv().unwrap().unwrap(), 100);
    answer(&mut st, events(2, 101, &[101]), &tx).await;
    assert_eq!(delivered(&mut c), [Ok(vec![101])]);

    // Cancelling a created watch cancels its ID; later answers to it are dropped.
    st.command(Command::Cancel { id: 3 }, &tx);
    assert_eq!(sent(&mut rx), [Sent::Cancel(2)]);
    answer(&mut st, events(2, 102, &[102]), &tx).await;
    assert!(delivered(&mut c).is_empty());
    st.command(Command::Progress, &tx);
    assert_eq!(sent(&mut rx), [Sent::Progress]);
}

#[tokio::test]
async fn a_watch_whose_consumer_is_gone_is_cancelled() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let a = create(&mut st, &tx, 1, 0, 8);
    answer(&mut st, created(1, 100), &tx).await;
    sent(&mut rx);
    drop(a);
    answer(&mut st, events(1, 101, &[101]), &tx).await;
    assert_eq!(sent(&mut rx), [Sent::Cancel(1)]);
    assert!(st.watchers.is_empty() && st.routes.is_empty());
}

// ----- Revisions -----

#[tokio::test]
async fn events_below_the_next_revision_are_dropped_after_a_resume() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 8);
    answer(&mut st, created(1, 100), &tx).await;
    answer(&mut st, events(1, 102, &[101, 102]), &tx).await;
    assert_eq!(st.watchers[&1].next_rev, 103);
    sent(&mut rx);

    // The stream broke: the watch is created again, under a new ID, from its next revision.
    st.reset_stream();
    let Some(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(again)),
    }) = st.next_create()
    else {
        panic!("no creation queued");
    };
    assert_eq!((again.watch_id, again.start_revision), (2, 103));
    // The answer's revision is past what the watch has had: it still resumes at 103.
    answer(&mut st, created(2, 110), &tx).await;
    assert_eq!(st.watchers[&1].next_rev, 103);
    // A replay of what was delivered is dropped, the rest goes through.
    answer(&mut st, events(2, 104, &[102, 103]), &tx).await;
    answer(&mut st, events(2, 104, &[101, 102]), &tx).await;
    answer(&mut st, events(2, 105, &[104, 105]), &tx).await;
    assert_eq!(
        delivered(&mut a),
        [Ok(vec![101, 102]), Ok(vec![103]), Ok(vec![104, 105])]
    );
    assert_eq!(st.watchers[&1].next_rev, 106);
    // A progress notification of the watch's own moves it on (no event up to there).
    answer(&mut st, events(2, 120, &[]), &tx).await;
    assert_eq!(st.watchers[&1].next_rev, 121);
    assert_eq!(
        delivered(&mut a),
        [Err("Ok(Progress { revision: 120 })".into())]
    );
}

#[tokio::test]
async fn progress_answers_reach_only_created_watches_and_move_no_revision() {
    let mut st = state();
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 8);
    answer(&mut st, created(1, 100), &tx).await;
    let mut b = create(&mut st, &tx, 2, 0, 8); // sent, not answered
    let mut c = create(&mut st, &tx, 3, 0, 8); // queued
    assert_eq!(st.sending, Some((2, 2)));
    let progress = WatchResponse {
        header: header(150),
        watch_id: -1,
        ..Default::default()
    };
    answer(&mut st, progress, &tx).await;
    assert_eq!(
        delivered(&mut a),
        [Err("Ok(Progress { revision: 150 })".into())]
    );
    assert_eq!(
        st.watchers[&1].next_rev, 101,
        "it may overtake events on their way"
    );
    assert!(delivered(&mut b).is_empty());
    assert!(delivered(&mut c).is_empty());
    assert!(b.created.try_recv().is_err() && c.created.try_recv().is_err());
}

// ----- Slow consumers -----

#[tokio::test]
async fn a_full_channel_pauses_the_watch_and_it_resumes_from_its_next_revision() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 1);
    let mut b = create(&mut st, &tx, 2, 0, 8);
    answer(&mut st, created(1, 100), &tx).await;
    answer(&mut st, created(2, 100), &tx).await;
    sent(&mut rx);

    answer(&mut st, events(1, 101, &[101]), &tx).await;
    // No room for this one: the watch is cancelled on the server, the answer dropped.
    answer(&mut st, events(1, 102, &[102]), &tx).await;
    assert_eq!(sent(&mut rx), [Sent::Cancel(1)]);
    let w = &st.watchers[&1];
    assert!(w.paused);
    assert_eq!((w.wire, w.next_rev), (0, 102), "102 was not delivered");
    assert!(!st.routes.contains_key(&1));
    // Late answers to the cancelled ID are dropped; the other watch goes on.
    answer(&mut st, events(1, 103, &[103]), &tx).await;
    answer(&mut st, events(2, 103, &[103]), &tx).await;
    assert!(sent(&mut rx).is_empty());
    assert_eq!(delivered(&mut b), [Ok(vec![103])]);
    // A new stream does not create a paused watch.
    st.reset_stream();
    assert_eq!(st.queue, [2]);
    st.queue.clear();

    // The consumer reads: the watch has room again.
    assert_eq!(delivered(&mut a), [Ok(vec![101])]);
    let done = tokio::time::timeout(10 * S, st.catching_up.join_next())
        .await
        .expect("the watch never caught up");
    assert_eq!(done.unwrap().unwrap(), 1);
    assert!(st.caught_up(1));
    assert!(!st.watchers[&1].paused);
    // As the stream's loop does with it: queued and created anew, under a fresh ID.
    st.queue.push_back(1);
    st.send_next_create(&tx);
    assert_eq!(sent(&mut rx), [Sent::Create(3, 102)]);
    answer(&mut st, created(3, 103), &tx).await;
    answer(&mut st, events(3, 103, &[102, 103]), &tx).await;
    assert_eq!(delivered(&mut a), [Ok(vec![102, 103])], "no gap");
}

#[tokio::test]
async fn a_paused_watch_whose_consumer_left_is_forgotten() {
    let mut st = state();
    let (tx, _rx) = mpsc::unbounded_channel();
    let a = create(&mut st, &tx, 1, 0, 1);
    answer(&mut st, created(1, 100), &tx).await;
    answer(&mut st, events(1, 101, &[101]), &tx).await;
    answer(&mut st, events(1, 102, &[102]), &tx).await;
    assert!(st.watchers[&1].paused);
    drop(a);
    let done = tokio::time::timeout(10 * S, st.catching_up.join_next())
        .await
        .expect("the wait for room never ended");
    assert_eq!(done.unwrap().unwrap(), 1);
    assert!(!st.caught_up(1));
    assert!(st.watchers.is_empty());
}

// ----- Cancellations -----

#[tokio::test]
async fn a_cancel_with_a_compact_revision_yields_compacted_others_an_error() {
    let mut st = state();
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut a = create(&mut st, &tx, 1, 0, 8);
    answer(&mut st, created(1, 100), &tx).await;
    let mut b = create(&mut st, &tx, 2, 0, 8);
    answer(&mut st, created(2, 100), &tx).await;
    let mut c = create(&mut st, &tx, 3, 0, 8);
    answer(&mut st, created(3, 100), &tx).await;

    answer(
        &mut st,
        canceled(1, 50, "mvcc: required revision has been compacted"),
        &tx,
    )
    .await;
    assert_eq!(
        a.items.try_recv().unwrap().unwrap(),
        WatchItem::Compacted {
            compact_revision: 50
        }
    );
    assert!(a.items.recv().await.is_none(), "the watch ended");

    answer(
        &mut st,
        canceled(2, 0, "etcdserver: permission denied"),
        &tx,
    )
    .await;
    let err = b.items.try_recv().unwrap().unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::PermissionDenied));
    answer(&mut st, canceled(3, 0, ""), &tx).await;
    let err = c.items.try_recv().unwrap().unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::WatchCanceled));
    assert!(st.watchers.is_empty() && st.routes.is_empty());
}

// ----- A new stream, and outages -----

#[tokio::test]
async fn reset_stream_requeues_every_watch_not_paused() {
    let mut st = state();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _a = create(&mut st, &tx, 1, 0, 8);
    answer(&mut st, created(1, 100), &tx).await; // created
    let _b = create(&mut st, &tx, 2, 0, 1);
    answer(&mut st, created(2, 100), &tx).await;
    answer(&mut st, events(2, 101, &[101]), &tx).await;
    answer(&mut st, events(2, 102, &[102]), &tx).await; // paused
    let _c = create(&mut st, &tx, 3, 0, 8); // sent, not answered
    let _d = create(&mut st, &tx, 4, 7, 8); // queued
    assert!(st.watchers[&2].paused);
    assert_eq!(st.sending, Some((3, 3)));
    sent(&mut rx);

    st.reset_stream();
    assert_eq!(st.queue, [1, 3, 4]);
    assert!(st.routes.is_empty() && st.sending.is_none());
    assert!(st.watchers.values().all(|w| w.wire == 0));
    // The new stream's first message, then one creation after each answer.
    st.send_next_create(&tx);
    assert_eq!(sent(&mut rx), [Sent::Create(4, 101)]);
    answer(&mut st, created(4, 120), &tx).await;
    assert_eq!(sent(&mut rx), [Sent::Create(5, 0)]);
    answer(&mut st, created(5, 120), &tx).await;
    assert_eq!(sent(&mut rx), [Sent::Create(6, 7)]);
    answer(&mut st, created(6, 120), &tx).await;
    assert!(sent(&mut rx).is_empty());
    assert_eq!(
        (wire_of(&st, 1), wire_of(&st, 3), wire_of(&st, 4)),
        (4, 5, 6)
    );
    assert_eq!(wire_of(&st, 2), 0, "the paused one waits for room");
}

#[tokio::test(start_paused = true)]
async fn give_up_ends_only_the_watches_past_their_bound_or_all_on_a_lasting_error() {
    let mut st = state();
    let (cmd, mut short) = create_command(1, 0, 8, S);
    st.offline(cmd);
    let (cmd, mut long) = create_command(2, 0, 8, 10 * S);
    st.offline(cmd);
    // The long one had been created before the outage.
    let created = st.watchers.get_mut(&2).unwrap().created.take().unwrap();
    created.send(Ok(100)).unwrap();
    assert_eq!(long.created.try_recv().unwrap().unwrap(), 100);
    let refused = Error::connect("http://127.0.0.1:1", "refused");

    st.outage.failed();
    tokio::time::advance(S / 2).await;
    st.give_up(&refused);
    assert_eq!(st.watchers.len(), 2, "no bound has passed");

    tokio::time::advance(S).await;
    st.give_up(&refused);
    assert_eq!(st.watchers.keys().copied().collect::<Vec<_>>(), [2]);
    let err = short.created.try_recv().unwrap().unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(long.items.try_recv().is_err(), "the long one goes on");

    // An error that waiting cannot cure ends every watch, whatever its bound.
    st.give_up(&Error::Config("bad".into()));
    assert!(st.watchers.is_empty());
    let err = long.items.try_recv().unwrap().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn commands_while_no_stream_is_open() {
    let mut st = state();
    let (cmd, _a) = create_command(1, 9, 8, S);
    st.offline(cmd);
    st.offline(Command::Progress);
    assert!(st.has_active());
    assert!(st.queue.is_empty(), "queued when a stream opens");
    st.offline(Command::Cancel { id: 1 });
    assert!(!st.has_active() && st.watchers.is_empty());
}
