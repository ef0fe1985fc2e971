//! Keys and forms as the v2 HTTP API takes them: percent-encoded key paths and `name=value`
//! pairs.

use std::fmt::Write as _;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// Characters left as they are in a key segment: RFC 3986 unreserved ones.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Checks a key and returns its percent-encoded path, always starting with `/`.
///
/// A key without a leading `/` gets one; one trailing `/` is dropped (etcd drops it too). Empty
/// segments (`//`), `.` and `..` segments (which etcd would answer with a redirect to another key)
/// and NUL bytes are refused.
pub fn encode_key(key: &str) -> Result<String> {
    let mut out = String::with_capacity(key.len() + 8);
    push_key(&mut out, key)?;
    Ok(out)
}

/// [`encode_key`], appended to `out` (left as it was on error).
pub(crate) fn push_key(out: &mut String, key: &str) -> Result<()> {
    let trimmed = key.strip_prefix('/').unwrap_or(key);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        out.push('/');
        return Ok(());
    }
    let start = out.len();
    for segment in trimmed.split('/') {
        let why = match segment {
            "" => Some("an empty segment (\"//\")"),
            "." | ".." => Some("a \".\" or \"..\" segment"),
            s if s.contains('\0') => Some("a NUL byte"),
            _ => None,
        };
        if let Some(why) = why {
            out.truncate(start);
            return Err(Error::InvalidArgument(format!(
                "key {key:?} has {why}, which etcd would rewrite to another key"
            )));
        }
        out.push('/');
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    Ok(())
}

/// `name=value` pairs appended to a form body or a query string: `first` before the first pair
/// (`?` for a query, nothing for a form), `&` before the others. Values are percent-encoded as key
/// segments are (etcd's form parser reads `%20` as a space, as it reads `+`).
pub(super) struct Pairs<'s> {
    out: &'s mut String,
    start: usize,
    first: &'static str,
}

impl<'s> Pairs<'s> {
    pub(super) fn new(out: &'s mut String, first: &'static str) -> Pairs<'s> {
        let start = out.len();
        Pairs { out, start, first }
    }

    fn name(&mut self, name: &str) {
        let sep = if self.out.len() == self.start {
            self.first
        } else {
            "&"
        };
        self.out.push_str(sep);
        self.out.push_str(name);
        self.out.push('=');
    }

    pub(super) fn text(&mut self, name: &str, value: &str) {
        self.name(name);
        self.out.extend(utf8_percent_encode(value, SEGMENT));
    }

    pub(super) fn number(&mut self, name: &str, value: u64) {
        self.name(name);
        // Writing to a String cannot fail.
        let _ = write!(self.out, "{value}");
    }

    pub(super) fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.text(name, "true");
        }
    }
}

pub(super) fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_queries_are_pairs() {
        let mut body = String::new();
        let mut form = Pairs::new(&mut body, "");
        form.text("value", "a&b=c d+ü");
        form.flag("dir", false);
        form.number("prevIndex", 42);
        form.flag("refresh", true);
        assert_eq!(
            body,
            "value=a%26b%3Dc%20d%2B%C3%BC&prevIndex=42&refresh=true"
        );

        let mut path = String::from("/v2/keys/k");
        Pairs::new(&mut path, "?").flag("wait", false);
        assert_eq!(path, "/v2/keys/k", "no pairs, no '?'");
        let mut query = Pairs::new(&mut path, "?");
        query.flag("recursive", true);
        query.number("waitIndex", 7);
        assert_eq!(path, "/v2/keys/k?recursive=true&waitIndex=7");
    }

    #[test]
    fn keys_are_encoded_segment_by_segment() {
        assert_eq!(encode_key("foo").unwrap(), "/foo");
        assert_eq!(encode_key("/").unwrap(), "/");
        assert_eq!(encode_key("").unwrap(), "/");
        assert_eq!(encode_key("/a/b/").unwrap(), "/a/b");
        assert_eq!(
            encode_key("/a b?c#d%e&f+g").unwrap(),
            "/a%20b%3Fc%23d%25e%26f%2Bg"
        );
        assert_eq!(encode_key("/café").unwrap(), "/caf%C3%A9");
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["//a", "/a//b", "/a/./b", "/a/../b", "..", "/a/.", "/a\0b"] {
            let err = encode_key(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn ttl_rounds_up() {
        assert_eq!(ttl_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ttl_secs(Duration::from_secs(5)), 5);
        assert_eq!(ttl_secs(Duration::ZERO), 0);
    }
}
