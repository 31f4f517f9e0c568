//! Runbooks of shell and manual steps run headless, without a database: an
//! inventory whose one endpoint is on a loopback port nobody listens on.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An inventory binding `db` to PostgreSQL on 127.0.0.1:9 (discard): unreachable.
pub fn unreachable_inventory(dir: &Path) -> PathBuf {
    let inventory = dir.join("inventory.toml");
    let text = "name = \"drill\"\ninterval = \"500ms\"\n[endpoints.db]\nkind = \"postgres\"\ndsn = \"postgres://ops@127.0.0.1:9/app\"\n";
    std::fs::write(&inventory, text).expect("write the inventory");
    inventory
}

/// `cutover run tests/fixtures/run/FIXTURE --yes --allow-manual` against that inventory, to
/// completion; the journal's path (`DIR/drill.jsonl`).
pub fn run(dir: &Path, fixture: &str) -> PathBuf {
    let inventory = unreachable_inventory(dir);
    let journal = dir.join("drill.jsonl");
    let runbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run").join(fixture);
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("run")
        .arg(&runbook)
        .arg("--inventory")
        .arg(&inventory)
        .args(["--yes", "--allow-manual", "--journal"])
        .arg(&journal)
        .output()
        .expect("run cutover");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    journal
}
