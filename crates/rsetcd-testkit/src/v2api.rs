//! Whether a node serves etcd's v2 API, and how: the flags that say so.

/// Whether and how a node serves the v2 HTTP API (`/v2/keys`…).
///
/// The default is [`V2Api::Enabled`] unless `$RSETCD_ETCD_V2` says otherwise: `off` (or `0`,
/// `false`, `no`) gives [`V2Api::Disabled`], `v2v3:<prefix>` gives [`V2Api::Emulated`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum V2Api {
    /// `--enable-v2=true`: the v2 store (etcd 3.4 and 3.5; 3.6 refuses the flag).
    #[default]
    Enabled,
    /// No v2 flag at all: etcd 3.4 and 3.5 then answer every `/v2/...` path with 404, and etcd 3.6
    /// (which knows no v2 flag) starts.
    Disabled,
    /// `--enable-v2=true --experimental-enable-v2v3=<prefix>`: etcd's own emulation of the v2 API
    /// on the v3 keyspace under `prefix` (etcd 3.4 and 3.5 only).
    Emulated(String),
}

impl V2Api {
    /// The mode `$RSETCD_ETCD_V2` asks for, [`V2Api::Enabled`] when unset or unknown.
    pub fn from_env() -> V2Api {
        std::env::var("RSETCD_ETCD_V2")
            .map(|v| V2Api::parse(&v))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> V2Api {
        let text = text.trim();
        if let Some(prefix) = text.strip_prefix("v2v3:") {
            return V2Api::Emulated(prefix.to_string());
        }
        match text.to_ascii_lowercase().as_str() {
            "off" | "0" | "false" | "no" | "disabled" => V2Api::Disabled,
            _ => V2Api::Enabled,
        }
    }

    /// The etcd flags for this mode.
    pub fn args(&self) -> Vec<String> {
        match self {
            V2Api::Enabled => vec!["--enable-v2=true".into()],
            V2Api::Disabled => Vec::new(),
            V2Api::Emulated(prefix) => vec![
                "--enable-v2=true".into(),
                format!("--experimental-enable-v2v3={prefix}"),
            ],
        }
    }

    /// Whether `/v2/keys` is served (by the v2 store or the emulation).
    pub fn serves_v2(&self) -> bool {
        !matches!(self, V2Api::Disabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_give_their_flags() {
        assert_eq!(V2Api::Enabled.args(), ["--enable-v2=true"]);
        assert!(V2Api::Disabled.args().is_empty(), "no v2 flag at all");
        assert_eq!(
            V2Api::Emulated("/v2c".into()).args(),
            ["--enable-v2=true", "--experimental-enable-v2v3=/v2c"]
        );
        assert_eq!(V2Api::parse("off"), V2Api::Disabled);
        assert_eq!(V2Api::parse("OFF"), V2Api::Disabled);
        assert_eq!(V2Api::parse("v2v3:/p"), V2Api::Emulated("/p".into()));
        assert_eq!(V2Api::parse("on"), V2Api::Enabled);
        assert!(!V2Api::Disabled.serves_v2());
    }
}
