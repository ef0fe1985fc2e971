//! `--debug`: an equivalent curl command on stderr for each request the library sends, without
//! passwords (curl prompts for one when `-u user` is given; the library already masks the auth API's
//! JSON `password` fields in what it logs).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

struct Curl {
    user: Option<String>,
}

#[derive(Default)]
struct Fields {
    message: String,
    method: String,
    url: String,
    body: String,
    json: bool,
}

impl Visit for Fields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "json" {
            self.json = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            "method" => self.method = text,
            "url" => self.url = text,
            "body" => self.body = text,
            _ => {}
        }
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl<S: Subscriber> Layer<S> for Curl {
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
        if f.message != "etcd request" {
            return;
        }
        let mut line = format!("cURL Command: curl -X {} {}", f.method, quote(&f.url));
        if let Some(user) = &self.user {
            line.push_str(&format!(" -u {}", quote(user)));
        }
        if !f.body.is_empty() {
            if f.json {
                line.push_str(&format!(
                    " -H 'Content-Type: application/json' -d {}",
                    quote(&f.body)
                ));
            } else {
                line.push_str(&format!(" -d {}", quote(&f.body)));
            }
        }
        eprintln!("{line}");
    }
}

/// Installs the curl printer. `username` is `user[:password]`; only the user name is shown.
pub fn install(username: Option<&str>) {
    let user = username.map(|u| u.split(':').next().unwrap_or(u).to_string());
    let subscriber = tracing_subscriber::registry().with(Curl { user });
    let _ = tracing::subscriber::set_global_default(subscriber);
}
