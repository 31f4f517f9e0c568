//! Verifying MongoDB: collection by collection, in `_id` ranges cut along the
//! `_id` index, each range hashed on both servers by one aggregation that
//! returns one small document (count and the exact sum of per-document
//! hashes; see [`pipeline`]). Chunk size adapts to [`TARGET_CHUNK`](super::chunks::TARGET_CHUNK) as for
//! PostgreSQL; `options.jobs` ranges are in flight at once. A disagreeing
//! range is cut until the differing `_id`s are found ([`bisect`]). Documents
//! compare by field name ([`Mode::ByName`], the default) or as stored
//! ([`Mode::Strict`]). Finished chunks go to the same journal as
//! PostgreSQL's, bounds as canonical extended JSON, so a re-run skips them.
//!
//! When the target is a secondary of a replica set (a replica-set move's
//! new member), verification has PostgreSQL's two safeguards ([`replica`]):
//! it pauses while the member lags its primary by more than
//! `options.max_lag_seconds`, and a disagreeing range is hashed again once
//! the member has applied what the source had written, a little later each
//! time, before it is localised, so documents in flight are not reported.
//! Any other target (a primary, a standalone) is compared as it is: verify
//! it while nobody writes to it.

mod bisect;
pub mod pipeline;
mod replica;

use color_eyre::eyre::{Result, eyre};
use mongodb::Database;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::Collation;

use self::bisect::Side;
use self::pipeline::{IdRange, bracket, bracket_name, key_json};
use super::catalog::TableName;
use super::chunks::{self, Chunker, KeyRange, Request, Shared, Tables};
use super::options::Options;
use super::sql::Range;
use super::{Difference, Mode, Report, TableReport, TableStatus};
use crate::endpoint::mongo::short_error;
use crate::events::name_of;
use crate::inventory::Endpoint;
use crate::secrets::Secrets;

/// One endpoint: its database, and what its messages must not show.
struct Server {
    name: String,
    db: Database,
    /// The same connection's `admin` database (`hello`, `replSetGetStatus`).
    admin: Database,
    secrets: Secrets,
}

impl Server {
    /// A message with the password, should a driver ever echo it, masked.
    fn scrub(&self, text: &str) -> String {
        self.secrets.scrub(text)
    }
}

/// Whether a URI has a database in its path (`mongodb://h/app?…`).
fn names_database(uri: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => !rest[i + 1..].split('?').next().unwrap_or_default().is_empty(),
        _ => false,
    }
}

/// `[major, minor]` of the server.
fn version(build_info: &Document) -> (i32, i32) {
    let parts: Vec<i32> = build_info
        .get_array("versionArray")
        .map(|a| {
            a.iter().filter_map(|v| v.as_i32().or_else(|| v.as_i64().and_then(|x| i32::try_from(x).ok()))).collect()
        })
        .unwrap_or_default();
    (parts.first().copied().unwrap_or(0), parts.get(1).copied().unwrap_or(0))
}

async fn connect(endpoint: &Endpoint, jobs: usize) -> Result<Server> {
    let name = &endpoint.name;
    let uri = endpoint.mongo.as_ref().ok_or_else(|| eyre!("{name} is not a MongoDB endpoint"))?;
    let shown = uri.masked();
    let mut secrets = Secrets::default();
    if let Some(password) = uri.password() {
        secrets.add(&format!("endpoint \"{name}\": its password"), password).map_err(|m| eyre!("{m}"))?;
    }
    if !names_database(&shown) {
        return Err(eyre!(
            "{name}: the uri {shown} names no database; put the database to verify in its path, \
             e.g. mongodb://host:27017/appdb"
        ));
    }
    let pool = u32::try_from(jobs + 2).unwrap_or(u32::MAX);
    let client = crate::endpoint::mongo::client(uri, Some(pool))
        .await
        .map_err(|m| eyre!("{name} ({shown}): {}", secrets.scrub(&m)))?
        .driver;
    let db = client.database(&uri.database);
    let admin = client.database("admin");
    let unreachable =
        |e: mongodb::error::Error| eyre!("{name} unreachable ({shown}): {}", secrets.scrub(&short_error(&e)));
    db.run_command(doc! { "ping": 1 }).await.map_err(unreachable)?;
    let build = db.run_command(doc! { "buildInfo": 1 }).await.map_err(unreachable)?;
    let (major, minor) = version(&build);
    // $sortArray came in 5.2 (tested on 6.0).
    if (major, minor) < (5, 2) {
        return Err(eyre!("{name} runs MongoDB {major}.{minor}: verify needs 5.2 or later ($sortArray)"));
    }
    Ok(Server { name: name.clone(), db, admin, secrets })
}

/// What listCollections says of one collection.
struct Info {
    /// `collection`, `view`, `timeseries`.
    kind: String,
    collation: Option<Document>,
}

async fn info(db: &Database, name: &str) -> Result<Option<Info>, mongodb::error::Error> {
    let reply = db.run_command(doc! { "listCollections": 1, "filter": { "name": name } }).await?;
    let first = reply
        .get_document("cursor")
        .ok()
        .and_then(|c| c.get_array("firstBatch").ok())
        .and_then(|b| b.first())
        .and_then(Bson::as_document);
    Ok(first.map(|d| Info {
        kind: d.get_str("type").unwrap_or("collection").to_owned(),
        collation: d.get_document("options").ok().and_then(|o| o.get_document("collation").ok()).cloned(),
    }))
}

/// Every collection of the database but `system.*` and views, by name.
async fn collections(db: &Database) -> Result<Vec<String>, mongodb::error::Error> {
    let mut names = db.list_collection_names().filter(doc! { "type": "collection" }).await?;
    names.retain(|n| !n.starts_with("system."));
    names.sort();
    Ok(names)
}

/// A `--table` as a collection name: `orders` and `app.orders` stay as
/// given (`TableName::parse` put the first in `public`); `public.x` is
/// `public.x` only if the source has such a collection.
fn collection_name(table: &TableName, existing: &[String]) -> String {
    let full = table.to_string();
    if table.schema == "public" && !existing.contains(&full) { table.name.clone() } else { full }
}

/// Everything a collection's verification shares.
struct Ctx<'a> {
    source: &'a Server,
    target: &'a Server,
    by_name: bool,
    options: &'a Options,
    /// The target follows the source as a secondary: throttle and recheck.
    follower: Option<replica::Follower>,
}

impl Tables for Ctx<'_> {
    type Table = String;

    async fn verify(&self, shared: Shared<'_>, name: &String) -> Result<TableReport> {
        verify_collection(self, shared, name).await
    }

    fn failed(name: &String) -> TableReport {
        empty_report(name, TableStatus::Error)
    }
}

impl Ctx<'_> {
    /// A driver error as one line, neither side's password in it.
    fn error(&self, collection: &str, e: &mongodb::error::Error) -> color_eyre::Report {
        eyre!("{collection}: {}", self.target.scrub(&self.source.scrub(&short_error(e))))
    }

    /// Compare one range; on disagreement, find the differing documents.
    async fn check_range(
        &self,
        src: &Side,
        dst: &Side,
        range: &IdRange,
    ) -> mongodb::error::Result<(u64, u64, Vec<Difference>)> {
        let (mut a, mut b) = tokio::try_join!(src.hash(range), dst.hash(range))?;
        if a == b {
            return Ok((a.0, b.0, Vec::new()));
        }
        if let Some(follower) = &self.follower {
            // Documents in flight are not differences: once the member has
            // applied what the source had written, look again, a little
            // later each time, before reporting anything.
            for pause in super::engine::RECHECK_BACKOFF {
                follower.wait_caught_up().await?;
                tokio::time::sleep(pause).await;
                (a, b) = tokio::try_join!(src.hash(range), dst.hash(range))?;
                if a == b {
                    return Ok((a.0, b.0, Vec::new()));
                }
            }
        }
        let found = bisect::localise(src, dst, range.clone(), a.0.max(b.0), self.options.row_fetch_max).await?;
        Ok((a.0, b.0, found.into_iter().map(|(id, kind)| Difference { key: key_json(&id), kind }).collect()))
    }
}

/// Verify the request's tables (collection names; empty: every collection of
/// the source's database but `system.*` and views) of two MongoDB endpoints.
/// The database is the one in each URI's path.
///
/// # Errors
/// A PostgreSQL mode asked for, a URI without a database, either side
/// unreachable or too old, or the journal unusable.
pub(super) async fn run(request: Request<'_>) -> Result<Report> {
    let Request { source, target, options, jobs, .. } = request;
    let mode = match options.mode {
        None => Mode::ByName,
        Some(m) if m.is_mongo() => m,
        Some(m) => {
            return Err(eyre!(
                "--mode {} is for PostgreSQL; MongoDB endpoints compare by_name (the default: field order \
                 ignored) or strict",
                name_of(&m)
            ));
        }
    };
    let (src, dst) = tokio::try_join!(connect(source, jobs), connect(target, jobs))?;
    let journal = chunks::open_journal(options.journal.as_deref(), mode, source, target)?;
    let existing = collections(&src.db)
        .await
        .map_err(|e| eyre!("{}: list the collections: {}", src.name, src.scrub(&short_error(&e))))?;
    let names: Vec<String> = if options.tables.is_empty() {
        existing
    } else {
        options.tables.iter().map(|t| collection_name(t, &existing)).collect()
    };
    let max_lag = std::time::Duration::from_secs_f64(options.max_lag_seconds);
    let follower = replica::Follower::of(dst.admin.clone(), src.admin.clone(), max_lag).await;
    let ctx = Ctx { source: &src, target: &dst, by_name: mode == Mode::ByName, options, follower };
    Ok(request.verify_each(mode, &journal, &names, &ctx).await)
}

fn empty_report(name: &str, status: TableStatus) -> TableReport {
    TableReport { primary_key: Some(vec!["_id".to_owned()]), ..TableReport::named(name, status) }
}

/// Notes on a collection that do not stop its verification: collations that
/// differ (both sides then compare strings bytewise) and `_id`s of several
/// types.
fn notes(collations_differ: bool, ids: &[Option<Bson>]) -> Option<String> {
    let mut notes = Vec::new();
    if collations_differ {
        notes.push(
            "the two collections' default collations differ: both are read with the simple (bytewise) collation, \
             which the _id index may not serve"
                .to_owned(),
        );
    }
    // The lowest and highest _id of each side: their types span all there are.
    let lowest = ids.iter().flatten().min_by_key(|b| bracket(b));
    let highest = ids.iter().flatten().max_by_key(|b| bracket(b));
    if let (Some(lowest), Some(highest)) = (lowest, highest) {
        if bracket(lowest) != bracket(highest) {
            notes.push(format!(
                "_id values of several types (from {} to {}): ranges that span types add the types between by \
                 $type (still index ranges only)",
                bracket_name(lowest),
                bracket_name(highest)
            ));
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

async fn verify_collection(ctx: &Ctx<'_>, shared: Shared<'_>, name: &str) -> Result<TableReport> {
    let (s, t) =
        tokio::try_join!(info(&ctx.source.db, name), info(&ctx.target.db, name)).map_err(|e| ctx.error(name, &e))?;
    let (s, t) = match (s, t) {
        (Some(s), Some(t)) => (s, t),
        (None, _) => return Ok(empty_report(name, TableStatus::MissingOnSource)),
        (Some(_), None) => return Ok(empty_report(name, TableStatus::MissingOnTarget)),
    };
    for (info, server) in [(&s, ctx.source), (&t, ctx.target)] {
        if info.kind != "collection" {
            return Err(eyre!("a {} on {}, not a collection: only collections are verified", info.kind, server.name));
        }
    }
    let collations_differ = s.collation != t.collation;
    let collation = collations_differ.then(|| Collation::builder().locale("simple").build());
    let hash = pipeline::document_hash(ctx.by_name);
    let side = |server: &Server| Side {
        coll: server.db.collection::<Document>(name),
        collation: collation.clone(),
        hash: hash.clone(),
    };
    let (src, dst) = (side(ctx.source), side(ctx.target));
    let ((lo_s, hi_s), (lo_t, hi_t)) =
        tokio::try_join!(src.extremes(), dst.extremes()).map_err(|e| ctx.error(name, &e))?;
    let warning = notes(collations_differ, &[lo_s, hi_s, lo_t, hi_t]);
    let estimate = src.coll.estimated_document_count().await.map_err(|e| ctx.error(name, &e))?;

    let chunker = CollectionChunks { ctx, name, src: &src, dst: &dst };
    let mut a = chunks::check_table(&chunker, name, estimate, &shared).await?;
    let mut keyed: Vec<(Bson, Difference)> = a
        .differences
        .drain(..)
        .map(|d| {
            let id = d.key.get("_id").cloned().and_then(|v| Bson::try_from(v).ok()).unwrap_or(Bson::Null);
            (id, d)
        })
        .collect();
    keyed.sort_by(|x, y| bisect::compare(&x.0, &y.0));
    a.differences = keyed.into_iter().map(|(_, d)| d).collect();
    a.differences.dedup();
    shared.progress.done(name, &a);
    let mut report = empty_report(name, TableStatus::Equal);
    report.rows_source = a.rows_source;
    report.rows_target = a.rows_target;
    report.chunks = a.chunks;
    if !a.differences.is_empty() || a.rows_source != a.rows_target {
        report.status = TableStatus::Different;
    }
    report.differences = a.differences;
    report.warning = warning;
    Ok(report)
}

/// One collection's chunks: cut along the `_id` index, checked on both sides.
struct CollectionChunks<'a> {
    ctx: &'a Ctx<'a>,
    name: &'a str,
    src: &'a Side,
    dst: &'a Side,
}

impl Chunker for CollectionChunks<'_> {
    type Range = IdRange;

    async fn throttle(&self) -> Result<()> {
        match &self.ctx.follower {
            Some(follower) => follower.throttle().await.map_err(|e| self.ctx.error(self.name, &e)),
            None => Ok(()),
        }
    }

    async fn cut(&self, lo: Option<&Bson>, rows: u64) -> Result<Option<Bson>> {
        self.src.boundary(lo, rows).await.map_err(|e| self.ctx.error(self.name, &e))
    }

    async fn check(&self, _job: usize, range: &IdRange) -> Result<(u64, u64, Vec<Difference>)> {
        self.ctx.check_range(self.src, self.dst, range).await.map_err(|e| self.ctx.error(self.name, &e))
    }
}

impl KeyRange for IdRange {
    type Key = Bson;

    fn new(lo: Option<Bson>, hi: Option<Bson>) -> Self {
        Self { lo, hi }
    }

    fn hi(&self) -> Option<&Bson> {
        self.hi.as_ref()
    }

    fn to_journal(&self) -> Range {
        Self::to_journal(self)
    }

    fn from_journal(range: &Range) -> Result<Self, String> {
        Self::from_journal(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_names_a_database_only_in_its_path() {
        assert!(names_database("mongodb://h:27017/app"));
        assert!(names_database("mongodb://u:******@h1,h2/app?replicaSet=rs0"));
        assert!(!names_database("mongodb://h:27017"));
        assert!(!names_database("mongodb://h:27017/"));
        assert!(!names_database("mongodb://h:27017/?replicaSet=rs0"));
        assert!(!names_database("mongodb://h:27017?replicaSet=rs0"));
    }

    #[test]
    fn table_names_become_collection_names() {
        let existing = vec!["public.audit".to_owned(), "orders".to_owned()];
        assert_eq!(collection_name(&TableName::parse("orders"), &existing), "orders");
        assert_eq!(collection_name(&TableName::parse("app.events"), &existing), "app.events");
        assert_eq!(collection_name(&TableName::parse("public.audit"), &existing), "public.audit");
        assert_eq!(collection_name(&TableName::parse("public.orders"), &existing), "orders");
    }

    #[test]
    fn notes_name_collations_and_the_id_types_seen() {
        assert_eq!(notes(false, &[Some(Bson::Int32(1)), Some(Bson::Int64(9)), None, None]), None);
        let note = notes(false, &[Some(Bson::Int32(1)), Some(Bson::String("z".into())), None, None]).unwrap();
        assert!(note.starts_with("_id values of several types (from number to string)"), "{note}");
        let ids = [Some(Bson::String("a".into())), Some(Bson::MaxKey), Some(Bson::Null), Some(Bson::Int32(1))];
        assert!(notes(false, &ids).unwrap().starts_with("_id values of several types (from null to maxKey)"));
        assert!(notes(true, &[]).unwrap().contains("collations differ"));
    }

    #[test]
    fn versions_come_from_the_version_array() {
        assert_eq!(version(&doc! { "versionArray": [6, 0, 5, 0] }), (6, 0));
        assert_eq!(version(&doc! {}), (0, 0));
    }
}
