//! `mongo` steps: a database command given as a TOML table or as JSON, with
//! `${…}` in any of its strings, and the database it runs in; or replica-set
//! membership changes (`reconfig`), one `replSetReconfig` each (the config
//! edits themselves are [`reconfig`]'s).

mod reconfig;

use std::time::Duration;

use mongodb::bson::doc;
use toml::Spanned;

use super::{Executor, Outcome, ROWS_SHOWN};
use crate::runbook::checker::Checker;
use crate::runbook::file::{MongoStep, ReconfigStep};
use crate::runbook::spans::content_start;
use crate::runbook::vars::{self, Value};
use crate::runbook::{ActionDef, Text, file_offset};

/// How many times one reconfig is tried when the config moved under it.
const RECONFIG_ATTEMPTS: u32 = 20;

/// The checker's part: either `command` or `reconfig`, on a MongoDB endpoint.
pub(in crate::runbook) fn check(c: &mut Checker<'_>, mongo: &MongoStep) -> Option<ActionDef> {
    let on = c.endpoint(&mongo.on, &["mongodb"], "a mongo command");
    match (&mongo.command, &mongo.reconfig) {
        (Some(command), None) => check_command(c, on, mongo.db.clone(), command),
        (None, Some(reconfig)) => check_reconfig(c, on, reconfig),
        _ => {
            c.error(mongo.on.span().start, "mongo: give either `command` or `reconfig`");
            None
        }
    }
}

/// A database command as a TOML table or a JSON string; every string in
/// it may hold `${…}` (checked here, reported at the command).
fn check_command(
    c: &mut Checker<'_>,
    on: String,
    db: Option<String>,
    command: &Spanned<toml::Value>,
) -> Option<ActionDef> {
    let at = command.span().start;
    let value = match command.get_ref() {
        toml::Value::String(json) => match serde_json::from_str::<serde_json::Value>(json) {
            Ok(v) => v,
            Err(e) => {
                let offset = json.lines().take(e.line().saturating_sub(1)).map(|l| l.len() + 1).sum::<usize>()
                    + e.column().saturating_sub(1);
                let start = content_start(c.text, at);
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or_default();
                c.error(file_offset(c.text, start, offset), format!("the command is not JSON: {message}"));
                return None;
            }
        },
        other => match serde_json::to_value(other) {
            Ok(v) => v,
            Err(e) => {
                c.error(at, format!("mongo command: {e}"));
                return None;
            }
        },
    };
    if value.as_object().is_none_or(serde_json::Map::is_empty) {
        c.error(at, "mongo command: give a document whose first key names the command, e.g. { ping = 1 }");
        return None;
    }
    let mut leaves = Vec::new();
    json_strings(&value, &mut |s| leaves.push(Text { text: s.to_owned(), at }));
    for leaf in &leaves {
        if let Err((_, message)) = vars::scan(&leaf.text) {
            c.error(at, format!("in the command, \"{}\": {message}", leaf.text));
        } else {
            for piece in vars::scan(&leaf.text).unwrap_or_default() {
                if let vars::Piece::Var { name, .. } = piece {
                    if let Some(message) = c.unknown_variable(name) {
                        c.error(at, format!("in the command, ${{{name}}}: {message}"));
                    }
                }
            }
        }
    }
    let name = value.as_object().and_then(|o| o.keys().next()).cloned().unwrap_or_default();
    let db = db.or_else(|| admin_command(&name).then(|| "admin".to_owned()));
    Some(ActionDef::Mongo { on, db, command: value, leaves })
}

/// Members to add or remove and priorities to set: at least one of them.
fn check_reconfig(c: &mut Checker<'_>, on: String, reconfig: &Spanned<ReconfigStep>) -> Option<ActionDef> {
    let r = reconfig.get_ref();
    if r.add.is_empty() && r.remove.is_empty() && r.priority.is_empty() {
        c.error(reconfig.span().start, "reconfig: give `add`, `remove` or `priority`");
        return None;
    }
    let add = r.add.iter().map(|h| c.text(h)).collect();
    let remove = r.remove.iter().map(|h| c.text(h)).collect();
    let priority = r.priority.iter().map(|(h, p)| (c.text(h), *p.get_ref())).collect();
    Some(ActionDef::Reconfig { on, add, remove, priority })
}

/// Commands MongoDB runs only in the `admin` database (as `db.adminCommand`).
fn admin_command(name: &str) -> bool {
    name.starts_with("replSet")
        || [
            "fsync",
            "fsyncUnlock",
            "shutdown",
            "setParameter",
            "getParameter",
            "getCmdLineOpts",
            "listDatabases",
            "currentOp",
            "killOp",
            "setFeatureCompatibilityVersion",
            "logRotate",
            "setDefaultRWConcern",
            "getDefaultRWConcern",
        ]
        .contains(&name)
}

/// Every string in a JSON value, in document order (object keys excluded).
fn json_strings(value: &serde_json::Value, each: &mut dyn FnMut(&str)) {
    match value {
        serde_json::Value::String(s) => each(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, each)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_strings(v, each)),
        _ => {}
    }
}

impl Executor {
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
    pub(super) async fn mongo(&mut self, on: &str, db: Option<&str>, command: &Value) -> Result<Outcome, String> {
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

    /// A `reconfig` step: its members added, priorities set, members removed.
    pub(super) async fn reconfig(
        &mut self,
        on: &str,
        add: &[Value],
        remove: &[Value],
        priority: &[(Value, f64)],
    ) -> Result<Outcome, String> {
        let plain = |v: &[Value]| v.iter().map(|h| h.plain.clone()).collect::<Vec<_>>();
        let priority: Vec<(String, f64)> = priority.iter().map(|(h, p)| (h.plain.clone(), *p)).collect();
        self.membership(on, &reconfig::changes(&plain(add), &plain(remove), &priority)).await
    }

    /// Membership changes, one `replSetReconfig` each, as `rs.add()` and
    /// `rs.remove()` make them; each waits (on the server) for the previous
    /// config to reach a majority. A change already made is skipped.
    async fn membership(&mut self, on: &str, changes: &[reconfig::Change]) -> Result<Outcome, String> {
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
}

/// A MongoDB reply's `ok`.
fn reply_ok(reply: &mongodb::bson::Document) -> bool {
    reply.get("ok").and_then(crate::collect::mongo::number).is_some_and(|ok| ok >= 1.0)
}

fn mongo_error(on: &str, e: &mongodb::error::Error) -> String {
    format!("{on}: {}", crate::endpoint::mongo::short_error(e))
}
