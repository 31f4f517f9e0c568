//! Fleets: one runbook over many members (shards), in waves. Each member is
//! a run of its own, with its own journal; the fleet decides which member
//! starts when, and keeps a journal of those decisions.

pub mod row;
pub mod view;
