//! Which etcd binaries the test kit runs, and their version.
//!
//! - `etcd`: `$RSETCD_ETCD_BIN` when set, else `etcd` on `PATH`.
//! - `etcdctl`: `$RSETCD_ETCDCTL_BIN` when set; else the `etcdctl` beside `$RSETCD_ETCD_BIN` when
//!   there is one (the etcd 3.5.1 that `scripts/install-etcd.sh --with-3.5` installs comes with
//!   its `etcdctl`); else `etcdctl` on `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `etcd` binary nodes run: `$RSETCD_ETCD_BIN`, else `etcd` (looked up on `PATH`).
pub fn etcd_bin() -> PathBuf {
    std::env::var_os("RSETCD_ETCD_BIN").map_or_else(|| PathBuf::from("etcd"), PathBuf::from)
}

/// The `etcdctl` matching [`etcd_bin`]: `$RSETCD_ETCDCTL_BIN`, else the `etcdctl` in the
/// directory of `$RSETCD_ETCD_BIN` if it exists there, else `etcdctl` (looked up on `PATH`).
pub fn etcdctl_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("RSETCD_ETCDCTL_BIN") {
        return PathBuf::from(bin);
    }
    std::env::var_os("RSETCD_ETCD_BIN")
        .map(PathBuf::from)
        .and_then(|etcd| etcd.parent().map(|dir| dir.join("etcdctl")))
        .filter(|ctl| ctl.is_file())
        .unwrap_or_else(|| PathBuf::from("etcdctl"))
}

/// An etcd release: `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// 3 for every etcd 3.x.
    pub major: u32,
    /// 4 for 3.4.23, 5 for 3.5.1.
    pub minor: u32,
    /// 23 for 3.4.23.
    pub patch: u32,
}

impl Version {
    /// `Version { major, minor, patch }`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Reads the version from `--version` output (`etcd Version: 3.5.1`, `etcdctl version: 3.5.1`).
    pub fn parse_version_output(text: &str) -> Option<Version> {
        let line = text
            .lines()
            .find(|l| l.to_ascii_lowercase().contains("version:"))?;
        let (_, number) = line.split_once(':')?;
        let mut parts = number.trim().split('.');
        let mut next = || -> Option<u32> {
            let digits: String = parts
                .next()?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        Some(Version::new(next()?, next()?, next()?))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Runs `bin` with `args` and reads the version it prints.
fn version_of(bin: &Path, args: &[&str]) -> Option<Version> {
    // etcdctl prints its version with `version` (v3; `--version` is a v2-only flag).
    let out = Command::new(bin)
        .args(args)
        .env("ETCDCTL_API", "3")
        .output()
        .ok()?;
    Version::parse_version_output(&String::from_utf8_lossy(&out.stdout))
}

/// The version of [`etcd_bin`] (asked once per process), `None` if it cannot be run.
pub fn etcd_version() -> Option<Version> {
    static KNOWN: OnceLock<Option<Version>> = OnceLock::new();
    *KNOWN.get_or_init(|| version_of(&etcd_bin(), &["--version"]))
}

/// The version of [`etcdctl_bin`] (asked once per process), `None` if it cannot be run.
pub fn etcdctl_version() -> Option<Version> {
    static KNOWN: OnceLock<Option<Version>> = OnceLock::new();
    *KNOWN.get_or_init(|| version_of(&etcdctl_bin(), &["version"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_both_tools() {
        let etcd = "etcd Version: 3.5.1\nGit SHA: e8732fb5f\nGo Version: go1.16.3\n";
        assert_eq!(
            Version::parse_version_output(etcd),
            Some(Version::new(3, 5, 1))
        );
        let ctl = "etcdctl version: 3.4.23\nAPI version: 2\n";
        assert_eq!(
            Version::parse_version_output(ctl),
            Some(Version::new(3, 4, 23))
        );
        assert_eq!(Version::parse_version_output("nothing here"), None);
        assert!(Version::new(3, 5, 1) > Version::new(3, 4, 23));
        assert_eq!(Version::new(3, 5, 1).to_string(), "3.5.1");
    }
}
