//! How etcdctl reads a transaction's lines: `argify` (its shell-like word splitting), Go's
//! quoted strings (`%q` scanning), and compares such as `mod("key") > "0"`.

/// A Go quoted string at the start of `s` (`"…"` with Go's escapes, or a back-quoted raw
/// string): its bytes and the rest of `s`.
pub fn unquote_prefix(s: &str) -> Result<(Vec<u8>, &str), String> {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b'`') => {
            let end = s[1..].find('`').ok_or("unexpected EOF")?;
            Ok((s.as_bytes()[1..1 + end].to_vec(), &s[end + 2..]))
        }
        Some(b'"') => {
            let mut out = Vec::new();
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => return Ok((out, &s[i + 1..])),
                    b'\\' => {
                        let (decoded, used) = escape(&s[i + 1..])?;
                        out.extend_from_slice(&decoded);
                        i += 1 + used;
                    }
                    b'\n' => return Err("invalid syntax".into()),
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            Err("unexpected EOF".into())
        }
        _ => Err("expected quoted string".into()),
    }
}

/// One escape after a backslash: its bytes and how many characters it took.
fn escape(s: &str) -> Result<(Vec<u8>, usize), String> {
    let bad = || "invalid syntax".to_string();
    let c = s.chars().next().ok_or_else(bad)?;
    let simple = |b: u8| Ok((vec![b], 1));
    match c {
        'a' => simple(7),
        'b' => simple(8),
        'f' => simple(12),
        'n' => simple(b'\n'),
        'r' => simple(b'\r'),
        't' => simple(b'\t'),
        'v' => simple(11),
        '\\' => simple(b'\\'),
        '"' => simple(b'"'),
        '\'' => simple(b'\''),
        'x' => {
            let hex = s.get(1..3).ok_or_else(bad)?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
            Ok((vec![b], 3))
        }
        '0'..='7' => {
            let oct = s.get(0..3).ok_or_else(bad)?;
            let b = u8::from_str_radix(oct, 8).map_err(|_| bad())?;
            Ok((vec![b], 3))
        }
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let hex = s.get(1..1 + n).ok_or_else(bad)?;
            let code = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
            let ch = char::from_u32(code).ok_or_else(bad)?;
            let mut buf = [0u8; 4];
            Ok((ch.encode_utf8(&mut buf).as_bytes().to_vec(), 1 + n))
        }
        _ => Err(bad()),
    }
}

/// etcdctl's `Argify`: words split on white space, where a word is a `"double-quoted"` Go
/// string (unquoted), a `'single-quoted'` string (taken as is) or a run of other characters.
pub fn argify(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut args = Vec::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            if let Some(len) = double_quoted_len(rest) {
                let (word, _) = unquote_prefix(&rest[..len])?;
                args.push(word);
                rest = &rest[len..];
                continue;
            }
        } else if c == '\'' {
            if let Some(end) = rest[1..].find('\'') {
                args.push(rest.as_bytes()[1..1 + end].to_vec());
                rest = &rest[end + 2..];
                continue;
            }
        } else if !c.is_whitespace() {
            let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            args.push(rest.as_bytes()[..len].to_vec());
            rest = &rest[len..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(args)
}

/// The length of a `"…"` word as etcdctl's pattern `"(?:[^"\\]|\\.)*"` finds it.
fn double_quoted_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' if bytes.get(i + 1).is_some_and(|b| *b != b'\n') => i += 2,
            b'\\' => return None,
            _ => i += 1,
        }
    }
    None
}

/// A compare line: `target("key") op "value"`.
#[derive(Debug, PartialEq, Eq)]
pub struct Cmp {
    pub target: String,
    pub key: Vec<u8>,
    pub op: String,
    pub value: Vec<u8>,
}

/// Parses a compare as etcdctl's `ParseCompare` does (`fmt.Sscanf(rest, "%q) %s %q")`).
pub fn compare(line: &str) -> Result<Cmp, String> {
    let Some((target, rest)) = line.split_once('(') else {
        return Err(format!("malformed comparison: {line}"));
    };
    let (mut key, mut op, mut value) = (Vec::new(), String::new(), Vec::new());
    let scanned = (|| -> Option<()> {
        let (k, rest) = unquote_prefix(rest).ok()?;
        key = k;
        let rest = rest.strip_prefix(')')?.trim_start();
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        op = rest[..len].to_string();
        let (v, _) = unquote_prefix(rest[len..].trim_start()).ok()?;
        value = v;
        Some(())
    })();
    if scanned.is_none() {
        let q = |b: &[u8]| crate::v3::output::fields::quote(b);
        return Err(format!(
            "malformed comparison: {line}; got {target}({}) {op} {}",
            q(&key),
            q(&value)
        ));
    }
    Ok(Cmp {
        target: target.to_string(),
        key,
        op,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_as_etcdctl() {
        let words = argify(r#"put "a b" 'c d' e\x "f\x41\n" g"#).unwrap();
        let expect: Vec<&[u8]> = vec![b"put", b"a b", b"c d", b"e\\x", b"fA\n", b"g"];
        assert_eq!(words, expect);
    }

    #[test]
    fn parses_compares() {
        let c = compare(r#"mod("key1") > "0""#).unwrap();
        assert_eq!(
            c,
            Cmp {
                target: "mod".into(),
                key: b"key1".to_vec(),
                op: ">".into(),
                value: b"0".to_vec()
            }
        );
        assert!(compare("nonsense")
            .unwrap_err()
            .starts_with("malformed comparison: nonsense"));
        let e = compare(r#"val("k") ="#).unwrap_err();
        assert_eq!(e, r#"malformed comparison: val("k") =; got val("k") = """#);
    }
}
