use std::io::IsTerminal;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

fn main() -> Result<()> {
    // Errors are for operators: the message, not where in our source it was raised.
    let mut hook =
        color_eyre::config::HookBuilder::default().display_location_section(false).display_env_section(false);
    if std::env::var_os("NO_COLOR").is_some() || !std::io::stderr().is_terminal() {
        hook = hook.theme(color_eyre::config::Theme::new());
    }
    hook.install()?;
    let cli = cutover::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    let code = runtime.block_on(cutover::commands::run(cli))?;
    drop(runtime);
    std::process::exit(code);
}
