//! The fleet file: one runbook, its members, and the wave plan.
//!
//! ```toml
//! name    = "orders shards"
//! runbook = "../runbooks/pg-logical-migration.toml"   # relative to this file
//! inventory = "shard.inventory.toml"   # a template for every member (optional)
//!
//! [waves]
//! sizes       = [1, 3, "rest"]   # a canary, then three, then the rest
//! concurrency = 4                # members running at once, at most
//! stop_on_failure = true         # no member starts once one has failed
//! max_red     = "10m"            # a gate closed this long fails the member
//! on_failure  = "rollback"       # or "hold": what becomes of a failed member
//!
//! [[member]]
//! name = "shard-01"
//! vars = { shard = "01" }        # the runbook's variables; ${shard} in the template
//! ```
//!
//! Every problem is a `FILE:LINE:COL: message`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;

/// A fleet, checked: paths resolved against the fleet file's directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    pub name: String,
    pub path: PathBuf,
    pub runbook: PathBuf,
    /// Where the members' journals and the fleet's own go.
    pub journals: PathBuf,
    pub members: Vec<Member>,
    pub waves: Vec<WaveSize>,
    pub concurrency: usize,
    pub stop_on_failure: bool,
    /// A member's gate closed this long fails the step (and the member).
    pub max_red: Option<Duration>,
    pub on_failure: OnFailure,
}

/// One member: a name, its inventory and runbook variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub inventory: Inventory,
    /// Its variables: the runbook's, and the inventory template's.
    pub vars: Vec<(String, String)>,
    /// The variables its inventory template used.
    pub template_vars: BTreeSet<String>,
}

/// Where a member's inventory comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inventory {
    /// A file of its own.
    File(PathBuf),
    /// The fleet's template with `${name}` replaced by the member's
    /// variables (and `${member}` by its name): the text to write.
    Expanded(String),
}

/// How many members a wave takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaveSize {
    Count(usize),
    /// Every member left.
    Rest,
}

/// What becomes of a member whose run fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Its runbook's rollback phase runs (the default).
    #[default]
    Rollback,
    /// It stays as it stopped, for the operator (`fleet resume` decides).
    Hold,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    name: Option<String>,
    runbook: Spanned<String>,
    inventory: Option<Spanned<String>>,
    journals: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    waves: Option<WavesFile>,
    #[serde(default, rename = "member")]
    members: Vec<MemberFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WavesFile {
    sizes: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    concurrency: Option<Spanned<i64>>,
    stop_on_failure: Option<bool>,
    max_red: Option<Spanned<String>>,
    on_failure: Option<OnFailure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    name: Spanned<String>,
    inventory: Option<Spanned<String>>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
}

/// The default wave plan: a canary, then everyone.
const DEFAULT_WAVES: [WaveSize; 2] = [WaveSize::Count(1), WaveSize::Rest];
/// The default concurrency.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// Load and check a fleet file.
///
/// # Errors
/// Every problem, as `FILE:LINE:COL: message` lines.
pub fn load(path: &Path) -> Result<Fleet> {
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read fleet file {}", path.display()))?;
    parse(path, &text).map_err(|errors| eyre!("{}", crate::runbook::render(&errors)))
}

/// Check a fleet file's text.
///
/// # Errors
/// Every problem found, in file order.
pub fn parse(path: &Path, text: &str) -> Result<Fleet, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let parsed: FleetFile = toml::from_str(text).map_err(|e| vec![Diagnostic::from_toml(&file, text, &e)])?;
    let dir = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut errors = Vec::new();
    let at = |span: std::ops::Range<usize>, message: String| Diagnostic::at_offset(&file, text, span.start, message);

    let runbook = dir.join(parsed.runbook.get_ref());
    if !runbook.is_file() {
        errors.push(at(parsed.runbook.span(), format!("no runbook at {}", runbook.display())));
    }
    let template = match &parsed.inventory {
        Some(t) => {
            let p = dir.join(t.get_ref());
            match std::fs::read_to_string(&p) {
                Ok(text) => Some((p, text)),
                Err(e) => {
                    errors.push(at(t.span(), format!("cannot read the inventory template {}: {e}", p.display())));
                    None
                }
            }
        }
        None => None,
    };

    let mut members = Vec::new();
    let mut seen = HashSet::new();
    if parsed.members.is_empty() {
        errors.push(at(0..0, "a fleet needs members: add [[member]] tables with a name each".to_owned()));
    }
    for m in &parsed.members {
        let name = m.name.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            errors.push(at(m.name.span(), format!("member name \"{name}\": use letters, digits, '-', '_' and '.'")));
            continue;
        }
        if !seen.insert(name.clone()) {
            errors.push(at(m.name.span(), format!("member \"{name}\" is listed twice")));
            continue;
        }
        let mut vars: BTreeMap<String, String> = parsed.vars.clone();
        vars.extend(m.vars.clone());
        let mut template_vars = BTreeSet::new();
        let inventory = match (&m.inventory, &template) {
            (Some(own), _) => {
                let p = dir.join(own.get_ref());
                if !p.is_file() {
                    errors.push(at(own.span(), format!("no inventory at {}", p.display())));
                }
                Inventory::File(p)
            }
            (None, Some((tpath, ttext))) => {
                let mut subst = vars.clone();
                subst.insert("member".to_owned(), name.clone());
                match expand(ttext, &subst) {
                    Ok((text, used)) => {
                        template_vars = used;
                        Inventory::Expanded(text)
                    }
                    Err((offset, var)) => {
                        errors.push(Diagnostic::at_offset(
                            &tpath.display().to_string(),
                            ttext,
                            offset,
                            format!("member \"{name}\" gives no value for ${{{var}}} (set it in its vars)"),
                        ));
                        continue;
                    }
                }
            }
            (None, None) => {
                errors.push(at(
                    m.name.span(),
                    format!("member \"{name}\" has no inventory, and the fleet no template (`inventory = ...`)"),
                ));
                continue;
            }
        };
        members.push(Member { name: name.clone(), inventory, vars: vars.into_iter().collect(), template_vars });
    }

    let waves_file = parsed.waves.as_ref();
    let mut waves = Vec::new();
    match waves_file.and_then(|w| w.sizes.as_ref()) {
        None => waves.extend(DEFAULT_WAVES),
        Some(sizes) => {
            if sizes.get_ref().is_empty() {
                errors.push(at(sizes.span(), "waves.sizes is empty: say how many members each wave takes".to_owned()));
            }
            let count = sizes.get_ref().len();
            for (i, size) in sizes.get_ref().iter().enumerate() {
                match size.get_ref() {
                    toml::Value::Integer(n) if *n >= 1 => waves.push(WaveSize::Count(usize::try_from(*n).unwrap_or(1))),
                    toml::Value::String(s) if s == "rest" && i + 1 == count => waves.push(WaveSize::Rest),
                    toml::Value::String(s) if s == "rest" => {
                        errors.push(at(
                            size.span(),
                            "\"rest\" takes every member left: it can only be the last wave".to_owned(),
                        ));
                    }
                    other => errors.push(at(
                        size.span(),
                        format!("a wave is a count of members (1 or more) or \"rest\", not {other}"),
                    )),
                }
            }
            let fixed: usize = waves.iter().map(|w| if let WaveSize::Count(n) = w { *n } else { 0 }).sum();
            if !waves.contains(&WaveSize::Rest) && fixed < members.len() && errors.is_empty() {
                errors.push(at(
                    sizes.span(),
                    format!(
                        "the waves take {fixed} of the {} members: end them with \"rest\" or list fewer members",
                        members.len()
                    ),
                ));
            }
        }
    }
    let concurrency = match waves_file.and_then(|w| w.concurrency.as_ref()) {
        None => DEFAULT_CONCURRENCY,
        Some(c) if *c.get_ref() >= 1 => usize::try_from(*c.get_ref()).unwrap_or(DEFAULT_CONCURRENCY),
        Some(c) => {
            errors.push(at(c.span(), "concurrency must be 1 or more".to_owned()));
            DEFAULT_CONCURRENCY
        }
    };
    let max_red = match waves_file.and_then(|w| w.max_red.as_ref()) {
        None => None,
        Some(t) => match crate::quantity::parse(t.get_ref(), crate::quantity::Unit::Seconds) {
            Ok(s) if s > 0.0 => Some(Duration::from_secs_f64(s)),
            Ok(_) => {
                errors.push(at(t.span(), "max_red must be more than 0".to_owned()));
                None
            }
            Err(e) => {
                errors.push(at(t.span(), format!("max_red: {e}")));
                None
            }
        },
    };
    if !errors.is_empty() {
        errors.sort_by_key(|d| (d.file != file, d.line, d.col));
        return Err(errors);
    }
    let stem = path.file_stem().map_or_else(|| "fleet".into(), |s| s.to_string_lossy().into_owned());
    let journals = match &parsed.journals {
        Some(j) => dir.join(j),
        None => dir.join(format!("{stem}-journals")),
    };
    Ok(Fleet {
        name: parsed.name.unwrap_or(stem),
        path: path.to_owned(),
        runbook,
        journals,
        members,
        waves,
        concurrency,
        stop_on_failure: waves_file.and_then(|w| w.stop_on_failure).unwrap_or(true),
        max_red,
        on_failure: waves_file.and_then(|w| w.on_failure).unwrap_or_default(),
    })
}

/// `${name}` replaced from `vars`, and the names used; `$$` is a dollar.
/// Err: the byte offset and name of the first variable without a value.
fn expand(text: &str, vars: &BTreeMap<String, String>) -> Result<(String, BTreeSet<String>), (usize, String)> {
    let mut used = BTreeSet::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            offset += i + 2;
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else { return Err((offset + i, String::new())) };
            let name = &body[..end];
            let value = vars.get(name).ok_or_else(|| (offset + i, name.to_owned()))?;
            out.push_str(value);
            used.insert(name.to_owned());
            offset += i + 2 + end + 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            offset += i + 1;
            rest = after;
        }
    }
    out.push_str(rest);
    Ok((out, used))
}

impl Fleet {
    /// Every member variable is the runbook's or the template's: one that
    /// is neither is a typo, refused before anything runs.
    ///
    /// # Errors
    /// The members' variables nobody uses.
    pub fn check_vars(&self, runbook: &crate::runbook::Runbook) -> Result<()> {
        let unused: Vec<String> = self
            .members
            .iter()
            .flat_map(|m| {
                m.vars
                    .iter()
                    .filter(|(k, _)| !runbook.vars.contains_key(k) && !m.template_vars.contains(k))
                    .map(move |(k, _)| format!("{}: {k}", m.name))
            })
            .collect();
        if unused.is_empty() {
            return Ok(());
        }
        Err(eyre!(
            "{}: variables that neither the runbook ({}) nor the inventory template uses: {}",
            self.path.display(),
            runbook.vars.keys().cloned().collect::<Vec<_>>().join(", "),
            unused.join(", ")
        ))
    }

    /// A member's variables that are the runbook's (`--var` of its run).
    #[must_use]
    pub fn runbook_vars(member: &Member, runbook: &crate::runbook::Runbook) -> Vec<(String, String)> {
        member.vars.iter().filter(|(k, _)| runbook.vars.contains_key(k)).cloned().collect()
    }

    /// The members of each wave, by index into `members`.
    #[must_use]
    pub fn wave_members(&self) -> Vec<Vec<usize>> {
        plan_waves(&self.waves, self.members.len())
    }
}

/// Cut `n` members into waves of `sizes` (the last wave stops at `n`; a
/// plan without `"rest"` that takes fewer leaves no one out: checked above).
#[must_use]
pub fn plan_waves(sizes: &[WaveSize], n: usize) -> Vec<Vec<usize>> {
    let mut waves = Vec::new();
    let mut next = 0;
    for size in sizes {
        if next >= n {
            break;
        }
        let take = match size {
            WaveSize::Count(k) => *k,
            WaveSize::Rest => n - next,
        };
        let end = (next + take).min(n);
        waves.push((next..end).collect());
        next = end;
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(dir: &Path, text: &str) -> Result<Fleet, Vec<Diagnostic>> {
        std::fs::write(dir.join("rb.toml"), "name = \"x\"\n").unwrap();
        std::fs::write(dir.join("inv.toml"), "[endpoints]\n").unwrap();
        parse(&dir.join("fleet.toml"), text)
    }

    #[test]
    fn waves_cut_the_members_in_order() {
        let sizes = [WaveSize::Count(1), WaveSize::Count(3), WaveSize::Rest];
        assert_eq!(plan_waves(&sizes, 8), vec![vec![0], vec![1, 2, 3], vec![4, 5, 6, 7]]);
        assert_eq!(plan_waves(&sizes, 2), vec![vec![0], vec![1]]);
        assert_eq!(plan_waves(&[WaveSize::Count(2), WaveSize::Count(2)], 3), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn a_template_is_expanded_per_member() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tpl.toml"), "dsn = \"port=${port} dbname=${member}\" cost = \"$$5\"").unwrap();
        let f = fleet(
            dir.path(),
            "runbook = \"rb.toml\"\ninventory = \"tpl.toml\"\n[waves]\nsizes = [1, \"rest\"]\n\
             [[member]]\nname = \"s1\"\nvars = { port = \"5433\" }\n[[member]]\nname = \"s2\"\nvars = { port = \"5434\" }\n",
        )
        .unwrap();
        assert_eq!(f.members[1].inventory, Inventory::Expanded("dsn = \"port=5434 dbname=s2\" cost = \"$5\"".into()));
        assert_eq!(f.members[0].vars, vec![("port".to_owned(), "5433".to_owned())]);
        assert_eq!(f.wave_members(), vec![vec![0], vec![1]]);
        assert_eq!(f.journals, dir.path().join("fleet-journals"));
    }

    #[test]
    fn problems_point_at_file_line_col() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tpl.toml"), "a = 1\ndsn = \"port=${port}\"\n").unwrap();
        let errors = fleet(
            dir.path(),
            "runbook = \"rb.toml\"\ninventory = \"tpl.toml\"\n[waves]\nsizes = [\"rest\", 2]\nconcurrency = 0\n\
             [[member]]\nname = \"s1\"\n[[member]]\nname = \"s1\"\n",
        )
        .unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let f = dir.path().join("fleet.toml").display().to_string();
        let t = dir.path().join("tpl.toml").display().to_string();
        assert_eq!(
            lines,
            vec![
                format!("{f}:4:10: \"rest\" takes every member left: it can only be the last wave"),
                format!("{f}:5:15: concurrency must be 1 or more"),
                format!("{f}:9:8: member \"s1\" is listed twice"),
                format!("{t}:2:13: member \"s1\" gives no value for ${{port}} (set it in its vars)"),
            ]
        );
    }

    #[test]
    fn waves_that_leave_members_out_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let errors = fleet(
            dir.path(),
            "runbook = \"rb.toml\"\n[waves]\nsizes = [1]\n[[member]]\nname = \"a\"\ninventory = \"inv.toml\"\n\
             [[member]]\nname = \"b\"\ninventory = \"inv.toml\"\n",
        )
        .unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .ends_with(":3:9: the waves take 1 of the 2 members: end them with \"rest\" or list fewer members"),
            "{errors:?}"
        );
    }
}
