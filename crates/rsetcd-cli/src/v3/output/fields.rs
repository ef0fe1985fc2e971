//! The fields format's shared pieces: `"Name" : value` lines, the response header, a key-value
//! pair, and Go's `%q` quoting of byte strings.

use rsetcd::v3::{KeyValue, ResponseHeader};

use super::Out;

/// A byte string quoted as Go's `%q` (`strconv.Quote`) quotes it: printable characters as they
/// are, `\n`-style escapes, `\x..` for bytes that are not UTF-8, `\u....` for other controls.
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\u{7}' => s.push_str("\\a"),
                '\u{8}' => s.push_str("\\b"),
                '\u{c}' => s.push_str("\\f"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                '\u{b}' => s.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    s.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                    if (c as u32) < 0x10000 {
                        s.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        s.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}

/// `"Name" : value`.
pub fn field(out: &mut Out, name: &str, value: impl std::fmt::Display) {
    out.line(&format!("\"{name}\" : {value}"));
}

/// The four header lines (zeros for a missing header, as Go prints a nil header's fields).
pub fn header(out: &mut Out, h: Option<&ResponseHeader>) {
    let d = ResponseHeader::default();
    let h = h.unwrap_or(&d);
    field(out, "ClusterID", h.cluster_id);
    field(out, "MemberID", h.member_id);
    field(out, "Revision", h.revision);
    field(out, "RaftTerm", h.raft_term);
}

/// A key-value pair's six lines, names prefixed with `prefix` (`Prev` for previous pairs).
pub fn kv(out: &mut Out, prefix: &str, kv: &KeyValue) {
    field(out, &format!("{prefix}Key"), quote(&kv.key));
    field(out, &format!("{prefix}CreateRevision"), kv.create_revision);
    field(out, &format!("{prefix}ModRevision"), kv.mod_revision);
    field(out, &format!("{prefix}Version"), kv.version);
    field(out, &format!("{prefix}Value"), quote(&kv.value));
    field(out, &format!("{prefix}Lease"), kv.lease);
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_as_go_does() {
        assert_eq!(quote(b"/a"), r#""/a""#);
        assert_eq!(quote(b"a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(quote(b"\x00\x1b\x7f"), r#""\x00\x1b\x7f""#);
        assert_eq!(quote(b"\xff\xfeok"), r#""\xff\xfeok""#);
        assert_eq!(quote("héllo ☃".as_bytes()), "\"héllo ☃\"");
        assert_eq!(quote("\u{a0}\u{85}".as_bytes()), r#""\u00a0\u0085""#);
    }
}
