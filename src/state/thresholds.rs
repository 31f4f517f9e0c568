//! ok / warn / critical lines for every gauge, with defaults an operator would
//! pick; runbooks and inventories override them (later issues).

use serde::{Deserialize, Serialize};

/// How a figure stands against its thresholds. Ordered: worse is greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warn,
    Critical,
}

impl Level {
    /// The level of `value` against a warn and a critical line (higher is worse).
    #[must_use]
    pub fn of(value: f64, limits: Limits) -> Self {
        if value >= limits.critical {
            Self::Critical
        } else if value >= limits.warn {
            Self::Warn
        } else {
            Self::Ok
        }
    }

    /// The word shown beside colour, so colour is never the only signal.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "WARN",
            Self::Critical => "CRIT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub warn: f64,
    pub critical: f64,
}

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub lag_seconds: Limits,
    pub lag_bytes: Limits,
    pub slot_retained_bytes: Limits,
    pub disk_used_pct: Limits,
    pub connections_used_pct: Limits,
    pub lock_waiters: Limits,
    pub clients_waiting: Limits,
    pub oldest_xact_seconds: Limits,
    /// How long the oldest WAL file not yet archived has waited.
    pub archive_lag_seconds: Limits,
    /// Since the newest backup finished.
    pub backup_age_seconds: Limits,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            lag_seconds: Limits { warn: 1.0, critical: 30.0 },
            lag_bytes: Limits { warn: 16.0 * MIB, critical: 1.0 * GIB },
            slot_retained_bytes: Limits { warn: 2.0 * GIB, critical: 10.0 * GIB },
            disk_used_pct: Limits { warn: 70.0, critical: 85.0 },
            connections_used_pct: Limits { warn: 80.0, critical: 95.0 },
            lock_waiters: Limits { warn: 1.0, critical: 10.0 },
            clients_waiting: Limits { warn: 1.0, critical: 20.0 },
            oldest_xact_seconds: Limits { warn: 60.0, critical: 600.0 },
            archive_lag_seconds: Limits { warn: 60.0, critical: 600.0 },
            // A daily backup with some slack; a week without one is no way back.
            backup_age_seconds: Limits { warn: 26.0 * 3600.0, critical: 7.0 * 86_400.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_lines() {
        let l = Limits { warn: 70.0, critical: 85.0 };
        assert_eq!(Level::of(69.9, l), Level::Ok);
        assert_eq!(Level::of(70.0, l), Level::Warn);
        assert_eq!(Level::of(85.0, l), Level::Critical);
        assert!(Level::Critical > Level::Warn && Level::Warn > Level::Ok);
    }
}
