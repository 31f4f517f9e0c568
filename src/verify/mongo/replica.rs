//! The target as a replica-set member that follows the source: how far it
//! is behind (its set's primary optime against its own, from
//! `replSetGetStatus`), and whether it has applied everything the source had
//! written at a given moment (the source's `hello.lastWrite.opTime`). The
//! same two safeguards PostgreSQL's verify has: throttle while the member
//! lags, and recheck a disagreeing range once it has caught up, so
//! documents in flight are not reported as differences.

use std::time::{Duration, Instant};

use mongodb::Database;
use mongodb::bson::{Document, Timestamp, doc};

/// How long to wait for the member to apply what the source had written.
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often to look while waiting.
const POLL: Duration = Duration::from_millis(100);

/// A target that is a secondary: its admin database, the source's, and the
/// lag it may have before verification pauses.
pub struct Follower {
    pub target_admin: Database,
    pub source_admin: Database,
    pub max_lag: Duration,
}

/// The `opTime.ts` of `hello.lastWrite` (a replica-set member's last write).
fn last_write(hello: &Document) -> Option<Timestamp> {
    hello.get_document("lastWrite").ok()?.get_document("opTime").ok()?.get_timestamp("ts").ok()
}

/// From `replSetGetStatus` on the member: its own applied optime, and its
/// lag behind the set's primary (`None` with no primary in sight).
fn member_view(status: &Document) -> (Option<Timestamp>, Option<Duration>) {
    let members = status.get_array("members").map(|m| m.iter().filter_map(|b| b.as_document()).collect::<Vec<_>>());
    let members = members.unwrap_or_default();
    let me = members.iter().find(|m| m.get_bool("self").unwrap_or(false));
    let primary = members.iter().find(|m| m.get_str("stateStr") == Ok("PRIMARY"));
    let applied = me.and_then(|m| m.get_document("optime").ok()).and_then(|o| o.get_timestamp("ts").ok());
    let date = |m: &&Document| m.get_datetime("optimeDate").ok().map(|d| d.timestamp_millis());
    let lag = match (primary.and_then(date), me.and_then(date)) {
        (Some(p), Some(m)) => Some(Duration::from_millis(u64::try_from(p - m).unwrap_or(0))),
        _ => None,
    };
    (applied, lag)
}

impl Follower {
    /// The target follows the source when it is a secondary of a replica set
    /// (`hello.secondary`); `None` otherwise (a primary, a standalone: nothing
    /// to wait for).
    pub async fn of(target_admin: Database, source_admin: Database, max_lag: Duration) -> Option<Self> {
        let hello = target_admin.run_command(doc! { "hello": 1 }).await.ok()?;
        hello.get_bool("secondary").unwrap_or(false).then_some(Self { target_admin, source_admin, max_lag })
    }

    /// Pause while the member is more than `max_lag` behind its primary.
    pub async fn throttle(&self) -> mongodb::error::Result<()> {
        loop {
            let status = self.target_admin.run_command(doc! { "replSetGetStatus": 1 }).await?;
            match member_view(&status).1 {
                Some(lag) if lag > self.max_lag => tokio::time::sleep(Duration::from_secs(1)).await,
                _ => return Ok(()),
            }
        }
    }

    /// Wait (at most [`CATCH_UP_TIMEOUT`]) until the member has applied what
    /// the source had written when this was called.
    pub async fn wait_caught_up(&self) -> mongodb::error::Result<()> {
        let hello = self.source_admin.run_command(doc! { "hello": 1 }).await?;
        let Some(wanted) = last_write(&hello) else { return Ok(()) };
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        while Instant::now() < deadline {
            let status = self.target_admin.run_command(doc! { "replSetGetStatus": 1 }).await?;
            if member_view(&status)
                .0
                .is_some_and(|applied| (applied.time, applied.increment) >= (wanted.time, wanted.increment))
            {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::DateTime;

    fn member(state: &str, me: bool, ts: u32, millis: i64) -> Document {
        doc! {
            "stateStr": state, "self": me,
            "optime": { "ts": Timestamp { time: ts, increment: 1 }, "t": 1_i64 },
            "optimeDate": DateTime::from_millis(millis),
        }
    }

    #[test]
    fn a_member_sees_its_applied_optime_and_its_lag_behind_the_primary() {
        let status =
            doc! { "members": [member("PRIMARY", false, 110, 110_000), member("SECONDARY", true, 100, 100_500)] };
        let (applied, lag) = member_view(&status);
        assert_eq!(applied, Some(Timestamp { time: 100, increment: 1 }));
        assert_eq!(lag, Some(Duration::from_millis(9_500)));
        let alone = doc! { "members": [member("SECONDARY", true, 100, 100_000)] };
        assert_eq!(member_view(&alone).1, None, "no primary in sight: no lag figure");
    }

    #[test]
    fn the_last_write_comes_from_hello() {
        let hello = doc! { "lastWrite": { "opTime": { "ts": Timestamp { time: 7, increment: 3 }, "t": 1_i64 } } };
        assert_eq!(last_write(&hello), Some(Timestamp { time: 7, increment: 3 }));
        assert_eq!(last_write(&doc! {}), None);
    }
}
