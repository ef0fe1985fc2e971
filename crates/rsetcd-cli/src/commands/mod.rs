//! One module per group of commands.

pub mod auth;
pub mod dev_cluster;
pub mod keys;
pub mod member;
pub mod v3;
pub mod watch;
