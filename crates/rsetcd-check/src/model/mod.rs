//! Sequential models of etcd's key spaces, per key: [`v2`] (the v2 store: values, modified and
//! created indexes) and [`v3`] (mvcc: values, revisions, versions, leases, transactions).
//!
//! A model state holds one [`Slot`] per key the partition touches. A revision (or v2 index) of a
//! write whose answer was lost is not known: it is kept as [`Known::After`] (greater than the
//! key's previous one) and pinned down by the first answer that shows it.

pub mod v2;
pub mod v3;

use crate::history::Sym;

/// A revision or index that is known, or only known to be greater than a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Known {
    /// Exactly this.
    Is(i64),
    /// Some value greater than this.
    After(i64),
}

impl Known {
    /// The greatest value known to be at most this one.
    pub fn floor(self) -> i64 {
        match self {
            Known::Is(v) | Known::After(v) => v,
        }
    }

    /// This, pinned to `seen` when that is possible.
    pub fn refine(self, seen: i64) -> Option<Known> {
        match self {
            Known::Is(v) => (v == seen).then_some(self),
            Known::After(a) => (seen > a).then_some(Known::Is(seen)),
        }
    }

    /// The outcomes of `self == x`: `(true, refined)` and/or `(false, unchanged)`.
    pub fn equals(self, x: i64) -> Vec<(bool, Known)> {
        match self {
            Known::Is(v) => vec![(v == x, self)],
            Known::After(a) if x > a => vec![(true, Known::Is(x)), (false, self)],
            Known::After(_) => vec![(false, self)],
        }
    }
}

/// What the model knows of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot<N> {
    /// The key's node, `None` while the key does not exist.
    pub node: Option<N>,
    /// The revision (index) of the key's last write, deletes included.
    pub last: Known,
}

impl<N> Default for Slot<N> {
    fn default() -> Self {
        Slot {
            node: None,
            last: Known::Is(0),
        }
    }
}

/// The slots of a partition's keys, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slots<N>(pub Vec<(Sym, Slot<N>)>);

impl<N> Default for Slots<N> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<N: Copy> Slots<N> {
    /// The slot of `key` (an empty one if the key was never written).
    pub fn get(&self, key: Sym) -> Slot<N> {
        match self.0.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => self.0[i].1,
            Err(_) => Slot {
                node: None,
                last: Known::Is(0),
            },
        }
    }

    /// Replaces the slot of `key`.
    pub fn set(&mut self, key: Sym, slot: Slot<N>) {
        match self.0.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => self.0[i].1 = slot,
            Err(i) => self.0.insert(i, (key, slot)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_refines_and_compares() {
        assert_eq!(Known::After(5).refine(6), Some(Known::Is(6)));
        assert_eq!(Known::After(5).refine(5), None);
        assert_eq!(Known::Is(5).refine(5), Some(Known::Is(5)));
        assert_eq!(Known::Is(5).refine(6), None);
        assert_eq!(Known::Is(5).equals(5), vec![(true, Known::Is(5))]);
        assert_eq!(
            Known::After(5).equals(7),
            vec![(true, Known::Is(7)), (false, Known::After(5))]
        );
        assert_eq!(Known::After(5).equals(3), vec![(false, Known::After(5))]);
    }

    #[test]
    fn slots_keep_order() {
        let mut s: Slots<u8> = Slots::default();
        s.set(
            Sym(3),
            Slot {
                node: Some(1),
                last: Known::Is(3),
            },
        );
        s.set(
            Sym(1),
            Slot {
                node: Some(2),
                last: Known::Is(4),
            },
        );
        assert_eq!(s.0[0].0, Sym(1));
        assert_eq!(s.get(Sym(3)).node, Some(1));
        assert_eq!(s.get(Sym(9)).node, None);
    }
}
