//! landscape: takes a bare Kubernetes cluster to a production-grade platform in one
//! command.
//!
//! Data flows one way: a [`stack`] (profile + user stack + values) becomes a [`plan`]
//! (the dependency graph), whose components are fetched ([`source`]) and rendered
//! ([`render`]) into objects, which the [`engine`] applies to the [`cluster`] and gates
//! on [`health`], reporting [`report::Event`]s along the way. [`prepare`] strings the
//! offline half together for every command. What landscape may do to an object is decided
//! in one place, [`ownership`], from what the [`inventory`] records; Kubernetes itself is
//! described in [`k8s`].

pub mod assets;
pub mod cancel;
pub mod cleanup;
pub mod cluster;
pub mod diff;
pub mod doctor;
pub mod duration;
pub mod engine;
mod error;
pub mod files;
pub mod fleet;
pub mod health;
pub mod inventory;
pub mod k8s;
pub mod lint;
pub mod ownership;
pub mod plan;
pub mod prepare;
pub mod process;
pub mod render;
pub mod report;
pub mod review;
pub mod source;
pub mod stack;
pub mod yaml;

pub use error::{Error, ExitCode, Result, not_installed};
