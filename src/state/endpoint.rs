//! What the cockpit knows of one endpoint: its last answer, and whether it is
//! still answering.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::events::{EndpointKind, EndpointSample};

/// Missed intervals after which figures count as stale.
pub const STALE_AFTER_INTERVALS: u32 = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointState {
    pub name: String,
    pub kind: EndpointKind,
    /// The last figures the endpoint gave; kept (and greyed) while it is away.
    pub last: Option<EndpointSample>,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// Set while the endpoint does not answer: since when, and why.
    pub down: Option<(DateTime<Utc>, String)>,
}

/// Whether an endpoint's figures can be trusted right now.
#[derive(Clone, Debug, PartialEq)]
pub enum Freshness {
    Live,
    /// Answering, but not recently: figures are `age` old.
    Stale {
        age: chrono::Duration,
    },
    /// Not answering; its last figures (if any) are `age` old.
    Unreachable {
        age: Option<chrono::Duration>,
        error: String,
    },
}

impl Freshness {
    #[must_use]
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Live)
    }
}

impl EndpointState {
    #[must_use]
    pub fn new(name: &str, kind: EndpointKind) -> Self {
        Self { name: name.to_owned(), kind, last: None, last_ok_at: None, down: None }
    }

    #[must_use]
    pub fn freshness(&self, now: Option<DateTime<Utc>>, interval: Duration) -> Freshness {
        let age = match (now, self.last_ok_at) {
            (Some(now), Some(ok)) => Some(now - ok),
            _ => None,
        };
        if let Some((_, error)) = &self.down {
            return Freshness::Unreachable { age, error: error.clone() };
        }
        let limit = chrono::Duration::from_std(interval * STALE_AFTER_INTERVALS).unwrap_or(chrono::Duration::MAX);
        match age {
            Some(age) if age > limit => Freshness::Stale { age },
            _ => Freshness::Live,
        }
    }
}
