//! Fleets: one runbook over many members (shards), in waves. Each member is
//! a run of its own, with its own journal; the fleet decides which member
//! starts when, and keeps a journal of those decisions.

pub mod drill;
pub mod driver;
pub mod file;
pub mod journal;
pub mod row;
pub mod schedule;
pub mod view;
