//! The simple format's shared pieces: a key-value pair as two lines (etcdctl's `printKV`).

use rsetcd::v3::KeyValue;

use super::Out;

/// `\x2f\x61` for `/a`: etcdctl's `--hex` rendering of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 4);
    for b in bytes {
        s.push_str(&format!("\\x{b:02x}"));
    }
    s
}

/// The key line (unless `--print-value-only`) and the value line.
pub fn kv(out: &mut Out, kv: &KeyValue) {
    if out.hex {
        let (k, v) = (hex(&kv.key), hex(&kv.value));
        if !out.value_only {
            out.line(&k);
        }
        out.line(&v);
    } else {
        if !out.value_only {
            out.bytes_raw(&kv.key);
            out.bytes_raw(b"\n");
        }
        out.bytes_raw(&kv.value);
        out.bytes_raw(b"\n");
    }
}
