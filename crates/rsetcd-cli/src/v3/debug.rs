//! `--debug`: the effective global settings as etcdctl prints them (`ETCDCTL_…=value`, passwords
//! masked), then the library's debug events on stderr.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use super::cli::{go_duration, Global};

/// Prints each global flag as `ETCDCTL_NAME=value`, sorted by name as etcdctl does; a password
/// shows as `***`.
pub fn print_flags(g: &Global) {
    let path = |p: &Option<std::ffi::OsString>| {
        p.as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let user = g.user.as_deref().map(|u| match u.split_once(':') {
        Some((name, _)) => format!("{name}:***"),
        None => u.to_string(),
    });
    let lines = [
        ("CACERT", path(&g.cacert)),
        ("CERT", path(&g.cert)),
        ("COMMAND_TIMEOUT", go_duration(g.command_timeout)),
        ("DEBUG", g.debug.to_string()),
        ("DIAL_TIMEOUT", go_duration(g.dial_timeout)),
        ("DISCOVERY_SRV", g.discovery_srv.clone().unwrap_or_default()),
        (
            "DISCOVERY_SRV_NAME",
            g.discovery_srv_name.clone().unwrap_or_default(),
        ),
        ("ENDPOINTS", format!("[{}]", g.endpoints.join(" "))),
        ("HEX", g.hex.to_string()),
        ("INSECURE_DISCOVERY", g.insecure_discovery.to_string()),
        (
            "INSECURE_SKIP_TLS_VERIFY",
            g.insecure_skip_tls_verify.to_string(),
        ),
        ("INSECURE_TRANSPORT", g.insecure_transport.to_string()),
        ("KEEPALIVE_TIME", go_duration(g.keepalive_time)),
        ("KEEPALIVE_TIMEOUT", go_duration(g.keepalive_timeout)),
        ("KEY", path(&g.key)),
        (
            "PASSWORD",
            if g.password.as_deref().is_some_and(|p| !p.is_empty()) {
                "***".into()
            } else {
                String::new()
            },
        ),
        ("USER", user.unwrap_or_default()),
        ("WRITE_OUT", g.write_out.clone()),
    ];
    let mut text = String::new();
    for (name, value) in lines {
        let _ = writeln!(text, "ETCDCTL_{name}={value}");
    }
    eprint!("{text}");
}

struct Printer;

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for Printer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.target().starts_with("rsetcd") && meta.is_event() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        eprintln!(
            "{} {}: {}",
            event.metadata().level(),
            event.metadata().target(),
            f.0
        );
    }
}

/// Prints the library's events on stderr (it logs no secrets: tokens and passwords are masked).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Printer));
}
