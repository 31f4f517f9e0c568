//! Executes one resolved step: statements on an endpoint, a shell command, a
//! wait on the gauges, a verification. Everything a step prints leaves as an
//! [`Emitted`] (secrets scrubbed); the executor knows nothing of the screen or
//! the journal. Timeouts and cancellation belong to the caller, which drops the
//! future and calls [`Executor::cancel`] so the server or the child stops too.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use mongodb::bson::doc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::plan::Resolved;
use super::reconfig;
use super::stop::{Query, Stopper};
use super::vars::{Scope, Value};
use crate::endpoint::postgres::{self as pg, Connector, Purpose, short_error};
use crate::events::{ChecksumProgress, TableProgress, TableState};
use crate::inventory::{Endpoint, Inventory};
use crate::state::State;
use crate::verify::{self, TableStatus};

/// How often waits look at the gauges and poll their query.
pub const POLL: Duration = Duration::from_millis(250);
/// A query wait polls this often for its first [`QUICK_POLLS`], then every second.
pub const POLL_QUICK: Duration = Duration::from_millis(50);
pub const QUICK_POLLS: Duration = Duration::from_secs(5);
/// How many times one reconfig is tried when the config moved under it.
const RECONFIG_ATTEMPTS: u32 = 20;
/// Rows of a query result printed as output.
pub const ROWS_SHOWN: usize = 20;

/// What a running step gives out.
#[derive(Clone, Debug, PartialEq)]
pub enum Emitted {
    Output(String),
    Checksum(ChecksumProgress),
}

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
}

impl Outcome {
    fn ok(summary: impl Into<String>) -> Self {
        Self { ok: true, summary: summary.into() }
    }

    fn failed(summary: impl Into<String>) -> Self {
        Self { ok: false, summary: summary.into() }
    }
}

/// Runs steps; keeps one connection per endpoint between them.
pub struct Executor {
    inventory: Inventory,
    scope: Scope,
    /// The live gauges, folded by the caller from the collectors.
    gauges: Arc<Mutex<State>>,
    /// A connection per endpoint, and its backend's pid (for a probe after a cancel).
    clients: HashMap<String, (Arc<Client>, Option<i32>)>,
    mongo_clients: HashMap<String, mongodb::Client>,
    /// The step's statement or process group, for whoever must stop it.
    stopper: Stopper,
    out: mpsc::UnboundedSender<Emitted>,
}

impl Executor {
    #[must_use]
    pub fn new(
        inventory: Inventory,
        scope: Scope,
        gauges: Arc<Mutex<State>>,
        out: mpsc::UnboundedSender<Emitted>,
    ) -> Self {
        Self {
            inventory,
            scope,
            gauges,
            clients: HashMap::new(),
            mongo_clients: HashMap::new(),
            stopper: Stopper::default(),
            out,
        }
    }

    #[must_use]
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    fn say(&self, text: impl AsRef<str>) {
        let _ = self.out.send(Emitted::Output(self.scope.scrub(text.as_ref())));
    }

    fn endpoint(&self, name: &str) -> Result<Endpoint, String> {
        self.inventory
            .endpoints
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| format!("no endpoint \"{name}\""))
    }

    /// A handle that stops the running step, usable while its future runs.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    async fn client(&mut self, name: &str) -> Result<Arc<Client>, String> {
        Ok(self.connection(name).await?.0)
    }

    async fn connection(&mut self, name: &str) -> Result<(Arc<Client>, Option<i32>), String> {
        if let Some((c, backend)) = self.clients.get(name) {
            if !c.is_closed() {
                return Ok((Arc::clone(c), *backend));
            }
        }
        let endpoint = self.endpoint(name)?;
        let fail = |e: pg::Error| match e {
            pg::Error::Tls(why) => format!("{name}: {why}"),
            e => format!("{name} is unreachable: {e}"),
        };
        let connector = Connector::new(&endpoint).map_err(fail)?;
        let (client, backend) = if endpoint.kind == crate::events::EndpointKind::Pgbouncer {
            (crate::endpoint::pgbouncer::connect(&connector).await.map_err(fail)?, None)
        } else {
            let session = connector.connect(Purpose::Steps).await.map_err(fail)?;
            (session.client, session.backend)
        };
        let client = Arc::new(client);
        self.clients.insert(name.to_owned(), (Arc::clone(&client), backend));
        Ok((client, backend))
    }

    /// Run one step to its end. Manual steps are done once confirmed.
    /// `read_only`: the step is read-only (see [`super::StepDef::reads_only`]),
    /// so its SQL runs as one statement in a `READ ONLY` transaction.
    /// `transaction`: a `sql` step's statements run in one transaction.
    pub async fn run(&mut self, action: &Resolved, read_only: bool, transaction: bool) -> Outcome {
        self.stopper.clear();
        let outcome = match action {
            Resolved::Sql { on, run } => {
                let statements: Vec<String> = run.iter().map(|v| v.plain.clone()).collect();
                self.statements(on, &statements, transaction).await
            }
            Resolved::Generate { on, from, sql } => match self.query_column(from, &sql.plain).await {
                Ok(statements) if statements.is_empty() => {
                    Ok(Outcome::ok("nothing to run: the query made no statements"))
                }
                Ok(statements) => self.statements(on, &statements, transaction).await,
                Err(e) => Err(e),
            },
            Resolved::CheckSql { on, sql, expect } => match self.check_value(on, &sql.plain, read_only).await {
                Ok(got) if got.as_deref().map(str::trim) == Some(expect.plain.trim()) => {
                    Ok(Outcome::ok(format!("reads {}", expect.shown)))
                }
                Ok(got) => Ok(Outcome::failed(format!(
                    "reads {}, expected {}",
                    got.map_or_else(|| "nothing (no row or NULL)".to_owned(), |g| format!("\"{g}\"")),
                    expect.shown
                ))),
                Err(e) => Err(e),
            },
            Resolved::CheckCondition(c) => {
                let verdict =
                    self.gauges.lock().map(|s| c.eval(&*s)).map_err(|_| "the gauges are unavailable".to_owned());
                verdict.map(|v| if v.holds { Outcome::ok(v.reason) } else { Outcome::failed(v.reason) })
            }
            Resolved::WaitCondition { until, hold_for } => Ok(self.wait_condition(until, *hold_for).await),
            Resolved::WaitSql { on, sql, expect } => self.wait_sql(on, &sql.plain, &expect.plain, read_only).await,
            Resolved::Shell { run, env } => self.shell(&run.plain, env).await,
            Resolved::Verify { source, target, tables } => self.verify(source, target, tables).await,
            Resolved::Manual { instructions } => {
                self.say(&instructions.shown);
                Ok(Outcome::ok("confirmed"))
            }
            Resolved::Mongo { on, db, command } => self.mongo(on, db.as_deref(), command).await,
            Resolved::Pooler { on, op, repoint } => self.pooler(on, op, repoint.as_ref()).await,
            Resolved::Reconfig { on, add, remove, priority } => {
                let plain = |v: &Vec<Value>| v.iter().map(|h| h.plain.clone()).collect::<Vec<_>>();
                let priority: Vec<(String, f64)> = priority.iter().map(|(h, p)| (h.plain.clone(), *p)).collect();
                self.reconfig(on, &reconfig::changes(&plain(add), &plain(remove), &priority)).await
            }
        };
        let outcome = outcome.unwrap_or_else(Outcome::failed);
        Outcome { ok: outcome.ok, summary: self.scope.scrub(&outcome.summary) }
    }

    /// A PgBouncer admin command; or a repoint — the entry rewritten (in the
    /// ini file here, or by the inventory's command) — then `RELOAD`.
    async fn pooler(
        &mut self,
        on: &str,
        op: &super::pooler::Op,
        repoint: Option<&super::pooler::Repoint>,
    ) -> Result<Outcome, String> {
        use super::pooler::{Op, Rewritten, masked};
        use crate::inventory::pooler::Where;
        if let Some(command) = op.command() {
            self.say(format!("{on}> {command}"));
            return match self.simple(on, &command).await {
                Ok(_) => Ok(Outcome::ok(format!("{command} on {on}"))),
                // A rollback resumes whether or not the pause happened.
                Err(e) if matches!(op, Op::Resume(_)) && e.to_ascii_lowercase().contains("not paused") => {
                    Ok(Outcome::ok(format!("{on} was not paused: nothing to resume")))
                }
                // A rollback pauses whether or not the switch's pause still holds.
                Err(e) if matches!(op, Op::Pause(_)) && e.to_ascii_lowercase().contains("already") => {
                    Ok(Outcome::ok(format!("{on} was paused already: its clients still wait")))
                }
                Err(e) => Err(e),
            };
        }
        let r = repoint.ok_or("the repoint was not planned")?;
        match &r.place {
            Where::File(path) => {
                let target = self.endpoint(&r.to)?;
                match super::pooler::rewrite(path, &r.database, &target.dsn) {
                    Ok(Rewritten::Changed { before, after, backup }) => {
                        self.say(format!("{}:", path.display()));
                        self.say(format!("  before: {}", masked(&before)));
                        self.say(format!("  after:  {}", masked(&after)));
                        self.say(format!("  the previous file is {}", backup.display()));
                    }
                    Ok(Rewritten::Already { .. }) => {
                        self.say(format!("{} already points {} at {}", path.display(), r.database, r.to));
                    }
                    Err(e) => return Err(format!("{e:#}")),
                }
            }
            Where::Command(command) => {
                let env = [
                    ("CUTOVER_POOLER_DATABASE".to_owned(), r.database.clone()),
                    ("CUTOVER_POOLER_LINE".to_owned(), r.after.clone()),
                ];
                let done = self.shell(command, &env).await?;
                if !done.ok {
                    return Err(format!("the repoint command failed: {}", done.summary));
                }
            }
        }
        self.say(format!("{on}> RELOAD"));
        self.simple(on, "RELOAD").await?;
        Ok(Outcome::ok(format!("{on}: {} now points at {}", r.database, r.to)))
    }

    /// A client for a MongoDB endpoint (kept between steps) and its database.
    async fn mongo_client(&mut self, on: &str) -> Result<(mongodb::Client, String), String> {
        let endpoint = self.endpoint(on)?;
        let uri = endpoint.mongo.clone().ok_or_else(|| format!("{on} is not a MongoDB endpoint"))?;
        let client = match self.mongo_clients.get(on) {
            Some(c) => c.clone(),
            None => {
                let c = crate::endpoint::mongo::client(&uri, None).await.map_err(|e| format!("{on}: {e}"))?.driver;
                self.mongo_clients.insert(on.to_owned(), c.clone());
                c
            }
        };
        Ok((client, uri.database))
    }

    /// A database command on a MongoDB endpoint, in `db` or the uri's database (default
    /// `admin`); the reply is the output, `ok: 1` is success.
    async fn mongo(&mut self, on: &str, db: Option<&str>, command: &Value) -> Result<Outcome, String> {
        let (client, database) = self.mongo_client(on).await?;
        let database = db.unwrap_or(&database);
        let value: serde_json::Value = serde_json::from_str(&command.plain).map_err(|e| format!("the command: {e}"))?;
        let document = mongodb::bson::to_document(&value).map_err(|e| format!("the command: {e}"))?;
        self.say(format!("{on}/{database}> {}", command.shown));
        let reply = client.database(database).run_command(document).await.map_err(|e| mongo_error(on, &e))?;
        self.say_reply(&reply);
        Ok(if reply_ok(&reply) {
            Outcome::ok(format!("ok on {on}"))
        } else {
            Outcome::failed(format!("{on} replied not ok"))
        })
    }

    fn say_reply(&self, reply: &mongodb::bson::Document) {
        let text = serde_json::to_string(&mongodb::bson::Bson::Document(reply.clone()).into_relaxed_extjson())
            .unwrap_or_default();
        // Scrubbed before it is cut: a secret cut in two is no longer found.
        let text = self.scope.scrub(&text);
        for chunk in text.as_bytes().chunks(200).take(ROWS_SHOWN) {
            self.say(format!("  {}", String::from_utf8_lossy(chunk)));
        }
    }

    /// Membership changes, one `replSetReconfig` each, as `rs.add()` and
    /// `rs.remove()` make them; each waits (on the server) for the previous
    /// config to reach a majority. A change already made is skipped.
    async fn reconfig(&mut self, on: &str, changes: &[reconfig::Change]) -> Result<Outcome, String> {
        let (client, _) = self.mongo_client(on).await?;
        let admin = client.database("admin");
        let mut made = 0;
        for change in changes {
            let mut attempt = 1;
            loop {
                match self.reconfig_once(on, &admin, change).await {
                    Ok(true) => made += 1,
                    Ok(false) => {}
                    // The server changed its config meanwhile (it drops a new
                    // member's `newlyAdded` mark by a reconfig of its own), or
                    // the previous one is not committed yet: read it again.
                    Err((Some(103 | 109), e)) if attempt < RECONFIG_ATTEMPTS => {
                        self.say(format!("  {e} — reading the config again"));
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                    Err((_, e)) => return Err(format!("{}: {e}", change.describe())),
                }
                break;
            }
        }
        Ok(Outcome::ok(format!("{made} of {} change(s) made on {on}", changes.len())))
    }

    /// Read the config, apply `change`, send it. `Ok(false)`: nothing to do.
    /// Err: the server's error code, if any, and the message.
    async fn reconfig_once(
        &self,
        on: &str,
        admin: &mongodb::Database,
        change: &reconfig::Change,
    ) -> Result<bool, (Option<i32>, String)> {
        let code = crate::endpoint::mongo::error_code;
        let reply =
            admin.run_command(doc! { "replSetGetConfig": 1 }).await.map_err(|e| (code(&e), mongo_error(on, &e)))?;
        let config =
            reply.get_document("config").map_err(|_| (None, format!("{on}: replSetGetConfig gave no config")))?;
        let next = match reconfig::apply(config, change).map_err(|e| (None, e))? {
            Err(why) => {
                self.say(format!("{on}: {} — nothing to do: {why}", change.describe()));
                return Ok(false);
            }
            Ok(next) => next,
        };
        let from = config.get("version").map(ToString::to_string).unwrap_or_default();
        let to = next.get("version").map(ToString::to_string).unwrap_or_default();
        self.say(format!("{on}> replSetReconfig (config version {from} → {to}): {}", change.describe()));
        let reply =
            admin.run_command(doc! { "replSetReconfig": next }).await.map_err(|e| (code(&e), mongo_error(on, &e)))?;
        if !reply_ok(&reply) {
            return Err((None, format!("{on} refused it")));
        }
        self.say("  ok");
        Ok(true)
    }

    async fn simple(&mut self, on: &str, sql: &str) -> Result<Vec<SimpleQueryMessage>, String> {
        let (client, backend) = self.connection(on).await?;
        let endpoint = self.endpoint(on)?;
        self.stopper.query(Some(Query { endpoint, token: client.cancel_token(), backend }));
        // Told to stop between two statements: the next one never starts.
        if self.stopper.stopping() {
            self.stopper.query(None);
            return Err("stopped before it was sent".to_owned());
        }
        let result = client.simple_query(sql).await.map_err(|e| format!("{on}: {}", short_error(&e)));
        self.stopper.query(None);
        result
    }

    /// Statements in order; in one transaction when `transaction` (all or
    /// none: a failure rolls every one back).
    async fn statements(&mut self, on: &str, statements: &[String], transaction: bool) -> Result<Outcome, String> {
        if transaction {
            self.say(format!("{on}> BEGIN"));
            self.simple(on, "BEGIN").await?;
        }
        for (i, statement) in statements.iter().enumerate() {
            self.say(echo(&self.scope, on, statement));
            let messages = match self.simple(on, statement).await {
                Ok(messages) => messages,
                Err(e) => {
                    let mut why = format!("statement {} of {} failed: {e}", i + 1, statements.len());
                    if transaction {
                        // Straight on the connection: even a step being
                        // stopped ends its transaction.
                        let client = self.client(on).await?;
                        if client.batch_execute("ROLLBACK").await.is_ok() {
                            why.push_str(" (rolled back: none of them took effect)");
                        }
                    }
                    return Err(why);
                }
            };
            for line in result_lines(&messages) {
                self.say(line);
            }
        }
        if transaction {
            self.say(format!("{on}> COMMIT"));
            self.simple(on, "COMMIT").await.map_err(|e| format!("COMMIT failed: {e}"))?;
        }
        Ok(Outcome::ok(format!(
            "{} statement{} on {on}{}",
            statements.len(),
            if statements.len() == 1 { "" } else { "s" },
            if transaction { ", in one transaction" } else { "" }
        )))
    }

    async fn query_column(&mut self, on: &str, sql: &str) -> Result<Vec<String>, String> {
        let messages = self.simple(on, sql).await?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .collect())
    }

    async fn first_value(&mut self, on: &str, sql: &str) -> Result<Option<String>, String> {
        let messages = self.simple(on, sql).await?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            })
            .flatten())
    }

    async fn wait_condition(&mut self, until: &crate::condition::Condition, hold_for: Duration) -> Outcome {
        let mut since: Option<tokio::time::Instant> = None;
        let mut said: Option<bool> = None;
        loop {
            if self.stopper.stopping() {
                return Outcome::failed("stopped while waiting");
            }
            let verdict = match self.gauges.lock() {
                Ok(state) => until.eval(&*state),
                Err(_) => return Outcome::failed("the gauges are unavailable"),
            };
            if verdict.holds {
                let start = *since.get_or_insert_with(tokio::time::Instant::now);
                if start.elapsed() >= hold_for {
                    return Outcome::ok(verdict.reason);
                }
            } else {
                since = None;
            }
            // Say it when the verdict flips, not at every poll.
            if said != Some(verdict.holds) {
                said = Some(verdict.holds);
                self.say(format!("{}: {}", if verdict.holds { "holds" } else { "waiting" }, verdict.reason));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A check's value: read-only checks run as one statement in a `READ ONLY`
    /// transaction that is rolled back, so they cannot write.
    /// A step's `when` (a [`Resolved::CheckSql`]), read in a read-only
    /// transaction: whether it reads its `expect`, and what it read.
    ///
    /// # Errors
    /// The query could not be run (endpoint unreachable, SQL error).
    pub async fn guard(&mut self, when: &Resolved) -> Result<(bool, String), String> {
        let Resolved::CheckSql { on, sql, expect } = when else {
            return Err("a `when` is a query".to_owned());
        };
        let got = self.check_value(on, &sql.plain, true).await?;
        let holds = got.as_deref().map(str::trim) == Some(expect.plain.trim());
        let read = got.map_or_else(|| "nothing (no row or NULL)".to_owned(), |g| format!("\"{g}\""));
        Ok((holds, format!("read {read} on {on}, not {}", expect.shown)))
    }

    async fn check_value(&mut self, on: &str, sql: &str, read_only: bool) -> Result<Option<String>, String> {
        if !read_only {
            return self.first_value(on, sql).await;
        }
        let client = self.client(on).await?;
        let fail = |e: &tokio_postgres::Error| format!("{on}: {}", short_error(e));
        // Whatever an earlier, cut-off step left open ends here.
        client.batch_execute("ROLLBACK").await.map_err(|e| fail(&e))?;
        client.batch_execute("BEGIN TRANSACTION READ ONLY").await.map_err(|e| fail(&e))?;
        // The extended protocol parses one statement only: no `COMMIT;` or
        // `SET TRANSACTION READ WRITE;` can ride along in a read-only check.
        let value = match client.prepare(sql).await {
            Ok(_) => self.first_value(on, sql).await,
            Err(e) => Err(format!("{} (a check that is not destructive runs read-only, as one statement)", fail(&e))),
        };
        client.batch_execute("ROLLBACK").await.map_err(|e| fail(&e))?;
        value
    }

    async fn wait_sql(&mut self, on: &str, sql: &str, expect: &str, read_only: bool) -> Result<Outcome, String> {
        let mut last: Option<Option<String>> = None;
        // Quick polls first (a wait during a write pause is the pause), then
        // once a second.
        let started = tokio::time::Instant::now();
        let pause = || if started.elapsed() < QUICK_POLLS { POLL_QUICK } else { Duration::from_secs(1) };
        loop {
            if self.stopper.stopping() {
                return Err("stopped while waiting".to_owned());
            }
            let got = match self.check_value(on, sql, read_only).await {
                Ok(v) => v,
                // The endpoint may come back: keep waiting until the timeout.
                Err(e) => {
                    self.say(format!("waiting: {e}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if got.as_deref().map(str::trim) == Some(expect.trim()) {
                return Ok(Outcome::ok(format!("reads {expect}")));
            }
            if last.as_ref() != Some(&got) {
                self.say(format!("waiting: reads {}, until {expect}", got.as_deref().unwrap_or("nothing")));
                last = Some(got);
            }
            tokio::time::sleep(pause()).await;
        }
    }

    /// `sh -c COMMAND`; the values the command quotes (`"${CUTOVER_Vn}"`) in
    /// its environment, which only its own user can read — the argument
    /// vector, in everyone's process list, carries none of them.
    async fn shell(&mut self, command: &str, values: &[(String, String)]) -> Result<Outcome, String> {
        let passfile = self.passfile().map_err(|e| format!("cannot write a password file for the command: {e}"))?;
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.process_group(0).kill_on_drop(true).env("PGAPPNAME", "cutover");
        cmd.envs(values.iter().map(|(k, v)| (k, v)));
        if let Some(file) = &passfile {
            cmd.env("PGPASSFILE", file.path());
        }
        if self.stopper.stopping() {
            return Err("stopped before it started".to_owned());
        }
        let spawned = cmd.spawn();
        // The child has its own copy of a memory file now; ours goes.
        let passfile = passfile.and_then(Passfile::after_spawn);
        let mut child = spawned.map_err(|e| format!("cannot start sh: {e}"))?;
        self.stopper.group(child.id());
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(lines(stdout, tx.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(lines(stderr, tx.clone()));
        }
        drop(tx);
        while let Some(line) = rx.recv().await {
            self.say(line);
        }
        let status = child.wait().await.map_err(|e| format!("the command vanished: {e}"))?;
        drop(passfile);
        Ok(match status.code() {
            Some(0) => Outcome::ok("exit 0"),
            Some(code) => Outcome::failed(format!("exit {code}")),
            None => Outcome::failed("killed by a signal"),
        })
    }

    /// A `.pgpass` with every endpoint's password, mode 0600, so a command
    /// line never carries one. `None` when no endpoint has a password.
    fn passfile(&self) -> std::io::Result<Option<Passfile>> {
        let entries: Vec<String> = self
            .inventory
            .endpoints
            .iter()
            .filter_map(|e| {
                let pw = e.dsn.password()?;
                let esc = |s: &str| s.replace('\\', "\\\\").replace(':', "\\:");
                Some(format!(
                    "{}:{}:{}:{}:{}\n",
                    esc(&e.dsn.host),
                    e.dsn.port,
                    esc(&e.dsn.dbname),
                    esc(&e.dsn.user),
                    esc(pw)
                ))
            })
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        Passfile::create(&entries.concat()).map(Some)
    }

    async fn verify(&mut self, source: &str, target: &str, tables: &[String]) -> Result<Outcome, String> {
        let (source_ep, target_ep) = (self.endpoint(source)?, self.endpoint(target)?);
        let options = verify::Options {
            tables: tables.iter().map(|t| verify::catalog::TableName::parse(t)).collect(),
            ..verify::Options::default()
        };
        let (tx, mut rx) = mpsc::channel::<ChecksumProgress>(64);
        let out = self.out.clone();
        let forward = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let _ = out.send(Emitted::Checksum(p));
            }
        });
        let report = verify::run(&source_ep, &target_ep, &options, Some(tx)).await;
        let _ = forward.await;
        let report = report.map_err(|e| format!("verification failed: {e:#}"))?;
        let mut progress = Vec::new();
        for t in &report.tables {
            let differences = match t.status {
                TableStatus::MissingOnSource | TableStatus::MissingOnTarget => (t.differences.len() as u64).max(1),
                _ => t.differences.len() as u64,
            };
            self.say(format!(
                "{}: {} ({} rows, {} chunks{})",
                t.table,
                crate::events::name_of(&t.status).replace('_', " "),
                t.rows_source,
                t.chunks,
                if differences > 0 { format!(", {differences} differences") } else { String::new() }
            ));
            progress.push(TableProgress {
                table: t.table.clone(),
                state: if t.status == TableStatus::Error { TableState::Failed } else { TableState::Done },
                chunks_done: t.chunks,
                chunks_total: t.chunks,
                rows: t.rows_source,
                rows_per_second: 0.0,
                differences,
            });
        }
        let _ = self.out.send(Emitted::Checksum(ChecksumProgress { at: Utc::now(), tables: progress }));
        let tables_n = report.tables.len();
        let what = if source_ep.mongo.is_some() { "collection" } else { "table" };
        let plural = if tables_n == 1 { "" } else { "s" };
        Ok(match report.exit_code() {
            0 => Outcome::ok(format!("{tables_n} {what}{plural} equal")),
            1 => Outcome::failed(format!(
                "{} differences in {} of {tables_n} {what}{plural}",
                report.totals.differences.max(report.totals.tables_different),
                report.totals.tables_different
            )),
            _ => Outcome::failed(format!("a {what} could not be verified")),
        })
    }
}

/// The password file a shell command reads as `PGPASSFILE`.
///
/// On Linux an anonymous memory file (`memfd_create`): it has no name in any
/// directory, so no kill — not even SIGKILL — can leave it behind. It is
/// created without close-on-exec, so the child (and the `psql` it starts)
/// inherits it and opens it as `/dev/fd/N`; cutover closes its own copy once
/// the child has started. Elsewhere a 0600 temporary file, removed after the
/// command.
enum Passfile {
    #[cfg(target_os = "linux")]
    Memory(std::fs::File),
    #[cfg(not(target_os = "linux"))]
    Temp(tempfile::NamedTempFile),
}

impl Passfile {
    fn create(text: &str) -> std::io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::memfd::{MFdFlags, memfd_create};
            // No MFD_CLOEXEC: the child must inherit it.
            let fd = memfd_create(c"cutover-pgpass", MFdFlags::empty()).map_err(std::io::Error::from)?;
            let mut file = std::fs::File::from(fd);
            // libpq ignores a password file that group or others may read.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(text.as_bytes())?;
            file.flush()?;
            Ok(Self::Memory(file))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut file = tempfile::Builder::new()
                .prefix("cutover-pgpass-")
                .permissions(std::fs::Permissions::from_mode(0o600))
                .tempfile()?;
            file.write_all(text.as_bytes())?;
            file.flush()?;
            Ok(Self::Temp(file))
        }
    }

    /// What must stay once the child has started: a file on disk until the
    /// command ends; nothing of a memory file (the child holds it).
    fn after_spawn(self) -> Option<Self> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory(_) => None,
            #[cfg(not(target_os = "linux"))]
            temp @ Self::Temp(_) => Some(temp),
        }
    }

    /// What `PGPASSFILE` says.
    fn path(&self) -> std::path::PathBuf {
        match self {
            #[cfg(target_os = "linux")]
            Self::Memory(file) => {
                use std::os::fd::AsRawFd;
                format!("/dev/fd/{}", file.as_raw_fd()).into()
            }
            #[cfg(not(target_os = "linux"))]
            Self::Temp(file) => file.path().to_owned(),
        }
    }
}

async fn lines(reader: impl tokio::io::AsyncRead + Unpin, tx: mpsc::UnboundedSender<String>) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).is_err() {
            break;
        }
    }
}

/// The line that says what runs on `on`: the statement on one line, its
/// secrets scrubbed first — a secret whose spaces were joined is no longer found.
fn echo(scope: &Scope, on: &str, statement: &str) -> String {
    format!("{on}> {}", one_line(&scope.scrub(statement)))
}

/// A statement on one line for the output pane.
fn one_line(sql: &str) -> String {
    let joined: Vec<&str> = sql.split_whitespace().collect();
    joined.join(" ")
}

/// A MongoDB reply's `ok`.
fn reply_ok(reply: &mongodb::bson::Document) -> bool {
    reply.get("ok").and_then(crate::collect::mongo::number).is_some_and(|ok| ok >= 1.0)
}

fn mongo_error(on: &str, e: &mongodb::error::Error) -> String {
    format!("{on}: {}", crate::endpoint::mongo::short_error(e))
}

/// Rows (up to [`ROWS_SHOWN`]) and counts, as output lines.
fn result_lines(messages: &[SimpleQueryMessage]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rows = 0usize;
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                rows += 1;
                if rows <= ROWS_SHOWN {
                    let cells: Vec<&str> = (0..row.len()).map(|i| row.get(i).unwrap_or("NULL")).collect();
                    out.push(format!("  {}", cells.join(" | ")));
                }
            }
            SimpleQueryMessage::CommandComplete(n) => {
                if rows > ROWS_SHOWN {
                    out.push(format!("  … {} more rows", rows - ROWS_SHOWN));
                }
                out.push(format!("  ok ({n} row{})", if *n == 1 { "" } else { "s" }));
                rows = 0;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_scrubbed_before_its_whitespace_is_joined() {
        let mut secrets = crate::secrets::Secrets::default();
        secrets.add("the password", "p@ss  word").unwrap();
        secrets.add("the token", "two\nlines").unwrap();
        let mut scope = Scope::default();
        scope.scrub_also(&secrets);
        let line = echo(&scope, "db", "ALTER ROLE app\n  PASSWORD 'p@ss  word';\nSELECT 'two\nlines'");
        assert_eq!(line, "db> ALTER ROLE app PASSWORD '******'; SELECT '******'");
    }
}
