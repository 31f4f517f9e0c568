//! Runs the collectors: one task and one connection per endpoint, a sample
//! every interval, a timeout on every round, reconnection with capped
//! backoff. Everything it learns leaves as an [`Action::Sample`]; it knows
//! nothing of the screen.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{backup, disk, pgbouncer, postgres};
use crate::endpoint::CONNECT_TIMEOUT;
use crate::endpoint::postgres::{Connector, Purpose, short_error};
use crate::events::{Action, EndpointKind, EndpointSample, Reading, Sample};
use crate::inventory::Endpoint;

/// The longest one round of queries may take before the endpoint counts as
/// not answering.
pub const ROUND_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff between reconnection attempts: doubling from the first to the cap.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Every query's `statement_timeout`, so the cockpit can never be the load
/// that holds a struggling server.
pub const STATEMENT_TIMEOUT_MS: u32 = 2000;

/// One endpoint's collector: its connection (when it has one) and session.
pub struct Collector {
    endpoint: Endpoint,
    /// Built once: it holds the loaded root certificates.
    connector: Option<Connector>,
    client: Option<tokio_postgres::Client>,
    session: postgres::Session,
    /// A MongoDB endpoint's driver client (it pools and reconnects itself).
    mongo: Option<mongodb::Client>,
    /// The uri says `directConnection=true`: one member, not the set.
    mongo_direct: bool,
    /// A MySQL endpoint's session, once connected.
    mysql: Option<crate::endpoint::mysql::Session>,
    /// The backup repository's reader, once the endpoint has answered.
    backup: Option<backup::Reader>,
}

impl Collector {
    #[must_use]
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            connector: None,
            client: None,
            session: postgres::Session::default(),
            mongo: None,
            mongo_direct: false,
            mysql: None,
            backup: None,
        }
    }

    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The session the collector reads through, once connected (for
    /// diagnostics and tests: it is read-only on the server).
    #[must_use]
    pub fn client(&self) -> Option<&tokio_postgres::Client> {
        self.client.as_ref()
    }

    async fn connect(&mut self) -> Result<(), String> {
        let connector = match &self.connector {
            Some(c) => c.clone(),
            None => {
                let c = Connector::new(&self.endpoint).map_err(|e| e.to_string())?;
                self.connector = Some(c.clone());
                c
            }
        };
        // A PgBouncer endpoint is its admin console: no SET there, and nothing it could write.
        let settings = match self.endpoint.kind {
            EndpointKind::Postgres => format!(
                "SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET lock_timeout = {STATEMENT_TIMEOUT_MS}; \
                 SET idle_in_transaction_session_timeout = 0"
            ),
            _ => String::new(),
        };
        let client = if self.endpoint.kind == EndpointKind::Postgres {
            connector.connect(Purpose::Reads { settings: &settings }).await.map_err(|e| e.to_string())?.client
        } else {
            crate::endpoint::pgbouncer::connect(&connector).await.map_err(|e| e.to_string())?
        };
        self.client = Some(client);
        self.session = postgres::Session::default();
        Ok(())
    }

    /// One round: connect if needed, then read every figure.
    pub async fn sample(&mut self) -> Reading {
        let mut reading = match tokio::time::timeout(ROUND_TIMEOUT + CONNECT_TIMEOUT, self.round()).await {
            Ok(reading) => reading,
            Err(_) => {
                self.client = None;
                Reading::Unreachable { error: format!("no answer in {}s", (ROUND_TIMEOUT + CONNECT_TIMEOUT).as_secs()) }
            }
        };
        if let (Reading::Observed(observed), Some(source)) = (&mut reading, &self.endpoint.backup) {
            // The first round waits for the repository's first answer, so no
            // gate (or `when`) ever reads an endpoint with a backup as one without.
            let reader = self.backup.get_or_insert_with(|| backup::Reader::start(source.clone()));
            observed.backup = reader.latest(backup::COMMAND_TIMEOUT + Duration::from_secs(1)).await.map(Box::new);
        }
        reading
    }

    async fn round(&mut self) -> Reading {
        match self.endpoint.kind {
            EndpointKind::Mongodb => return self.mongo_round().await,
            EndpointKind::Mysql => return self.mysql_round().await,
            EndpointKind::Postgres | EndpointKind::Pgbouncer => {}
        }
        if self.client.as_ref().is_none_or(tokio_postgres::Client::is_closed) {
            if let Err(error) = self.connect().await {
                self.client = None;
                return Reading::Unreachable { error };
            }
        }
        let Some(client) = self.client.as_ref() else {
            return Reading::Unreachable { error: "not connected".to_owned() };
        };
        let result = match self.endpoint.kind {
            EndpointKind::Pgbouncer => pgbouncer::sample(client).await,
            _ => self.session.sample(client).await,
        };
        match result {
            Ok(mut observed) => {
                let local = self.endpoint.is_local();
                let datadir = self.session.data_directory().filter(|_| local).map(str::to_owned);
                self.local_disk(&mut observed, datadir).await;
                Reading::Observed(observed)
            }
            Err(e) => {
                self.client = None;
                Reading::Unreachable { error: short_error(&e) }
            }
        }
    }

    async fn mongo_round(&mut self) -> Reading {
        let Some(uri) = self.endpoint.mongo.clone() else {
            return Reading::Unreachable { error: "no uri".to_owned() };
        };
        if self.mongo.is_none() {
            match crate::endpoint::mongo::client(&uri, None).await {
                Ok(c) => {
                    self.mongo = Some(c.driver);
                    self.mongo_direct = c.direct;
                }
                Err(error) => return Reading::Unreachable { error },
            }
        }
        let Some(client) = self.mongo.clone() else {
            return Reading::Unreachable { error: "not connected".to_owned() };
        };
        match super::mongo::sample(&client, &uri.database, self.mongo_direct).await {
            Ok(mut observed) => {
                self.local_disk(&mut observed, None).await;
                Reading::Observed(observed)
            }
            Err(e) => Reading::Unreachable { error: crate::endpoint::mongo::short_error(&e) },
        }
    }

    async fn mysql_round(&mut self) -> Reading {
        use crate::endpoint::mysql::{self, Purpose};
        let Some(url) = self.endpoint.mysql.clone() else {
            return Reading::Unreachable { error: "no url".to_owned() };
        };
        if self.mysql.is_none() {
            let limit = Some(Duration::from_millis(u64::from(STATEMENT_TIMEOUT_MS)));
            match mysql::connect(&url, Purpose::Reads { statement_limit: limit, settings: &[] }).await {
                Ok(session) => self.mysql = Some(session),
                Err(error) => return Reading::Unreachable { error: error.to_string() },
            }
        }
        let Some(session) = self.mysql.as_mut() else {
            return Reading::Unreachable { error: "not connected".to_owned() };
        };
        match super::mysql::sample(session).await {
            Ok(mut observed) => {
                // The server's datadir is ours to measure only on its host.
                let datadir = observed.disk.as_ref().map(|d| d.mount.clone()).filter(|_| self.endpoint.is_local());
                if let Some(disk) = observed.disk.as_mut() {
                    disk.mount = String::new();
                }
                self.local_disk(&mut observed, datadir).await;
                Reading::Observed(observed)
            }
            Err(e) => {
                self.mysql = None;
                Reading::Unreachable { error: mysql::short_error(&e) }
            }
        }
    }

    /// Where cutover runs on the database host (or the inventory names a
    /// path), the filesystem's free and total space.
    /// `data_directory`: where the server says its data is, when on this host.
    async fn local_disk(&self, observed: &mut EndpointSample, data_directory: Option<String>) {
        let Some(reading) = observed.disk.as_mut() else { return };
        let path = self.endpoint.disk_path.clone().or_else(|| data_directory.map(PathBuf::from));
        let Some(path) = path else { return };
        let usage = tokio::task::spawn_blocking(move || disk::usage_of(&path)).await.ok().flatten();
        if let Some(usage) = usage {
            reading.mount = usage.mount.display().to_string();
            reading.free_bytes = Some(usage.free_bytes);
            reading.total_bytes = Some(usage.total_bytes);
        }
    }
}

/// Start one collector task per endpoint, sampling every `interval` and
/// sending what it sees to `tx`, until the receiver goes away.
#[must_use]
pub fn spawn(endpoints: Vec<Endpoint>, interval: Duration, tx: &mpsc::Sender<Action>) -> Vec<JoinHandle<()>> {
    endpoints.into_iter().map(|e| tokio::spawn(run(Collector::new(e), interval, tx.clone()))).collect()
}

/// How many collectors this process has started: the next one's place in
/// the interval.
static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Where in the interval collector `k` samples, as a share of it: the
/// golden-ratio sequence, so that however many collectors a process runs (a
/// fleet's hundreds), their rounds spread evenly over the interval instead
/// of all hitting their servers, and the screen, at once.
#[must_use]
pub fn phase(k: u64) -> f64 {
    (k as f64 * 0.618_033_988_749_895).fract()
}

async fn run(mut collector: Collector, interval: Duration, tx: mpsc::Sender<Action>) {
    // The first round at once (the screen wants figures), the others at
    // this collector's place in the interval.
    let k = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut first = true;
    let mut ticker = tokio::time::interval_at(
        // Half an interval to one and a half after the first round.
        tokio::time::Instant::now() + interval.mul_f64(0.5 + phase(k)),
        interval,
    );
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut backoff = BACKOFF_FIRST;
    let mut next_try = Instant::now();
    loop {
        if !std::mem::take(&mut first) {
            ticker.tick().await;
        }
        if Instant::now() < next_try {
            continue;
        }
        let reading = collector.sample().await;
        if matches!(reading, Reading::Unreachable { .. }) {
            next_try = Instant::now() + backoff;
            backoff = (backoff * 2).min(BACKOFF_CAP);
        } else {
            backoff = BACKOFF_FIRST;
        }
        let endpoint = collector.endpoint();
        let sample = Sample { at: Utc::now(), endpoint: endpoint.name.clone(), kind: endpoint.kind, reading };
        if tx.send(Action::Sample(sample)).await.is_err() {
            return;
        }
    }
}

/// One sample of every endpoint, all at once (for `cutover status`).
pub async fn sample_once(endpoints: Vec<Endpoint>) -> Vec<Sample> {
    let rounds = endpoints.into_iter().map(|endpoint| async move {
        let mut collector = Collector::new(endpoint);
        let reading = collector.sample().await;
        let endpoint = collector.endpoint();
        Sample { at: Utc::now(), endpoint: endpoint.name.clone(), kind: endpoint.kind, reading }
    });
    futures::future::join_all(rounds).await
}

/// A clock for live sessions: a tick every second, on the second.
pub async fn clock(tx: mpsc::Sender<Action>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        if tx.send(Action::Tick { now: Utc::now() }).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::phase;

    #[test]
    fn any_number_of_collectors_spread_over_the_interval() {
        for n in [2u64, 8, 64, 256] {
            // No sixteenth of the interval holds more than twice its share.
            let mut buckets = [0u64; 16];
            for k in 0..n {
                let p = phase(k);
                assert!((0.0..1.0).contains(&p));
                buckets[(p * 16.0) as usize] += 1;
            }
            let fair = n.div_ceil(16);
            assert!(buckets.iter().all(|&b| b <= 2 * fair), "{n}: {buckets:?}");
        }
    }
}
