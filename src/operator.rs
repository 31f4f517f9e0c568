//! Who runs cutover, and where: the names journals record.

/// This machine's name, as journals record it.
#[must_use]
pub fn hostname() -> String {
    sysinfo::System::host_name().unwrap_or_else(|| "unknown".to_owned())
}

/// The operator's name: `--operator`, else the login name.
#[must_use]
pub fn default_operator() -> String {
    std::env::var("USER")
        .ok()
        .or_else(|| nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name))
        .unwrap_or_else(|| "unknown".to_owned())
}
