//! An HTTP/1.1 proxy in front of one etcd that holds every answer for a fixed time: a network
//! with latency, for benchmarks that ask whether concurrent callers overlap their waits (on one
//! loopback machine, etcd's own CPU otherwise bounds every client at once).
//!
//! Usage: `delay_proxy TARGET DELAY_MS` (TARGET: `host:port` or an `http://` URL). Prints its
//! own URL on one line, then relays until its standard input closes.

use std::io::{BufRead, Write};
use std::time::Duration;

use rsetcd_testkit::{Fault, FaultProxy, Trigger, Wire};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(delay)) = (args.next(), args.next()) else {
        return Err("usage: delay_proxy TARGET DELAY_MS".into());
    };
    let delay = Duration::from_millis(delay.parse()?);
    let proxy = FaultProxy::start(&target, Wire::Http1)?;
    let _armed = proxy.arm(Trigger::any().always(), Fault::DelayAnswer(delay))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", proxy.url())?;
    out.flush()?;
    // Until the parent closes our standard input (or stops us by PID).
    for line in std::io::stdin().lock().lines() {
        line?;
    }
    Ok(())
}
