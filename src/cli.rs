//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sim::scenario;

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "A terminal cockpit for database cutovers",
    long_about = "A terminal cockpit for database cutovers: live replication lag, pool saturation, disk \
                  headroom and checksum progress beside the runbook of the migration."
)]
pub struct Cli {
    #[command(flatten)]
    pub display: DisplayArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// How the screen looks.
#[derive(Debug, Args, Clone)]
pub struct DisplayArgs {
    /// Theme: a built-in name (dark, light, high-contrast, mono) or a path to a theme TOML file.
    #[arg(long, global = true, default_value = crate::theme::DEFAULT_THEME, env = "CUTOVER_THEME")]
    pub theme: String,
    /// Draw with ASCII only (borders, sparklines, symbols). On by default when the locale is not UTF-8.
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Draw with Unicode even when the locale does not say UTF-8.
    #[arg(long, global = true, conflicts_with = "ascii")]
    pub unicode: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cockpit on the built-in simulator: no database needed.
    #[command(after_help = scenario::help_text())]
    Demo(DemoArgs),
    /// The cockpit's gauges on the real servers of an inventory (no runbook).
    Watch {
        /// The inventory file: endpoint names bound to real servers.
        #[arg(long, short)]
        inventory: PathBuf,
        /// Record the session (JSON lines, mode 0600; must be new): a sample per endpoint
        /// every 10 s, and at once when an endpoint stops or starts answering.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// An observer's cockpit (a second engineer beside the operator): the header
        /// says read-only and keys that would act on a run are refused.
        #[arg(long)]
        read_only: bool,
    },
    /// One sample of every gauge of an inventory, then exit (0 unless the inventory is unusable).
    Status {
        #[arg(long, short)]
        inventory: PathBuf,
        /// One JSON document on stdout (schema in the README).
        #[arg(long)]
        json: bool,
    },
    /// Compare source and target table by table, hashing primary-key ranges on the servers.
    /// Exit 0: everything matches; 1: differences found; 2: error.
    Verify(VerifyArgs),
    /// Write a run's or session's report from its journal: timeline against plan, write pause,
    /// confirmations, lag, pool and disk charts, checksum results. Exit 0: written; 2: error.
    Report(ReportArgs),
    /// Check a runbook file; every problem as FILE:LINE:COL: message. Exit 0 only when valid.
    Check {
        /// The runbook file.
        runbook: PathBuf,
        /// Also resolve every step against this inventory (endpoints, variables).
        #[arg(long, short)]
        inventory: Option<PathBuf>,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Print every step of a runbook resolved against an inventory, executing nothing.
    Plan {
        runbook: PathBuf,
        #[arg(long, short)]
        inventory: PathBuf,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Run a runbook: the cockpit with the runbook live (or unattended with --yes).
    /// Exit 0: completed; 1: stopped on a failure or an interrupted step; 2: error; 3: rolled back.
    Run(RunArgs),
    /// Continue an interrupted run from its journal.
    Resume(ResumeArgs),
    /// Play a run's journal back on the cockpit, read-only (no database): pause, speed, seek.
    Replay(ReplayArgs),
    /// Follow a run in progress from its journal, as the operator sees it, read-only
    /// (no database; nothing pressed here reaches the run).
    Follow {
        /// The journal the run is writing.
        journal: PathBuf,
    },
    /// Write a run's journal as a recording to share: `--asciicast FILE` (asciinema's format).
    Export(ExportArgs),
    /// One runbook over many members (shards), in waves: run, resume, status, check.
    #[command(subcommand)]
    Fleet(FleetCommand),
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Run a fleet: members start wave by wave, each a run with its own journal
    /// in the fleet's journals directory. Exit 0: every member completed; 1: not all
    /// (a failure stopped the waves, a member rolled back, or a signal); 2: error.
    Run(FleetRunArgs),
    /// Go on with a fleet from its journals: completed members stay, held ones go on,
    /// rolled-back ones run again, waiting ones start.
    Resume(FleetRunArgs),
    /// Where every member stands, from the journals (no database).
    Status {
        /// The fleet file.
        fleet: PathBuf,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check a fleet file and its runbook; every problem as FILE:LINE:COL: message.
    Check { fleet: PathBuf },
}

#[derive(Debug, Args, Clone)]
pub struct FleetRunArgs {
    /// The fleet file.
    pub fleet: PathBuf,
    /// Who runs the fleet (default: the login name). Recorded with every member's confirmations.
    #[arg(long)]
    pub operator: Option<String>,
    /// Unattended: every member's steps run without prompting; progress lines on stdout,
    /// each starting with the member's name.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: let manual steps pass by themselves (refused otherwise; journaled).
    #[arg(long, requires = "yes")]
    pub allow_manual: bool,
    /// A secret for every member's runbook from cutover's environment (repeatable): NAME=ENVVAR.
    #[arg(long = "var-env", value_name = "NAME=ENVVAR", value_parser = parse_var)]
    pub var_env: Vec<(String, String)>,
    /// With resume: what a held member does with its held step (stop, rerun, skip).
    #[arg(long, value_enum, default_value = "stop")]
    pub held: crate::runbook::runner::Held,
}

#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// The journal of a run or drill.
    pub journal: PathBuf,
    /// Journal time per real time (1/16 to 64; `+` and `-` change it while playing).
    #[arg(long, default_value_t = 1.0, value_parser = parse_replay_speed)]
    pub speed: f64,
}

fn parse_replay_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.trim_end_matches('x').parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    if (crate::replay::SPEED_MIN..=crate::replay::SPEED_MAX).contains(&speed) {
        Ok(speed)
    } else {
        Err("speed must be between 0.0625 (1/16) and 64".to_owned())
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct VarArgs {
    /// Set a runbook variable (repeatable): NAME=VALUE. Overrides the runbook's and the inventory's.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Set a runbook variable to a secret from cutover's environment (repeatable): NAME=ENVVAR.
    /// The value is never on a command line, masked when shown and never journaled (the journal
    /// keeps ENVVAR's name: a resume reads it again). Wins over --var.
    #[arg(long = "var-env", value_name = "NAME=ENVVAR", value_parser = parse_var)]
    pub var_env: Vec<(String, String)>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    pub runbook: PathBuf,
    #[arg(long, short)]
    pub inventory: PathBuf,
    /// Where to record the run (default: cutover-RUNBOOK-TIME.jsonl here). Mode 0600.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Who confirms the steps (default: the login name). Recorded with every confirmation.
    #[arg(long)]
    pub operator: Option<String>,
    /// Unattended (rehearsals in CI): run every step without prompting, print progress lines.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: let manual steps pass by themselves (refused otherwise; journaled).
    #[arg(long, requires = "yes")]
    pub allow_manual: bool,
    #[command(flatten)]
    pub vars: VarArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ResumeArgs {
    /// The journal of the run.
    pub journal: PathBuf,
    /// Who continues the run (default: the login name).
    #[arg(long)]
    pub operator: Option<String>,
    /// Unattended, as `run --yes`.
    #[arg(long)]
    pub yes: bool,
    /// Unattended: what to do with a step that was interrupted (or failed and stopped the run):
    /// stop (default), rerun it, or skip it.
    #[arg(long, value_enum, default_value = "stop")]
    pub held: crate::runbook::runner::Held,
    /// Unattended: go to the rollback phase now (a held step is not run again).
    #[arg(long, requires = "yes")]
    pub rollback: bool,
    /// With --yes: let manual steps pass by themselves (refused otherwise; journaled).
    #[arg(long, requires = "yes")]
    pub allow_manual: bool,
    /// Go on although the inventory's endpoints, or what the steps still to run
    /// would execute, changed since the run started (refused otherwise; journaled).
    #[arg(long)]
    pub retarget: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("\"{text}\": expected NAME=VALUE")),
    }
}

#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    #[arg(long, short)]
    pub inventory: PathBuf,
    /// The endpoint holding the data as it should be.
    #[arg(long)]
    pub source: String,
    /// The endpoint being checked.
    #[arg(long)]
    pub target: String,
    /// Only this table (SCHEMA.TABLE; repeatable), or for MongoDB this collection of the URI's
    /// database. Default: every user table (every collection but system.* and views) of the source.
    #[arg(long = "table", value_name = "SCHEMA.TABLE")]
    pub tables: Vec<String>,
    /// One JSON document on stdout at the end.
    #[arg(long)]
    pub json: bool,
    /// Record finished chunks here; a re-run with the same journal skips them.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Chunks in flight at once (connections per side).
    #[arg(long, default_value_t = 2, value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=32), usize::from))]
    pub jobs: usize,
    /// PostgreSQL: typed (fast; same major version) or portable (across versions); default typed
    /// when the major versions match. MongoDB: by_name (default: field order ignored) or strict
    /// (field order matters).
    #[arg(long, value_enum)]
    pub mode: Option<crate::verify::Mode>,
    /// First and largest chunk, in rows (chunks then adapt to about 0.5 s each).
    #[arg(long, default_value_t = crate::verify::DEFAULT_CHUNK_ROWS)]
    pub chunk_rows: u64,
    /// Pause while the target's replication lag is above this: a size for PostgreSQL (WAL
    /// bytes, default 64MB), a duration for a MongoDB target that is a secondary (how far its
    /// optime is behind its primary's, default 10s).
    #[arg(long, default_value = "64MB")]
    pub max_lag: String,
    /// MySQL source with dual writes: look again at a disagreeing chunk for up
    /// to this long before localising it (rows in flight), e.g. 5s.
    #[arg(long, default_value = "0s")]
    pub settle: String,
    /// Compare a disagreeing range row by row up to this many rows (else split it first).
    #[arg(long, default_value_t = crate::verify::ROW_FETCH_MAX, hide = true)]
    pub rows_per_fetch: u64,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Which scripted scenario to play (listed below).
    #[arg(long, default_value = "full", value_parser = parse_scenario)]
    pub scenario: String,
    /// Play simulated time this many times faster than real time.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Seed of the simulator's randomness: the same seed plays the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run the demo runbook yourself: confirm each step, face the scenario's faults
    /// (without it, the runbook plays by itself).
    #[arg(long)]
    pub interactive: bool,
    /// Who confirms the steps (with --interactive).
    #[arg(long)]
    pub operator: Option<String>,
    /// Record the drill here (JSON lines, mode 0600; must be new): replay it,
    /// report on it, export it like any run's journal.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// A fleet of this many simulated shards (2 to 512) on the fleet screen, in waves of
    /// 1, 3 and the rest; the last shard misbehaves (its verification finds differences).
    /// With --interactive the shards wait for your confirmations.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=512))]
    pub fleet: Option<u16>,
    /// Gauge sampling interval in simulated milliseconds.
    #[arg(long = "interval-ms", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub interval_ms: u64,
}

fn parse_scenario(name: &str) -> Result<String, String> {
    if scenario::by_name(name).is_some() {
        Ok(name.to_owned())
    } else {
        let names: Vec<&str> = scenario::all().iter().map(|s| s.name).collect();
        Err(format!("no scenario \"{name}\"; choose one of: {}", names.join(", ")))
    }
}

fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.trim_end_matches('x').parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    if (0.1..=1000.0).contains(&speed) { Ok(speed) } else { Err("speed must be between 0.1 and 1000".to_owned()) }
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// The journal of a run, drill or recorded session.
    pub journal: PathBuf,
    /// Where to write the report (for md, its charts go beside it as STEM-*.svg).
    #[arg(long, short)]
    pub output: PathBuf,
    /// html: one self-contained page; md: Markdown with SVG charts beside it.
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The journal of a run or drill.
    pub journal: PathBuf,
    /// Write an asciicast v2 recording here (play it with `asciinema play FILE`): the replay's
    /// screens, with a marker at every phase and step boundary.
    #[arg(long, value_name = "FILE")]
    pub asciicast: PathBuf,
    /// Columns of the recorded screen.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(20..=1000))]
    pub cols: u16,
    /// Rows of the recorded screen.
    #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u16).range(5..=500))]
    pub rows: u16,
    /// Journal seconds per second of recording.
    #[arg(long, default_value_t = 1.0, value_parser = parse_export_speed)]
    pub speed: f64,
    /// A wait longer than this many seconds of recording, with nothing but gauges moving, is
    /// played faster to last this long (0: keep every wait).
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_idle_limit)]
    pub idle_limit: std::time::Duration,
}

fn parse_export_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.trim_end_matches('x').parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    if (0.01..=10_000.0).contains(&speed) { Ok(speed) } else { Err("speed must be between 0.01 and 10000".to_owned()) }
}

fn parse_idle_limit(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text.trim_end_matches('s').parse().map_err(|_| format!("\"{text}\" is not a number"))?;
    if (0.0..=86_400.0).contains(&seconds) {
        Ok(std::time::Duration::from_secs_f64(seconds))
    } else {
        Err("the idle limit is 0 to 86400 seconds".to_owned())
    }
}
