//! Local filesystems through `sysinfo`: free and total space of the
//! filesystem that holds a path (the data directory, when cutover runs on the
//! database host, or a path the inventory names).

use std::path::{Path, PathBuf};

use sysinfo::Disks;

/// Free and total bytes of one filesystem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsUsage {
    pub mount: PathBuf,
    pub free_bytes: u64,
    pub total_bytes: u64,
}

/// The filesystem holding `path`: the mounted disk with the longest mount
/// point that is a prefix of it.
#[must_use]
pub fn usage_of(path: &Path) -> Option<FsUsage> {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let disks = Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| FsUsage {
            mount: d.mount_point().to_path_buf(),
            free_bytes: d.available_space(),
            total_bytes: d.total_space(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_filesystem_of_a_path() {
        let dir = std::env::temp_dir();
        let usage = usage_of(&dir).expect("the temp dir is on some filesystem");
        assert!(dir.canonicalize().unwrap().starts_with(&usage.mount));
        assert!(usage.total_bytes > 0);
        assert!(usage.free_bytes <= usage.total_bytes);
    }
}
