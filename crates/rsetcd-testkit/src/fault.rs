//! A tiny fake HTTP server for faults real etcd cannot produce: garbage bytes, truncated bodies, a
//! connection that is accepted and never answered.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with each connection.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Reads the request head, writes these raw bytes (a whole HTTP response, possibly malformed
    /// or truncated), then closes.
    Respond(Vec<u8>),
    /// Accepts, reads, never answers; keeps the socket open until the server is dropped.
    BlackHole,
    /// Accepts, then closes without a byte.
    CloseImmediately,
}

/// A fake server on 127.0.0.1; its thread stops when it is dropped.
#[derive(Debug)]
pub struct FaultServer {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Starts the server.
    pub fn start(fault: Fault) -> std::io::Result<FaultServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, accepted, held) = (stop.clone(), accepted.clone(), held.clone());
            std::thread::spawn(move || serve(listener, fault, stop, accepted, held))
        };
        Ok(FaultServer {
            port,
            stop,
            accepted,
            held,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn serve(
    listener: TcpListener,
    fault: Fault,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                accepted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nonblocking(false);
                match &fault {
                    Fault::CloseImmediately => drop(stream),
                    Fault::BlackHole => {
                        if let Ok(mut held) = held.lock() {
                            held.push(stream);
                        }
                    }
                    Fault::Respond(bytes) => {
                        read_head(&mut stream);
                        let _ = stream.write_all(bytes);
                        let _ = stream.flush();
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads until the end of the request head (and a short body, if any arrives at once).
fn read_head(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 1 << 20 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    // Drain a small form body that came with the head, so closing does not reset the connection.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let _ = stream.read(&mut chunk);
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut held) = self.held.lock() {
            held.clear();
        }
    }
}
