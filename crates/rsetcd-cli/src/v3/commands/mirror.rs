//! `make-mirror <destination>`: copies the keys under `--prefix` to another cluster at one
//! revision, then applies every later change, transaction by transaction, until stopped. It
//! prints how many keys it has mirrored every 30 s, as etcdctl does, and the count as it goes
//! on a terminal.

use std::ffi::OsString;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use rsetcd::v3::{prefix_end, Client, Op, WatchItem};

use crate::error::CliError;
use crate::secret::Secret;
use crate::v3::context::{builder, write_stdout, Ctx};
use crate::v3::error::{bad_args, describe, fail, Exit, OrFail};
use crate::v3::progress::Progress;

/// Flags of `make-mirror`.
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Verify certificates of TLS enabled secure servers using this CA bundle
    #[arg(long)]
    pub dest_cacert: Option<OsString>,
    /// Identify secure client using this TLS certificate file for the destination cluster
    #[arg(long)]
    pub dest_cert: Option<OsString>,
    /// Identify secure client using this TLS key file
    #[arg(long)]
    pub dest_key: Option<OsString>,
    /// Disable transport security for client connections
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub dest_insecure_transport: bool,
    /// Destination username[:password] for authentication (prompt if password is not supplied)
    #[arg(long, value_parser = Secret::parse)]
    pub dest_user: Option<Secret>,
    /// Destination password for authentication (if this option is used, --user option shouldn't include password)
    #[arg(long, value_parser = Secret::parse)]
    pub dest_password: Option<Secret>,
    /// destination prefix to mirror a prefix to a different prefix in the destination cluster
    #[arg(long, default_value = "")]
    pub dest_prefix: String,
    /// mirror key-values to the root of the destination cluster
    #[arg(long)]
    pub no_dest_prefix: bool,
    /// Key-value prefix to mirror
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// <destination>
    pub args: Vec<OsString>,
}

/// Keys read per request while copying the base.
const BATCH: i64 = 1000;

/// Mirrors until the watch ends or fails.
pub async fn run(ctx: &Ctx, a: &MirrorArgs) -> Result<(), CliError> {
    let [dest] = a.args.as_slice() else {
        return Err(bad_args("make-mirror takes one destination argument"));
    };
    let mut g = ctx.global.clone();
    g.endpoints = vec![dest.to_string_lossy().into_owned()];
    g.discovery_srv = None;
    g.cacert = a.dest_cacert.clone();
    g.cert = a.dest_cert.clone();
    g.key = a.dest_key.clone();
    g.insecure_transport = a.dest_insecure_transport;
    g.user = a.dest_user.clone();
    g.password = a.dest_password.clone();
    let dc: Client = builder::<Client>(&g)
        .await?
        .build()
        .map_err(|e| bad_args(describe(&e)))?;
    let c = ctx.client().await?;
    if a.no_dest_prefix && !a.dest_prefix.is_empty() {
        return Err(bad_args(
            "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one",
        ));
    }
    let dest_prefix = if !a.no_dest_prefix && a.dest_prefix.is_empty() {
        a.prefix.clone()
    } else {
        a.dest_prefix.clone()
    };
    let modify = |key: &[u8]| -> Vec<u8> {
        let prefix = a.prefix.as_bytes();
        if !prefix.is_empty() {
            if let Some(at) = key.windows(prefix.len()).position(|w| w == prefix) {
                let mut out = key[..at].to_vec();
                out.extend_from_slice(dest_prefix.as_bytes());
                out.extend_from_slice(&key[at + prefix.len()..]);
                return out;
            }
            return key.to_vec();
        }
        // Go's strings.Replace with an empty old string puts the new one first.
        let mut out = dest_prefix.as_bytes().to_vec();
        out.extend_from_slice(key);
        out
    };
    let mut total: u64 = 0;
    let mut progress = Progress::new();
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(30),
        Duration::from_secs(30),
    );
    let end = if a.prefix.is_empty() {
        b"\0".to_vec()
    } else {
        prefix_end(a.prefix.as_bytes()).to_vec()
    };
    // The base: every key at one revision, in batches.
    let mut key = if a.prefix.is_empty() {
        b"\0".to_vec()
    } else {
        a.prefix.clone().into_bytes()
    };
    let mut rev = 0;
    loop {
        let mut get = c.get(&key).range_end(&end).limit(BATCH);
        if rev != 0 {
            get = get.revision(rev);
        }
        let page = get.await.or_fail()?;
        if rev == 0 {
            rev = page.header.as_ref().map_or(0, |h| h.revision);
        }
        for kv in &page.kvs {
            dc.put(modify(&kv.key), &kv.value).await.or_fail()?;
            total += 1;
        }
        progress.show(&format!("mirrored {total} keys"));
        match page.kvs.last() {
            Some(last) if page.more => {
                key = last.key.to_vec();
                key.push(0);
            }
            _ => break,
        }
    }
    // Then every change after it.
    let mut watch = c
        .watch(if a.prefix.is_empty() {
            &b"\0"[..]
        } else {
            a.prefix.as_bytes()
        })
        .range_end(&end)
        .start_revision(rev + 1)
        .await
        .or_fail()?;
    loop {
        let item = tokio::select! {
            item = watch.next() => item,
            _ = tick.tick() => {
                progress.clear();
                write_stdout(format!("{total}\n").as_bytes())?;
                continue;
            }
        };
        let events = match item {
            Some(Ok(WatchItem::Events { events, .. })) => events,
            Some(Ok(WatchItem::Compacted { .. })) => {
                return Err(fail(
                    Exit::Error,
                    "etcdserver: mvcc: required revision has been compacted",
                ))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e).or_fail(),
            None => return Err(fail(Exit::Error, "watch closed")),
        };
        let mut ops: Vec<Op> = Vec::new();
        let commit = |ops: Vec<Op>| {
            let mut t = dc.txn();
            for op in ops {
                t = t.and_then(op);
            }
            t
        };
        let mut last_rev = 0;
        for ev in events {
            let Some(kv) = ev.kv else { continue };
            if last_rev != 0 && kv.mod_revision > last_rev {
                commit(std::mem::take(&mut ops)).await.or_fail()?;
            }
            last_rev = kv.mod_revision;
            if ev.r#type == 1 {
                ops.push(Op::delete(modify(&kv.key)).into());
            } else {
                ops.push(Op::put(modify(&kv.key), &kv.value).into());
            }
            total += 1;
        }
        if !ops.is_empty() {
            commit(ops).await.or_fail()?;
        }
        progress.show(&format!("mirrored {total} keys"));
    }
}
