//! landscape: takes a bare Kubernetes cluster to a production-grade platform in one
//! command.
//!
//! Data flows one way: a [`stack`] (profile + user stack + values) becomes a [`plan`]
//! (the dependency graph), whose components are fetched ([`source`]) and rendered
//! ([`render`]) into objects, which the [`engine`] applies to the [`cluster`] and gates
//! on [`health`], reporting [`report::Event`]s along the way. [`prepare`] strings the
//! offline half together for every command.

pub mod cluster;
pub mod diff;
pub mod duration;
pub mod engine;
mod error;
pub mod health;
pub mod object;
pub mod plan;
pub mod prepare;
pub mod render;
pub mod report;
pub mod source;
pub mod stack;
pub mod yaml;

pub use error::{Error, ExitCode, Result};
