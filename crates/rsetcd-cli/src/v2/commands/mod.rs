//! The v2 commands: one module per group.

pub mod auth;
pub mod keys;
pub mod member;
pub mod watch;
