//! A runbook resolved against an inventory: every `${…}` expanded, every
//! endpoint bound to a server, and for each step the lines that say exactly
//! what it will execute and where (secrets masked) — what `cutover plan`
//! prints, the cockpit shows before confirmation, and the journal records.

mod shows;

use std::collections::BTreeSet;

use super::vars::{self, Context, Scope, Value};
use super::{ActionDef, Guard, Runbook, Text};
use crate::condition::Condition;
use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;

/// A step's action with its text resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Sql {
        on: String,
        run: Vec<Value>,
    },
    Generate {
        on: String,
        from: String,
        sql: Value,
    },
    CheckSql {
        on: String,
        sql: Value,
        expect: Value,
    },
    CheckCondition(Condition),
    WaitCondition {
        until: Condition,
        hold_for: std::time::Duration,
    },
    WaitSql {
        on: String,
        sql: Value,
        expect: Value,
    },
    /// `run.plain` refers to quoted values as `"${CUTOVER_Vn}"`; `env` holds them.
    Shell {
        run: Value,
        env: Vec<(String, String)>,
    },
    Verify {
        source: String,
        target: String,
        tables: Vec<String>,
        settle: std::time::Duration,
    },
    Manual {
        instructions: Value,
    },
    /// `pg_create_restore_point` on `on`; `None`: named when it runs, after the run and the step.
    RestorePoint {
        on: String,
        name: Option<Value>,
    },
    /// A PgBouncer admin command, or a repoint (planned: the entry before and after).
    Pooler {
        on: String,
        op: super::pooler::Op,
        repoint: Option<super::pooler::Repoint>,
    },
    /// The command's JSON: `plain` runs, `shown` is shown.
    Mongo {
        on: String,
        db: Option<String>,
        command: Value,
    },
    Reconfig {
        on: String,
        add: Vec<Value>,
        remove: Vec<Value>,
        priority: Vec<(Value, f64)>,
    },
}

/// One step, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub id: String,
    pub action: Resolved,
    /// The step's `when`, resolved: a [`Resolved::CheckSql`] or [`Resolved::CheckCondition`].
    pub when: Option<Resolved>,
    /// What it will execute and where, secrets masked.
    pub shows: Vec<String>,
}

/// The start of a `shows` line that reads how things are now (a repoint's
/// ini line before it), not what the step will do: it changes as the run
/// goes (the switch's repoint changes the rollback's `before`), so resume
/// does not count it as a change of inputs.
pub const BEFORE: &str = "  before: ";

/// What a runbook is resolved with.
pub struct Bindings<'a> {
    pub inventory: &'a Inventory,
    /// `--var NAME=VALUE`, last one wins.
    pub overrides: &'a [(String, String)],
    /// `--var-env NAME=ENVVAR`: secret values read from `env`; they win over `--var`.
    pub from_env: &'a [(String, String)],
    pub operator: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Every value the runbook's `${…}` can take with these bindings.
///
/// # Errors
/// Endpoints the inventory lacks (or has of another kind), variables that
/// cannot be resolved — each at its place in the runbook.
pub fn scope(runbook: &Runbook, b: &Bindings<'_>) -> Result<Scope, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut scope = Scope::default();
    scope.scrub_also(b.inventory.secrets());
    for (name, kind) in &runbook.endpoints {
        let at = runbook.endpoint_at.get(name).copied().unwrap_or(0);
        match b.inventory.endpoints.iter().find(|e| &e.name == name) {
            None => {
                let names: Vec<&str> = b.inventory.endpoints.iter().map(|e| e.name.as_str()).collect();
                errors.push(runbook.diagnostic(
                    at,
                    format!(
                        "endpoint \"{name}\" is not in the inventory \"{}\" (it has: {})",
                        b.inventory.name,
                        names.join(", ")
                    ),
                ));
            }
            Some(e) => {
                let bound = crate::events::name_of(&e.kind);
                if &bound != kind {
                    errors.push(
                        runbook.diagnostic(
                            at,
                            format!("endpoint \"{name}\" must be {kind}; the inventory makes it {bound}"),
                        ),
                    );
                }
                match (&e.mongo, &e.mysql) {
                    (Some(uri), _) => scope.set_mongo_endpoint(name, &e.dsn, uri),
                    (None, Some(url)) => scope.set_mysql_endpoint(name, &e.dsn, url),
                    (None, None) => scope.set_endpoint(name, &e.dsn),
                }
            }
        }
    }
    scope.set("operator", b.operator);
    for name in env_names(runbook) {
        if let Some(value) = (b.env)(&name) {
            if let Err(message) = scope.set_env(&name, &value, vars::looks_secret(&name)) {
                let at = runbook.text.find(&format!("${{env.{name}}}")).unwrap_or(0);
                errors.push(runbook.diagnostic(at, format!("${{env.{name}}}: {message}")));
            }
        }
    }
    let mut secret = Vec::new();
    for (name, var) in b.from_env {
        match (b.env)(var) {
            Some(value) => secret.push((name.clone(), value)),
            None => errors.push(
                runbook.diagnostic(0, format!("--var-env {name}={var}: the environment variable {var} is not set")),
            ),
        }
    }
    for (name, default) in &runbook.vars {
        if let Some((_, value)) = secret.iter().rev().find(|(k, _)| k == name) {
            if let Err(message) = scope.set_secret(name, value) {
                errors.push(runbook.diagnostic(0, format!("--var-env {name}: {message}")));
            }
            continue;
        }
        let given = b.overrides.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let value = match given.or_else(|| b.inventory.vars.get(name).cloned()) {
            Some(v) => match with_password_masked(&mut scope, name, v) {
                Ok(v) => v,
                Err(message) => {
                    errors.push(runbook.diagnostic(0, message));
                    continue;
                }
            },
            None => match scope.expand(&default.text, Context::Database) {
                Ok(v) => v,
                Err((offset, message)) => {
                    errors.push(runbook.diagnostic_in(default, offset, message));
                    continue;
                }
            },
        };
        scope.set_value(name, value);
    }
    for name in b.overrides.iter().chain(b.from_env).map(|(name, _)| name) {
        if !runbook.vars.contains_key(name) {
            let known: Vec<&str> = runbook.vars.keys().map(String::as_str).collect();
            errors.push(runbook.diagnostic(
                0,
                format!("--var {name}: the runbook has no such variable (it has: {})", known.join(", ")),
            ));
        }
    }
    if errors.is_empty() { Ok(scope) } else { Err(errors) }
}

/// A given value; one that is a connection string with a password (`password=`
/// or `scheme://user:password@`) has the password masked and scrubbed.
///
/// # Errors
/// The password is too short to mask.
fn with_password_masked(scope: &mut Scope, name: &str, value: String) -> Result<Value, String> {
    let looks_like_dsn = value.contains("password=") || value.split_once("://").is_some_and(|(_, r)| r.contains('@'));
    let password = looks_like_dsn
        .then(|| crate::inventory::dsn::parse(&value).ok())
        .flatten()
        .and_then(|dsn| dsn.password().map(str::to_owned));
    match password {
        Some(pw) if !pw.is_empty() => {
            scope.add_secret(&format!("the password in the variable {name}"), &pw)?;
            Ok(Value { shown: value.replace(&pw, crate::inventory::dsn::MASK), plain: value })
        }
        _ => Ok(Value::public(value)),
    }
}

/// Every `env.NAME` the runbook mentions.
fn env_names(runbook: &Runbook) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let guards = runbook.steps.iter().filter_map(|s| s.when.as_ref()).flat_map(|w| match w {
        Guard::Query { sql, expect, .. } => vec![sql, expect],
        Guard::Condition(_) => Vec::new(),
    });
    let texts = runbook.vars.values().chain(runbook.steps.iter().flat_map(|s| texts(&s.action))).chain(guards);
    for text in texts {
        for piece in vars::scan(&text.text).unwrap_or_default() {
            if let vars::Piece::Var { name, .. } = piece {
                if let Some(var) = name.strip_prefix("env.") {
                    names.insert(var.to_owned());
                }
            }
        }
    }
    names
}

fn texts(action: &ActionDef) -> Vec<&Text> {
    match action {
        ActionDef::Sql { run, .. } => run.iter().collect(),
        ActionDef::Generate { sql, .. } | ActionDef::Shell { run: sql } | ActionDef::Manual { instructions: sql } => {
            vec![sql]
        }
        ActionDef::CheckSql { sql, expect, .. } | ActionDef::WaitSql { sql, expect, .. } => vec![sql, expect],
        ActionDef::Mongo { leaves, .. } => leaves.iter().collect(),
        ActionDef::Reconfig { add, remove, priority, .. } => {
            add.iter().chain(remove).chain(priority.iter().map(|(h, _)| h)).collect()
        }
        ActionDef::Pooler { database, .. } => database.iter().collect(),
        ActionDef::RestorePoint { name, .. } => name.iter().collect(),
        ActionDef::CheckCondition(_) | ActionDef::WaitCondition { .. } | ActionDef::Verify { .. } => Vec::new(),
    }
}

/// A `pgbouncer` step resolved: the admin command, or the repoint planned
/// against the pooler's ini file (read now: `plan` shows the line before and after).
fn pooler(
    on: &str,
    verb: super::PoolerVerb,
    database: Option<(String, &Text)>,
    to: Option<&String>,
    inventory: &Inventory,
) -> Result<Resolved, (usize, String)> {
    use super::PoolerVerb;
    use super::pooler::{Op, Repoint, plan, repointed};
    use crate::inventory::pooler::Where;
    let name = database.as_ref().map(|(d, _)| d.clone());
    let op = match verb {
        PoolerVerb::Pause => Op::Pause(name),
        PoolerVerb::Resume => Op::Resume(name),
        PoolerVerb::Reload => Op::Reload,
        PoolerVerb::Repoint => {
            let (db, text) = database.ok_or((0, "a repoint names its database".to_owned()))?;
            let to = to.cloned().unwrap_or_default();
            let find = |n: &str| inventory.endpoints.iter().find(|e| e.name == n);
            let target = find(&to).ok_or((text.at, format!("endpoint \"{to}\" is not in the inventory")))?;
            if target.kind != crate::events::EndpointKind::Postgres {
                return Err((text.at, format!("a repoint goes to a PostgreSQL endpoint; \"{to}\" is not one")));
            }
            let pooler = find(on).ok_or((text.at, format!("endpoint \"{on}\" is not in the inventory")))?;
            let repoint = match &pooler.pooler {
                None => {
                    return Err((
                        text.at,
                        format!(
                            "endpoint \"{on}\" says nowhere how to repoint it: give it `ini = \"/etc/pgbouncer/pgbouncer.ini\"` \
                             (on this machine) or `repoint_command` in the inventory"
                        ),
                    ));
                }
                Some(Where::File(path)) => plan(path, &db, &to, &target.dsn).map_err(|m| (text.at, m))?,
                Some(Where::Command(command)) => Repoint {
                    database: db.clone(),
                    to: to.clone(),
                    place: Where::Command(command.clone()),
                    before: None,
                    after: repointed(&format!("{db} ="), &target.dsn),
                },
            };
            return Ok(Resolved::Pooler {
                on: on.to_owned(),
                op: Op::Repoint { database: db, to },
                repoint: Some(repoint),
            });
        }
    };
    Ok(Resolved::Pooler { on: on.to_owned(), op, repoint: None })
}

/// Resolve every step.
///
/// # Errors
/// Every reference that cannot be resolved, at its place in the runbook.
pub fn resolve(runbook: &Runbook, scope: &Scope, inventory: &Inventory) -> Result<Vec<Planned>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut planned = Vec::new();
    for step in &runbook.steps {
        let mut expand = |t: &Text, context: Context| {
            scope.expand(&t.text, context).unwrap_or_else(|(offset, message)| {
                errors.push(runbook.diagnostic_in(t, offset, message));
                Value::default()
            })
        };
        let when = step.when.as_ref().map(|w| match w {
            Guard::Query { on, sql, expect } => Resolved::CheckSql {
                on: on.clone(),
                sql: expand(sql, Context::Sql),
                expect: expand(expect, Context::Database),
            },
            Guard::Condition(c) => Resolved::CheckCondition(c.clone()),
        });
        let action = match &step.action {
            ActionDef::Sql { on, run } => {
                Resolved::Sql { on: on.clone(), run: run.iter().map(|t| expand(t, Context::Sql)).collect() }
            }
            ActionDef::Generate { on, from, sql } => {
                Resolved::Generate { on: on.clone(), from: from.clone(), sql: expand(sql, Context::Sql) }
            }
            ActionDef::CheckSql { on, sql, expect } => Resolved::CheckSql {
                on: on.clone(),
                sql: expand(sql, Context::Sql),
                expect: expand(expect, Context::Database),
            },
            ActionDef::CheckCondition(c) => Resolved::CheckCondition(c.clone()),
            ActionDef::WaitCondition { until, hold_for } => {
                Resolved::WaitCondition { until: until.clone(), hold_for: *hold_for }
            }
            ActionDef::WaitSql { on, sql, expect } => Resolved::WaitSql {
                on: on.clone(),
                sql: expand(sql, Context::Sql),
                expect: expand(expect, Context::Database),
            },
            ActionDef::Shell { run } => {
                let command = scope.expand_shell(&run.text).unwrap_or_else(|(offset, message)| {
                    errors.push(runbook.diagnostic_in(run, offset, message));
                    vars::ShellCommand::default()
                });
                Resolved::Shell { run: command.run, env: command.env }
            }
            ActionDef::Verify { source, target, tables, settle } => Resolved::Verify {
                source: source.clone(),
                target: target.clone(),
                tables: tables.clone(),
                settle: *settle,
            },
            ActionDef::Manual { instructions } => {
                Resolved::Manual { instructions: expand(instructions, Context::Database) }
            }
            ActionDef::RestorePoint { on, name } => {
                Resolved::RestorePoint { on: on.clone(), name: name.as_ref().map(|t| expand(t, Context::Database)) }
            }
            ActionDef::Mongo { on, db, command, leaves } => {
                let values: Vec<Value> = leaves.iter().map(|t| expand(t, Context::Database)).collect();
                let plain = with_strings(command, &mut values.iter().map(|v| v.plain.clone()));
                let shown = with_strings(command, &mut values.iter().map(|v| v.shown.clone()));
                let command = Value { plain: plain.to_string(), shown: shown.to_string() };
                Resolved::Mongo { on: on.clone(), db: db.clone(), command }
            }
            ActionDef::Pooler { on, verb, database, to, .. } => {
                let database = database.as_ref().map(|t| (expand(t, Context::Database).plain, t));
                match pooler(on, *verb, database, to.as_ref(), inventory) {
                    Ok(resolved) => resolved,
                    Err((at, message)) => {
                        errors.push(runbook.diagnostic(at, message));
                        continue;
                    }
                }
            }
            ActionDef::Reconfig { on, add, remove, priority } => Resolved::Reconfig {
                on: on.clone(),
                add: add.iter().map(|t| expand(t, Context::Database)).collect(),
                remove: remove.iter().map(|t| expand(t, Context::Database)).collect(),
                priority: priority.iter().map(|(t, p)| (expand(t, Context::Database), *p)).collect(),
            },
        };
        let shows = shows::lines(step, when.as_ref(), &action, inventory).iter().map(|l| scope.scrub(l)).collect();
        planned.push(Planned { id: step.id.clone(), action, when, shows });
    }
    if errors.is_empty() { Ok(planned) } else { Err(errors) }
}

/// `value` with its strings, in document order, replaced by `strings`' (the
/// order the checker lists them in: depth first, object values in order).
fn with_strings(value: &serde_json::Value, strings: &mut dyn Iterator<Item = String>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::String(s) => J::String(strings.next().unwrap_or_else(|| s.clone())),
        J::Array(items) => J::Array(items.iter().map(|v| with_strings(v, strings)).collect()),
        J::Object(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), with_strings(v, strings))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNBOOK: &str = r#"
name = "m"
[endpoints]
set = { kind = "mongodb" }
[[phase]]
name = "One"
[[phase.step]]
name = "Probe"
mongo = { on = "set", command = { insert = "probe", documents = [{ by = "${operator}", token = "${env.APP_TOKEN}" }] } }
[[phase.step]]
name = "Status"
mongo = { on = "set", command = '{"replSetGetStatus": 1}' }
[[phase.step]]
name = "Shell"
shell = { run = "mongosh '${set.uri}' --quiet" }
[[phase.step]]
name = "Add"
mongo = { on = "set", reconfig = { add = ["${set.host}:2${set.port}"], priority = { "${set.host}:2${set.port}" = 0 } } }
[[phase]]
name = "Rollback"
rollback = true
"#;

    #[test]
    fn mongo_steps_expand_variables_in_every_string_and_keep_secrets_out_of_sight() {
        let runbook = super::super::parse("m.toml", RUNBOOK).unwrap();
        let inv = "[endpoints.set]\nkind = \"mongodb\"\nuri = \"mongodb://ops@h1:27017,h2:27017/app?replicaSet=rs0\"\npassword_env = \"MPW\"\n";
        let env = |name: &str| match name {
            "MPW" => Some("pa:ss@word".to_owned()),
            "APP_TOKEN" => Some("tok-123".to_owned()),
            _ => None,
        };
        let inventory = crate::inventory::parse("inv.toml", inv, &env).unwrap();
        let b = Bindings { inventory: &inventory, overrides: &[], from_env: &[], operator: "ana", env: &env };
        let scope = scope(&runbook, &b).unwrap();
        let planned = resolve(&runbook, &scope, &inventory).unwrap();
        let Resolved::Mongo { db, command, .. } = &planned[0].action else { panic!("{:?}", planned[0]) };
        assert_eq!(db, &None, "insert runs in the uri's database");
        assert_eq!(command.plain, r#"{"insert":"probe","documents":[{"by":"ana","token":"tok-123"}]}"#);
        assert_eq!(command.shown, r#"{"insert":"probe","documents":[{"by":"ana","token":"******"}]}"#);
        let Resolved::Mongo { db, .. } = &planned[1].action else { panic!("{:?}", planned[1]) };
        assert_eq!(db.as_deref(), Some("admin"), "replSet* commands run in admin");
        assert_eq!(planned[1].shows[0], r#"on set, database admin: {"replSetGetStatus":1}"#);
        let Resolved::Shell { run, env } = &planned[2].action else { panic!() };
        assert_eq!(run.plain, "mongosh ''\"${CUTOVER_V1}\"'' --quiet", "the value goes through the environment");
        assert_eq!(
            env,
            &[("CUTOVER_V1".to_owned(), "mongodb://ops@h1:27017,h2:27017/app?replicaSet=rs0".to_owned())],
            "no password for a command"
        );
        assert_eq!(run.shown, "mongosh 'mongodb://ops@h1:27017,h2:27017/app?replicaSet=rs0' --quiet");
        let Resolved::Reconfig { add, priority, .. } = &planned[3].action else { panic!() };
        assert_eq!((add[0].plain.as_str(), priority[0].1), ("h1:227017", 0.0));
        assert_eq!(
            planned[3].shows[..3],
            ["on set, one replSetReconfig per change:", "  add member h1:227017", "  set priority h1:227017 = 0"]
        );
        assert!(planned.iter().flat_map(|p| &p.shows).all(|l| !l.contains("pa:ss") && !l.contains("tok-123")));
        // The uri with its password, for a driver: percent-encoded.
        assert_eq!(
            scope.expand("${set.uri}", Context::Database).unwrap().plain,
            "mongodb://ops:pa%3Ass%40word@h1:27017,h2:27017/app?replicaSet=rs0"
        );
        assert_eq!(
            scope.expand("${set.uri}", Context::Database).unwrap().shown,
            "mongodb://ops:******@h1:27017,h2:27017/app?replicaSet=rs0"
        );
    }
}
