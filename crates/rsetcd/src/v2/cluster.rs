//! Cluster operations: members, leader, health, versions, statistics, member sync.

use std::fmt;
use std::str::FromStr;

use super::transport::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::Client;
use super::response::{empty_answer, json_answer, null_as_empty, text_answer};
use super::stats::{LeaderStats, SelfStats, StoreStats};
use super::transport::{Body, Request, Retry};
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};

/// A member ID: etcd writes it as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

impl FromStr for MemberId {
    type Err = Error;
    fn from_str(s: &str) -> Result<MemberId> {
        u64::from_str_radix(s.trim(), 16)
            .map(MemberId)
            .map_err(|_| Error::InvalidArgument(format!("member id {s:?} is not a hex number")))
    }
}

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A cluster member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The member ID.
    pub id: MemberId,
    /// The name (`""` for a member added but not started yet).
    #[serde(default)]
    pub name: String,
    /// Peer URLs.
    #[serde(rename = "peerURLs", default, deserialize_with = "null_as_empty")]
    pub peer_urls: Vec<String>,
    /// Client URLs (empty for a member added but not started yet).
    #[serde(rename = "clientURLs", default, deserialize_with = "null_as_empty")]
    pub client_urls: Vec<String>,
}

#[derive(Deserialize)]
struct Members {
    #[serde(default, deserialize_with = "null_as_empty")]
    members: Vec<Member>,
}

#[derive(Serialize)]
struct PeerUrls {
    #[serde(rename = "peerURLs")]
    peer_urls: Vec<String>,
}

fn peer_urls_body<I, S>(peer_urls: I) -> Result<Body>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Body::json(&PeerUrls {
        peer_urls: peer_urls.into_iter().map(Into::into).collect(),
    })
}

/// The versions `/version` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The version of the etcd server answering, e.g. `3.4.23`.
    #[serde(rename = "etcdserver")]
    pub server: String,
    /// The version the cluster runs at, e.g. `3.4.0`.
    #[serde(rename = "etcdcluster")]
    pub cluster: String,
}

#[derive(Deserialize)]
struct Health {
    health: String,
}

/// A v3 member as the v2 API shows one.
#[cfg(feature = "v3")]
fn member_of(m: crate::v3::Member) -> Member {
    Member {
        id: MemberId(m.id),
        name: m.name,
        peer_urls: m.peer_ur_ls,
        client_urls: m.client_ur_ls,
    }
}

impl Client {
    /// Lists the cluster's members (over v3: the v3 member list, learners included).
    pub async fn members(&self) -> Result<Vec<Member>> {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            let list = engine.client().member_list().await?;
            return Ok(list.members.into_iter().map(member_of).collect());
        }
        let req = Request::new(Method::Get, self.api_path("members"), Retry::Read);
        let members: Members = json_answer(self.transport().send(&req).await?)?;
        Ok(members.members)
    }

    /// Adds a member with these peer URLs; start its etcd with `--initial-cluster-state existing`
    /// afterwards.
    ///
    /// etcd 3.4 checks that the cluster stays healthy: it answers 500 (an [`Error::Http`]) while the
    /// leader has not been connected to every member for a few seconds, or while an added member has
    /// not started yet. A peer URL already in use is 409.
    pub async fn add_member<I, S>(&self, peer_urls: I) -> Result<Member>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            let urls: Vec<String> = peer_urls.into_iter().map(Into::into).collect();
            let added = engine.client().member_add(urls, false).await?;
            return added
                .member
                .map(member_of)
                .ok_or_else(|| Error::InvalidResponse {
                    endpoint: String::new(),
                    reason: "MemberAdd answered without the member".into(),
                });
        }
        let body = peer_urls_body(peer_urls)?;
        let req = Request::new(Method::Post, self.api_path("members"), Retry::Write).body(body);
        json_answer(self.transport().send(&req).await?)
    }

    /// Changes a member's peer URLs.
    pub async fn update_member<I, S>(&self, id: MemberId, peer_urls: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            let urls: Vec<String> = peer_urls.into_iter().map(Into::into).collect();
            engine.client().member_update(id.0, urls).await?;
            return Ok(());
        }
        let body = peer_urls_body(peer_urls)?;
        let path = self.api_path(&format!("members/{id}"));
        let req = Request::new(Method::Put, path, Retry::Write).body(body);
        empty_answer(self.transport().send(&req).await?)
    }

    /// Removes a member from the cluster (its etcd process stops serving).
    pub async fn remove_member(&self, id: MemberId) -> Result<()> {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            engine.client().member_remove(id.0).await?;
            return Ok(());
        }
        let path = self.api_path(&format!("members/{id}"));
        let req = Request::new(Method::Delete, path, Retry::Write);
        empty_answer(self.transport().send(&req).await?)
    }

    /// The current leader (503 "During election" without quorum arrives as [`Error::Http`];
    /// over v3: the leader the answering member's status names, from the v3 member list).
    pub async fn leader(&self) -> Result<Member> {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            let v3 = engine.client();
            let leader = v3.status().await?.leader;
            let list = v3.member_list().await?;
            return list
                .members
                .into_iter()
                .find(|m| m.id == leader && leader != 0)
                .map(member_of)
                .ok_or_else(|| Error::InvalidResponse {
                    endpoint: String::new(),
                    reason: format!("the leader {leader:x} is not in the member list"),
                });
        }
        let req = Request::new(Method::Get, self.api_path("members/leader"), Retry::Read);
        json_answer(self.transport().send(&req).await?)
    }

    /// Whether the endpoint answering is healthy: `Ok(false)` when it answers `{"health":"false"}`
    /// (no quorum); an error when no endpoint answers in time.
    pub async fn health(&self) -> Result<bool> {
        let req = Request::new(Method::Get, "/health".into(), Retry::Probe);
        let raw = match self.transport().send(&req).await {
            // A probe's server-failure answer is final: the member said it is unhealthy.
            Err(Error::Http { status: 503, .. }) => return Ok(false),
            other => other?,
        };
        let health: Health = json_answer(raw)?;
        Ok(health.health == "true")
    }

    /// The server and cluster versions.
    pub async fn version(&self) -> Result<Version> {
        let req = Request::new(Method::Get, "/version".into(), Retry::Read);
        json_answer(self.transport().send(&req).await?)
    }

    /// The version of the etcd server answering.
    pub async fn version_server(&self) -> Result<String> {
        Ok(self.version().await?.server)
    }

    /// The version the cluster runs at.
    pub async fn version_cluster(&self) -> Result<String> {
        Ok(self.version().await?.cluster)
    }

    /// The Prometheus metrics of the member answering, in the text exposition format etcd
    /// serves at `/metrics` on its client URLs (with or without the v2 API).
    pub async fn metrics(&self) -> Result<String> {
        let req = Request::new(Method::Get, "/metrics".into(), Retry::Read);
        text_answer(self.transport().send(&req).await?)
    }

    /// Statistics of the member answering.
    pub async fn self_stats(&self) -> Result<SelfStats> {
        self.v2_only("the v2 statistics API").await?;
        let req = Request::new(Method::Get, self.api_path("stats/self"), Retry::Read);
        json_answer(self.transport().send(&req).await?)
    }

    /// The leader's view of its followers. A follower answers 403 "not current leader", which
    /// arrives as [`Error::Http`] with status 403.
    pub async fn leader_stats(&self) -> Result<LeaderStats> {
        self.v2_only("the v2 statistics API").await?;
        let req = Request::new(Method::Get, self.api_path("stats/leader"), Retry::Read);
        json_answer(self.transport().send(&req).await?)
    }

    /// The store's operation counters on the member answering.
    pub async fn store_stats(&self) -> Result<StoreStats> {
        self.v2_only("the v2 statistics API").await?;
        let req = Request::new(Method::Get, self.api_path("stats/store"), Retry::Read);
        json_answer(self.transport().send(&req).await?)
    }

    /// Replaces the endpoint list with the client URLs of every started member, keeping the
    /// endpoint that answered last first. Returns the new list.
    pub async fn sync_members(&self) -> Result<Vec<String>> {
        #[cfg(feature = "v3")]
        if let Some(engine) = self.engine().await? {
            // The v3 client's endpoints, and the HTTP side's for `health` and `version`.
            let urls = engine.client().sync_members().await?;
            let endpoints = urls
                .iter()
                .map(|url| Endpoint::parse(url, Scheme::Http, crate::config::DEFAULT_PORT))
                .collect::<Result<Vec<_>>>()?;
            if !endpoints.is_empty() {
                self.transport().endpoints.replace(endpoints);
            }
            return Ok(urls);
        }
        let members = self.members().await?;
        let mut endpoints = Vec::new();
        for url in members.iter().flat_map(|m| &m.client_urls) {
            let endpoint = Endpoint::parse(url, Scheme::Http, crate::config::DEFAULT_PORT)?;
            if !endpoints.contains(&endpoint) {
                endpoints.push(endpoint);
            }
        }
        if endpoints.is_empty() {
            return Err(Error::InvalidResponse {
                endpoint: self.endpoints().first().cloned().unwrap_or_default(),
                reason: "the member list has no client URLs".into(),
            });
        }
        self.transport().endpoints.replace(endpoints);
        Ok(self.endpoints())
    }
}
