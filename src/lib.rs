//! cutover: a terminal cockpit for database cutovers.
//!
//! Sources of data know nothing of the screen; the screen knows nothing of
//! databases; the state changes only through [`state::State::update`].
//!
//! # Layers
//!
//! Bottom to top. A module uses only modules of the layers below its own:
//! every arrow points down. `tests/layers.rs` reads this table and fails on
//! an arrow that points up or sideways; the few that still do are listed
//! there, each with its reason, until the code no longer needs them.
//!
//! | layer | modules | what they are |
//! | --- | --- | --- |
//! | 1 | `events`, `diagnostic`, `secrets`, `format`, `quantity`, `operator`, `terminal` | leaves |
//! | 2 | `condition`, `keymap` | the gate and wait language; keys to actions |
//! | 3 | `state` | the cockpit's state, a fold of actions |
//! | 4 | `inventory`, `journal`, `theme` | endpoints by name; the run journal; styles |
//! | 5 | `endpoint` | connecting to an endpoint |
//! | 6 | `collect`, `verify`, `sim` | engines over endpoints: gauges, checksums, the simulator |
//! | 7 | `runbook` | runbooks: load, plan, engine, execution, the one run driver (real or simulated world) |
//! | 8 | `replay`, `report`, `status`, `fleet` | a journal replayed or summed up; one sample as JSON; many runs in waves |
//! | 9 | `ui` | the screen |
//! | 10 | `app`, `cli`, `export` | the loop; the command line; recordings |
//! | 11 | `commands` | one module per subcommand |
//! | 12 | `main` | the binary |

pub mod app;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod condition;
pub mod diagnostic;
pub mod endpoint;
pub mod events;
pub mod export;
pub mod fleet;
pub mod format;
pub mod inventory;
pub mod journal;
pub mod keymap;
pub mod operator;
pub mod quantity;
pub mod replay;
pub mod report;
pub mod runbook;
pub mod secrets;
pub mod sim;
pub mod state;
pub mod status;
pub mod terminal;
pub mod theme;
pub mod ui;
pub mod verify;
