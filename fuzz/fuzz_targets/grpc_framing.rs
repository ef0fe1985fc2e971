//! gRPC message framing as the v3 client reads a unary answer (`v3/channel/unary.rs`): a real
//! client asks an in-process HTTP/2 server, which answers with the input as the body — cut into
//! DATA frames of a size the input picks — and with or without a `grpc-status` (in trailers or
//! in the head). Never a panic, never a hang past the request timeout.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response};
use libfuzzer_sys::fuzz_target;

/// The answer the server gives next: (shape byte, frame size, body).
type Slot = Arc<Mutex<(u8, usize, Vec<u8>)>>;

struct Harness {
    rt: tokio::runtime::Runtime,
    client: rsetcd::v3::Client,
    slot: Slot,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let slot: Slot = Arc::new(Mutex::new((0, 1, Vec::new())));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        rt.spawn(serve(listener, slot.clone()));
        let client = rsetcd::v3::Client::builder()
            .endpoints([url])
            .request_timeout(Duration::from_secs(2))
            .build()
            .expect("a client");
        Harness { rt, client, slot }
    })
}

async fn serve(listener: tokio::net::TcpListener, slot: Slot) {
    while let Ok((sock, _)) = listener.accept().await {
        let slot = slot.clone();
        tokio::spawn(async move {
            let Ok(mut conn) = h2::server::handshake(sock).await else {
                return;
            };
            while let Some(Ok((_req, mut respond))) = conn.accept().await {
                let (shape, size, body) = slot.lock().map(|s| s.clone()).unwrap_or_default();
                let mut head = Response::builder()
                    .status(200)
                    .header("content-type", "application/grpc");
                if shape % 4 == 3 {
                    // Trailers-only: the status in the head, no body.
                    head = head.header("grpc-status", status(shape));
                }
                let Ok(head) = head.body(()) else { continue };
                let Ok(mut send) = respond.send_response(head, shape % 4 == 3) else {
                    continue;
                };
                if shape % 4 == 3 {
                    continue;
                }
                for chunk in body.chunks(size.max(1)) {
                    let _ = send.send_data(Bytes::copy_from_slice(chunk), false);
                }
                if shape % 4 == 2 {
                    // No trailers at all: the stream just ends.
                    let _ = send.send_data(Bytes::new(), true);
                    continue;
                }
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", status(shape));
                if shape & 0x10 != 0 {
                    trailers.insert("grpc-message", HeaderValue::from_static("fuzz%20message"));
                }
                let _ = send.send_trailers(trailers);
            }
        });
    }
}

fn status(shape: u8) -> HeaderValue {
    match shape >> 5 {
        0 | 1 => HeaderValue::from_static("0"),
        2 => HeaderValue::from_static("14"),
        3 => HeaderValue::from_static("2"),
        4 => HeaderValue::from_static("9"),
        5 => HeaderValue::from_static("x"),
        _ => HeaderValue::from_static("99999999999"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [shape, size, body @ ..] = data else {
        return;
    };
    let h = harness();
    if let Ok(mut s) = h.slot.lock() {
        *s = (*shape, usize::from(*size) + 1, body.to_vec());
    }
    let _ = h.rt.block_on(async { h.client.get("k").await });
});
