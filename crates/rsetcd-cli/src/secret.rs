//! A command-line value that holds a password (`--password`, `--user name:password`): its `Debug`
//! never shows it.

use std::fmt;
use std::ops::Deref;

/// A string with a password in it; `Debug` prints the part before a `:` (a user name) and `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// For clap: any string.
    pub fn parse(s: &str) -> Result<Secret, std::convert::Infallible> {
        Ok(Secret(s.to_string()))
    }
}

impl Deref for Secret {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once(':') {
            Some((name, _)) => write!(f, "\"{name}:***\""),
            None => f.write_str("\"***\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_hides_the_password() {
        assert_eq!(
            format!("{:?}", Secret("root:hunter2".into())),
            "\"root:***\""
        );
        assert_eq!(
            format!("{:?}", Some(Secret("hunter2".into()))),
            "Some(\"***\")"
        );
    }
}
