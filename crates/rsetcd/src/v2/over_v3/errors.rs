//! The errors the v2 store gives, with its messages and causes, as [`Error::Etcd`].

use crate::error::{Error, EtcdCode};

use super::layout::V2Path;

/// etcd's message for a v2 error code (etcd 3.4's `v2error` table).
pub(crate) fn message(code: EtcdCode) -> &'static str {
    match code {
        EtcdCode::KeyNotFound => "Key not found",
        EtcdCode::TestFailed => "Compare failed",
        EtcdCode::NotFile => "Not a file",
        EtcdCode::NotDir => "Not a directory",
        EtcdCode::NodeExist => "Key already exists",
        EtcdCode::RootReadOnly => "Root is read only",
        EtcdCode::DirNotEmpty => "Directory not empty",
        EtcdCode::PrevValueRequired => "PrevValue is Required in POST form",
        EtcdCode::RefreshValue => "Value provided on refresh",
        EtcdCode::RefreshTtlRequired => "A TTL must be provided on refresh",
        EtcdCode::RaftInternal => "Raft Internal Error",
        EtcdCode::EventIndexCleared => "The event in requested index is outdated and cleared",
        _ => "",
    }
}

/// A v2 error with its message, `cause` and the index it happened at.
pub(crate) fn etcd(code: EtcdCode, cause: impl Into<String>, index: u64) -> Error {
    let cause = cause.into();
    Error::Etcd {
        code,
        message: message(code).to_string(),
        cause: (!cause.is_empty()).then_some(cause),
        index,
    }
}

/// An error about a node: the cause is its path.
pub(crate) fn at(code: EtcdCode, path: &V2Path, index: u64) -> Error {
    etcd(code, path.as_str(), index)
}

/// A request the v2 server refuses before touching the store (index 0, as etcd sends).
pub(crate) fn request(code: EtcdCode, cause: &str) -> Error {
    etcd(code, cause, 0)
}

/// The cause of a failed compare-and-swap / compare-and-delete, as the v2 store words it: the
/// value part, the index part, or both (value first).
pub(crate) fn compare_cause(
    prev_value: Option<&str>,
    value: &str,
    prev_index: Option<u64>,
    modified_index: u64,
) -> String {
    let value_ok = prev_value.is_none_or(|v| v == value);
    let index_ok = prev_index.is_none_or(|i| i == modified_index);
    let pv = prev_value.unwrap_or("");
    let pi = prev_index.unwrap_or(0);
    match (value_ok, index_ok) {
        (true, false) => format!("[{pi} != {modified_index}]"),
        (false, true) => format!("[{pv} != {value}]"),
        _ => format!("[{pv} != {value}] [{pi} != {modified_index}]"),
    }
}

/// How many times a write is tried again after another client changed what it read.
pub(crate) const MAX_ATTEMPTS: usize = 64;

/// The error after [`MAX_ATTEMPTS`] attempts all lost to concurrent writes (nothing was written).
pub(crate) fn contention(path: &V2Path, index: u64) -> Error {
    etcd(
        EtcdCode::RaftInternal,
        format!(
            "v2 over v3: {MAX_ATTEMPTS} attempts on {path} lost to concurrent writes; nothing was written"
        ),
        index,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_causes_read_as_the_v2_store_writes_them() {
        assert_eq!(compare_cause(Some("y"), "z", None, 17), "[y != z]");
        assert_eq!(compare_cause(None, "z", Some(3), 17), "[3 != 17]");
        assert_eq!(
            compare_cause(Some("nope"), "z", Some(3), 17),
            "[nope != z] [3 != 17]"
        );
        assert_eq!(
            compare_cause(Some("z"), "z", Some(3), 17),
            "[3 != 17]",
            "only the part that failed"
        );
    }

    #[test]
    fn errors_carry_code_message_cause_and_index() {
        let e = at(EtcdCode::KeyNotFound, &V2Path::parse("/k").unwrap(), 8);
        assert_eq!(e.code(), Some(EtcdCode::KeyNotFound));
        assert_eq!(e.index(), Some(8));
        assert!(e.to_string().contains("Key not found (/k)"), "{e}");
        let e = request(EtcdCode::RefreshTtlRequired, "");
        assert!(matches!(
            e,
            Error::Etcd {
                cause: None,
                index: 0,
                ..
            }
        ));
    }
}
