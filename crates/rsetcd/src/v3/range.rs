//! What the builders of key ranges share: a key and the end of its range, as etcd's requests
//! carry them, and the three ways of making a range (`prefix`, `range_end`, `from_key`), written
//! once for every builder that has them.

use bytes::Bytes;

pub(crate) fn bytes(b: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(b.as_ref())
}

/// The end of the range of every key starting with `prefix` (etcd's `range_end` for a prefix):
/// the prefix with its last byte below 0xff incremented. An empty prefix, or one of only 0xff
/// bytes, gives `"\0"`, which with the key means "every key from there on".
pub fn prefix_end(prefix: &[u8]) -> Bytes {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end.into();
        }
    }
    Bytes::from_static(b"\0")
}

/// A builder of something that applies to a key or a range of keys.
pub(crate) trait KeyRange {
    /// The key and the end of the range (empty: the key alone).
    fn key_range(&mut self) -> (&mut Bytes, &mut Bytes);

    /// Every key starting with the key (every key, for an empty key).
    fn set_prefix(&mut self) {
        let (key, end) = self.key_range();
        if key.is_empty() {
            *key = Bytes::from_static(b"\0");
            *end = Bytes::from_static(b"\0");
        } else {
            *end = prefix_end(key);
        }
    }
}

/// The range options of a builder that implements [`KeyRange`]; `$what` begins their docs
/// ("Every key", "Watches every key"…).
macro_rules! range_options {
    ($what:literal) => {
        #[doc = concat!($what, " starting with the key given (every key, for an empty key).")]
        pub fn prefix(mut self) -> Self {
            $crate::v3::range::KeyRange::set_prefix(&mut self);
            self
        }

        #[doc = concat!($what, " from the key given up to `end`, excluded (`\"\\0\"`: every key from the key on).")]
        pub fn range_end(mut self, end: impl AsRef<[u8]>) -> Self {
            *$crate::v3::range::KeyRange::key_range(&mut self).1 = $crate::v3::range::bytes(end);
            self
        }

        #[doc = concat!($what, " greater than or equal to the key given.")]
        pub fn from_key(mut self) -> Self {
            *$crate::v3::range::KeyRange::key_range(&mut self).1 = bytes::Bytes::from_static(b"\0");
            self
        }
    };
}
pub(crate) use range_options;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/a"), Bytes::from_static(b"/b"));
        assert_eq!(prefix_end(b"a\xff"), Bytes::from_static(b"b"));
        assert_eq!(prefix_end(b"\xff\xff"), Bytes::from_static(b"\0"));
        assert_eq!(prefix_end(b""), Bytes::from_static(b"\0"));
    }

    struct R(Bytes, Bytes);
    impl KeyRange for R {
        fn key_range(&mut self) -> (&mut Bytes, &mut Bytes) {
            (&mut self.0, &mut self.1)
        }
    }

    #[test]
    fn an_empty_prefix_is_every_key() {
        let mut r = R(Bytes::new(), Bytes::new());
        r.set_prefix();
        assert_eq!((&r.0[..], &r.1[..]), (&b"\0"[..], &b"\0"[..]));
        let mut r = R(Bytes::from_static(b"/k/"), Bytes::new());
        r.set_prefix();
        assert_eq!(&r.1[..], b"/k0");
    }
}
