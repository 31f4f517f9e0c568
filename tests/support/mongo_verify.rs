//! What the MongoDB verification tests and its benchmark share: endpoints on
//! a replica set, the `cutover verify` they run, and the orders they compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use serde_json::Value;

use super::mongo::ReplicaSet;

/// The set's URI with `db` in its path.
pub fn uri(set: &ReplicaSet, db: &str) -> String {
    format!("mongodb://{}/{db}?replicaSet={}", set.host(0), set.name())
}

/// An inventory with the endpoints `source` and `target` (MongoDB URIs).
pub fn inventory(dir: &Path, source: &str, target: &str) -> PathBuf {
    let path = dir.join("inventory.toml");
    let text = format!(
        "[endpoints.source]\nkind = \"mongodb\"\nuri = \"{source}\"\n\
         [endpoints.target]\nkind = \"mongodb\"\nuri = \"{target}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub fn cutover_verify(inventory: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["verify", "--source", "source", "--target", "target", "--inventory"])
        .arg(inventory)
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// `cutover verify --json …`: exit code and report.
pub fn verify_json(inventory: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = cutover_verify(inventory, &[&["--json"], extra].concat());
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), report)
}

/// The ObjectId of order `n`: its number in the last bytes, so ids sort by `n`.
pub fn oid(n: u32) -> ObjectId {
    let mut bytes = [0x65, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    ObjectId::from_bytes(bytes)
}

/// Order `n`, with nested documents, arrays of documents and doubles.
pub fn order(n: u32) -> Document {
    doc! {
        "_id": oid(n),
        "customer": format!("c{}", n % 97),
        "total": f64::from(n) * 1.25,
        "status": "paid",
        "address": { "street": format!("{n} Main St"), "city": "Springfield", "geo": { "lat": 1.5, "lng": -0.25 } },
        "items": [{ "sku": format!("S{n}"), "qty": 1, "price": 9.99 }, { "sku": "T", "qty": 2, "price": 0.5 }],
        "tags": ["a", "b"],
    }
}
