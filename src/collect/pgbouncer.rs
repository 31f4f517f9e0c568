//! PgBouncer through its admin console (`dbname=pgbouncer`): `SHOW POOLS`,
//! `SHOW STATS`, `SHOW DATABASES`, over the simple query protocol (the only
//! one the console speaks).

use std::collections::HashMap;

use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use crate::endpoint::postgres::short_error;
use crate::events::{BouncerPool, EndpointSample, Role};

fn rows(messages: Vec<SimpleQueryMessage>) -> Vec<SimpleQueryRow> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect()
}

fn text<'a>(row: &'a SimpleQueryRow, column: &str) -> Option<&'a str> {
    row.try_get(column).ok().flatten()
}

fn num<T: std::str::FromStr>(row: &SimpleQueryRow, column: &str) -> Option<T> {
    text(row, column).and_then(|v| v.trim().parse().ok())
}

/// One round of the console's figures.
///
/// # Errors
/// When the console does not answer (the caller marks the endpoint unreachable).
pub async fn sample(client: &Client) -> Result<EndpointSample, tokio_postgres::Error> {
    let pools = rows(client.simple_query("SHOW POOLS").await?);
    let mut notes = Vec::new();
    let stats = match client.simple_query("SHOW STATS").await {
        Ok(m) => rows(m),
        Err(e) => {
            notes.push(format!("SHOW STATS: {}", short_error(&e)));
            Vec::new()
        }
    };
    let databases = match client.simple_query("SHOW DATABASES").await {
        Ok(m) => rows(m),
        Err(e) => {
            notes.push(format!("SHOW DATABASES: {}", short_error(&e)));
            Vec::new()
        }
    };
    let pool_size: HashMap<&str, u32> =
        databases.iter().filter_map(|r| Some((text(r, "name")?, num(r, "pool_size")?))).collect();
    let stats: HashMap<&str, &SimpleQueryRow> = stats.iter().filter_map(|r| Some((text(r, "database")?, r))).collect();

    let bouncer = pools
        .iter()
        .filter(|r| text(r, "database").is_some_and(|d| d != "pgbouncer"))
        .map(|r| {
            let database = text(r, "database").unwrap_or_default().to_owned();
            let maxwait = num::<f64>(r, "maxwait").unwrap_or(0.0) + num::<f64>(r, "maxwait_us").unwrap_or(0.0) / 1e6;
            let stat = stats.get(database.as_str());
            let us_to_ms = |v: f64| (v / 10.0).round() / 100.0;
            BouncerPool {
                user: text(r, "user").unwrap_or_default().to_owned(),
                cl_active: num(r, "cl_active").unwrap_or(0),
                cl_waiting: num(r, "cl_waiting").unwrap_or(0),
                sv_active: num(r, "sv_active").unwrap_or(0),
                sv_idle: num(r, "sv_idle").unwrap_or(0),
                pool_size: pool_size.get(database.as_str()).copied().unwrap_or(0),
                maxwait_seconds: maxwait,
                xacts_per_second: stat.and_then(|s| num(s, "avg_xact_count")),
                avg_query_ms: stat.and_then(|s| num::<f64>(s, "avg_query_time")).map(us_to_ms),
                avg_wait_ms: stat.and_then(|s| num::<f64>(s, "avg_wait_time")).map(us_to_ms),
                database,
            }
        })
        .collect();
    Ok(EndpointSample { roles: vec![Role::Pooler], notes, bouncer, ..EndpointSample::default() })
}
