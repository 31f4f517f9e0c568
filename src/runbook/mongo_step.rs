//! The checker's part for `mongo` steps: a database command given as a TOML
//! table or as JSON, with `${…}` in any of its strings, and the database it
//! runs in.

use toml::Spanned;

use super::{ActionDef, Checker, Text, content_start, file_offset, vars};

impl Checker<'_> {
    /// A database command as a TOML table or a JSON string; every string in
    /// it may hold `${…}` (checked here, reported at the command).
    pub(super) fn mongo_command(
        &mut self,
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
                    let start = content_start(self.text, at);
                    let message = e.to_string();
                    let message = message.split(" at line ").next().unwrap_or_default();
                    self.error(file_offset(self.text, start, offset), format!("the command is not JSON: {message}"));
                    return None;
                }
            },
            other => match serde_json::to_value(other) {
                Ok(v) => v,
                Err(e) => {
                    self.error(at, format!("mongo command: {e}"));
                    return None;
                }
            },
        };
        if value.as_object().is_none_or(serde_json::Map::is_empty) {
            self.error(at, "mongo command: give a document whose first key names the command, e.g. { ping = 1 }");
            return None;
        }
        let mut leaves = Vec::new();
        json_strings(&value, &mut |s| leaves.push(Text { text: s.to_owned(), at }));
        for leaf in &leaves {
            if let Err((_, message)) = vars::scan(&leaf.text) {
                self.error(at, format!("in the command, \"{}\": {message}", leaf.text));
            } else {
                for piece in vars::scan(&leaf.text).unwrap_or_default() {
                    if let vars::Piece::Var { name, .. } = piece {
                        if let Some(message) = self.unknown_variable(name) {
                            self.error(at, format!("in the command, ${{{name}}}: {message}"));
                        }
                    }
                }
            }
        }
        let name = value.as_object().and_then(|o| o.keys().next()).cloned().unwrap_or_default();
        let db = db.or_else(|| admin_command(&name).then(|| "admin".to_owned()));
        Some(ActionDef::Mongo { on, db, command: value, leaves })
    }
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
