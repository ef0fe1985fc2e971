//! Histories: each operation with its invocation and completion times, its arguments and what it
//! returned, or `None` when its outcome is unknown (it may have taken effect, once, at any point
//! after its invocation, or never).

use std::collections::HashMap;

/// Nanoseconds since the recorder started.
pub type Time = u64;

/// One recorded operation of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op<I, O> {
    /// The client that issued it (operations of one client never overlap).
    pub client: usize,
    /// When it was invoked.
    pub call: Time,
    /// When it completed (for an unknown outcome: when the client gave up on it).
    pub ret: Time,
    /// What was asked.
    pub input: I,
    /// What was answered; `None` when the outcome is unknown ("may have happened").
    pub output: Option<O>,
    /// For an unknown outcome, the error the client reported.
    pub error: Option<String>,
}

impl<I, O> Op<I, O> {
    /// Whether the outcome is unknown.
    pub fn is_unknown(&self) -> bool {
        self.output.is_none()
    }
}

/// A string interned as a small number (keys and values), so that model states are `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

/// Interns strings: the same string always gets the same [`Sym`].
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<String, Sym>,
    names: Vec<String>,
}

impl Interner {
    /// The symbol of `s`, made on first use.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = Sym(u32::try_from(self.names.len()).unwrap_or(u32::MAX));
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    /// The symbol of `s`, if it was interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The string of a symbol (`"?"` for one this interner never made).
    pub fn name(&self, id: Sym) -> &str {
        self.names.get(id.0 as usize).map_or("?", String::as_str)
    }

    /// How many strings are interned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable() {
        let mut i = Interner::default();
        let a = i.intern("/a");
        let b = i.intern("/b");
        assert_ne!(a, b);
        assert_eq!(i.intern("/a"), a);
        assert_eq!(i.name(b), "/b");
        assert_eq!(i.get("/c"), None);
        assert_eq!(i.name(Sym(99)), "?");
        assert_eq!(i.len(), 2);
    }
}
