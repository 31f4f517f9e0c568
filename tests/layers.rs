//! Every arrow between the top-level modules of `src/` points down the layer
//! table in `src/lib.rs`'s documentation: a module refers only to modules of
//! lower layers. The exceptions are listed below, each with its reason; an
//! exception the code no longer needs fails the check too, so the lists only
//! shrink. `scripts/module-graph` prints the same references as a graph.
//!
//! A file belongs to the module named by its first path component (`src/foo.rs`,
//! `src/foo/...`: `foo`; `src/main.rs`: `main`). A reference is a path that
//! names another top-level module: `crate::foo`, each item of a
//! `use crate::{foo, bar::baz}` group, a `super::` chain that climbs to the crate
//! root, or `cutover::foo` in `main.rs`. Comments and literals do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Arrows that point up, until the code no longer needs them.
const UPWARD: &[(&str, &str, &str)] =
    &[("replay", "ui", "test only: replay/tests.rs draws the replayed state with ui::draw")];

/// Arrows between two modules of the same layer.
const SIDEWAYS: &[(&str, &str, &str)] = &[];

/// The layer table: for each module, its layer (1 at the bottom).
fn layer_table(lib_rs: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut layers = BTreeMap::new();
    for line in lib_rs.lines() {
        let Some(row) = line.strip_prefix("//! |") else { continue };
        let cells: Vec<&str> = row.split('|').collect();
        let Ok(layer) = cells[0].trim().parse::<usize>() else { continue };
        let Some(modules) = cells.get(1) else { return Err(format!("layer {layer} lists no modules")) };
        for name in modules.split('`').skip(1).step_by(2) {
            if let Some(other) = layers.insert(name.to_owned(), layer) {
                return Err(format!("`{name}` stands in layers {other} and {layer}"));
            }
        }
    }
    if layers.is_empty() {
        return Err("no layer table (rows `//! | N | `module`, ... | ... |`)".to_owned());
    }
    Ok(layers)
}

/// `text` with comments, string and character literals blanked out (line breaks kept).
fn blank(text: &str) -> Vec<char> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let n = chars.len();
    let clear = |from: usize, to: usize, out: &mut Vec<char>| {
        for c in &mut out[from..to.min(n)] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let at = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| chars.get(i + k) == Some(&c));
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let start = i;
        if at(i, "//") {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 1;
            i += 2;
            while i < n && depth > 0 {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (i == 0 || !ident(chars[i - 1])) && {
            let mut j = i + 1;
            while j < n && chars[j] == '#' {
                j += 1;
            }
            j < n && chars[j] == '"'
        } {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            i += 2 + hashes;
            while i < n && !at(i, &close) {
                i += 1;
            }
            i += close.chars().count();
        } else if c == '"' {
            i += 1;
            while i < n && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}'); else a lifetime.
            let end = if chars.get(i + 1) == Some(&'\\') {
                (i + 3..n).find(|&j| chars[j] == '\'')
            } else {
                (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
            };
            i = end.map_or(i + 1, |e| e + 1);
            if end.is_none() {
                continue;
            }
        } else {
            i += 1;
            continue;
        }
        clear(start, i, &mut out);
    }
    out
}

/// The tokens of blanked text, each with its line: identifiers, `::` and single characters.
fn tokens(code: &[char]) -> Vec<(String, usize)> {
    let mut toks = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < code.len() {
        let c = code[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_') {
                i += 1;
            }
            toks.push((code[start..i].iter().collect(), line));
        } else if c == ':' && code.get(i + 1) == Some(&':') {
            toks.push(("::".to_owned(), line));
            i += 2;
        } else {
            toks.push((c.to_string(), line));
            i += 1;
        }
    }
    toks
}

/// The module path of a file by its place: `runbook/plan.rs` is `runbook::plan`, `ui/mod.rs` is `ui`.
fn file_module(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
    if parts.len() == 1 && parts[0] == "main" || parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The top-level module a file belongs to.
fn top_module(rel: &str) -> String {
    rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs").to_owned()
}

/// `#[path = "x.rs"] mod name;` makes `x.rs` the module `name` of its declarer.
fn path_overrides(files: &BTreeMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let mut over = BTreeMap::new();
    for (rel, text) in files {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#[path") {
            rest = &rest[at + 6..];
            let Some(file) = rest.split('"').nth(1) else { continue };
            let after = rest.splitn(3, '"').nth(2).unwrap_or_default();
            let Some((_, decl)) = after.split_once("mod ") else { continue };
            let name: String = decl.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
            let target = dir.join(file).to_string_lossy().replace('\\', "/");
            let mut module = file_module(rel);
            module.push(name);
            over.insert(target, module);
        }
    }
    over
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Reference {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// Every reference from one file to a top-level module in `modules` (itself included).
fn references(rel: &str, text: &str, module: &[String], modules: &BTreeSet<String>) -> Vec<Reference> {
    let toks = tokens(&blank(text));
    let from = top_module(rel);
    let mut refs = Vec::new();
    let mut found = |name: &str, line: usize| {
        if modules.contains(name) {
            refs.push(Reference { file: rel.to_owned(), line, from: from.clone(), to: name.to_owned() });
        }
    };
    let tok = |k: usize| toks.get(k).map_or("", |(t, _)| t.as_str());
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0;
    let mut k = 0;
    while k < toks.len() {
        let t = tok(k);
        let rooted = t == "crate" || t == "super" || (t == "cutover" && rel == "main.rs");
        if t == "{" {
            depth += 1;
        } else if t == "}" {
            depth -= 1;
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
        } else if t == "mod" && tok(k + 2) == "{" && tok(k + 1).chars().all(|c| c.is_alphanumeric() || c == '_') {
            inline.push((tok(k + 1).to_owned(), depth));
        } else if rooted && tok(k + 1) == "::" && (k == 0 || tok(k - 1) != "::") {
            let mut j = k;
            let at_root = if t == "super" {
                let mut ups = 0;
                while tok(j) == "super" && tok(j + 1) == "::" {
                    ups += 1;
                    j += 2;
                }
                ups == module.len() + inline.len()
            } else {
                j += 2;
                true
            };
            if at_root && tok(j) == "{" {
                // The first name of each item of the group.
                let mut level = 0;
                let mut m = j;
                while m < toks.len() {
                    match tok(m) {
                        "{" => level += 1,
                        "}" => level -= 1,
                        _ => {}
                    }
                    if level == 0 {
                        break;
                    }
                    if level == 1 && (tok(m) == "{" || tok(m) == ",") {
                        if let Some((name, line)) = toks.get(m + 1) {
                            found(name, *line);
                        }
                    }
                    m += 1;
                }
            } else if at_root && j < toks.len() {
                found(tok(j), toks[j].1);
            }
            k = j;
            continue;
        }
        k += 1;
    }
    refs
}

/// What is wrong with the arrows between the modules of `files` (paths relative to `src/`).
fn check(
    files: &BTreeMap<String, String>,
    layers: &BTreeMap<String, usize>,
    upward: &[(&str, &str, &str)],
    sideways: &[(&str, &str, &str)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let over = path_overrides(files);
    let mut modules: BTreeSet<String> = layers.keys().cloned().collect();
    modules.extend(files.keys().filter(|rel| rel.as_str() != "lib.rs").map(|rel| top_module(rel)));
    for m in &modules {
        if !layers.contains_key(m) {
            problems.push(format!("module `{m}` stands in no layer of the table in src/lib.rs"));
        }
    }
    let mut used = BTreeSet::new();
    for (rel, text) in files {
        if rel == "lib.rs" {
            continue;
        }
        let module = over.get(rel).cloned().unwrap_or_else(|| file_module(rel));
        for r in references(rel, text, &module, &modules) {
            let (Some(&from), Some(&to)) = (layers.get(&r.from), layers.get(&r.to)) else { continue };
            if r.from == r.to || to < from {
                continue;
            }
            let listed = if to > from { upward } else { sideways };
            if listed.iter().any(|(a, b, _)| *a == r.from && *b == r.to) {
                used.insert((r.from.clone(), r.to.clone()));
                continue;
            }
            let how = if to > from { "a higher layer" } else { "the same layer" };
            problems.push(format!(
                "src/{}:{}: `{}` (layer {from}) refers to `{}` (layer {to}, {how})",
                r.file, r.line, r.from, r.to
            ));
        }
    }
    for (list, name) in [(upward, "UPWARD"), (sideways, "SIDEWAYS")] {
        for (a, b, _) in list {
            if !used.contains(&((*a).to_owned(), (*b).to_owned())) {
                problems.push(format!("{name} lists `{a}` -> `{b}`, which the code no longer has: strike it out"));
            }
        }
    }
    problems
}

fn read_tree(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("read {}: {e}", dir.display())).path();
        if path.is_dir() {
            read_tree(&path, root, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            files.insert(rel, text);
        }
    }
}

#[test]
fn every_arrow_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_tree(&src, &src, &mut files);
    let layers = layer_table(&files["lib.rs"]).unwrap_or_else(|e| panic!("src/lib.rs: {e}"));
    let problems = check(&files, &layers, UPWARD, SIDEWAYS);
    assert!(problems.is_empty(), "arrows between modules:\n{}", problems.join("\n"));
}

fn fake(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect()
}

const FAKE_LIB: &str = "//! | layer | modules |\n//! | --- | --- |\n//! | 1 | `low`, `leaf` |\n//! | 2 | `high` |\n\
                        //! | 3 | `later` |\n";

#[test]
fn the_check_reports_an_arrow_up_with_its_file_and_line() {
    let files = fake(&[
        ("lib.rs", FAKE_LIB),
        ("high/mod.rs", "use crate::low::Thing;\n"),
        ("low.rs", "// crate::high in a comment\nconst S: &str = \"crate::high\";\n\nuse crate::high::Up;\n"),
    ]);
    let layers = layer_table(FAKE_LIB).expect("the fake table");
    assert_eq!(
        check(&files, &layers, &[], &[]),
        ["src/low.rs:4: `low` (layer 1) refers to `high` (layer 2, a higher layer)"]
    );
}

#[test]
fn the_check_reads_groups_paths_and_supers() {
    let files = fake(&[
        ("lib.rs", FAKE_LIB),
        ("low/mod.rs", "use crate::{\n    leaf,\n    high::{a, b},\n};\n"),
        (
            "low/deep.rs",
            "mod tests {\n    fn f() { super::super::super::high::g(); super::super::g(); let c = '\\''; }\n}\n",
        ),
        ("low/path.rs", "fn f<'a>(x: &'a str) -> crate::high::T { todo!() }\n"),
        ("leaf.rs", "fn f() { super::low::g() }\n"),
    ]);
    let layers = layer_table(FAKE_LIB).expect("the fake table");
    assert_eq!(
        check(&files, &layers, &[], &[]),
        [
            "src/leaf.rs:1: `leaf` (layer 1) refers to `low` (layer 1, the same layer)",
            "src/low/deep.rs:2: `low` (layer 1) refers to `high` (layer 2, a higher layer)",
            "src/low/mod.rs:2: `low` (layer 1) refers to `leaf` (layer 1, the same layer)",
            "src/low/mod.rs:3: `low` (layer 1) refers to `high` (layer 2, a higher layer)",
            "src/low/path.rs:1: `low` (layer 1) refers to `high` (layer 2, a higher layer)",
        ]
    );
}

#[test]
fn the_lists_of_exceptions_only_shrink() {
    let files = fake(&[("lib.rs", FAKE_LIB), ("low.rs", "use crate::high::Up;\n"), ("high.rs", "")]);
    let layers = layer_table(FAKE_LIB).expect("the fake table");
    let up = [("low", "high", "reason"), ("high", "later", "gone")];
    assert_eq!(
        check(&files, &layers, &up, &[("low", "leaf", "gone too")]),
        [
            "UPWARD lists `high` -> `later`, which the code no longer has: strike it out",
            "SIDEWAYS lists `low` -> `leaf`, which the code no longer has: strike it out",
        ]
    );
}

#[test]
fn every_module_has_a_layer() {
    let files = fake(&[("lib.rs", FAKE_LIB), ("stray/mod.rs", "")]);
    let layers = layer_table(FAKE_LIB).expect("the fake table");
    assert_eq!(check(&files, &layers, &[], &[]), ["module `stray` stands in no layer of the table in src/lib.rs"]);
}
