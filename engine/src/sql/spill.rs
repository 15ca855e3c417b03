//! Where SQL sessions spill, and how much they may: spill files live under
//! the store (`STORE/_spill/`, or `--spill-dir`), not in the system's
//! temporary folder, and a budget stops a query before the disk fills.
//!
//! ```text
//! dnabench --spill-dir /scratch/spill --spill-limit 200GB materialize --task methylation
//! DNABENCH_SPILL_LIMIT=50GB dnabench sql -f big_join.sql
//! ```
//!
//! Each process spills into a folder of its own (`PID-NANOS/`) beside a lock
//! file it holds (`PID-NANOS.lock`, an advisory `flock`). The kernel drops
//! the lock when the process dies, however it dies, so the next command to
//! open the store removes every folder whose lock it can take: what a
//! `kill -9` left behind, never what a running command is using.
//!
//! Without a budget given, a session may spill half the space free on the
//! spill folder's file system when it opens.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::sql::memory::{format_size, parse_size};

static DIR: OnceLock<PathBuf> = OnceLock::new();
static LIMIT: OnceLock<u64> = OnceLock::new();

/// The spill folder of every session this process opens from now on,
/// instead of the store's `_spill`; the first call wins.
pub fn set_spill_dir(dir: PathBuf) {
    let _ = DIR.set(dir);
}

/// The spill budget of every session from now on; the first call wins.
pub fn set_spill_limit(bytes: u64) {
    let _ = LIMIT.set(bytes);
}

/// The folder sessions over a store at `store_folder` spill into: the one
/// set, else `DNABENCH_SPILL_DIR`, else `STORE/_spill` (on an object store,
/// its local cache's), else the system's temporary folder.
pub fn spill_root(store_folder: Option<&Path>) -> PathBuf {
    if let Some(dir) = DIR.get() {
        return dir.clone();
    }
    if let Some(dir) = std::env::var_os("DNABENCH_SPILL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match store_folder {
        Some(folder) => folder.join("_spill"),
        None => std::env::temp_dir().join("dnabench-spill"),
    }
}

/// The budget a session spilling into `root` gets: the one set, else
/// `DNABENCH_SPILL_LIMIT`, else half the space free there now.
pub fn spill_limit(root: &Path) -> SpillBudget {
    if let Some(bytes) = LIMIT.get() {
        return SpillBudget::given(*bytes, root);
    }
    if let Some(bytes) = std::env::var("DNABENCH_SPILL_LIMIT")
        .ok()
        .and_then(|v| parse_size(&v).ok())
    {
        return SpillBudget::given(bytes as u64, root);
    }
    let free = free_space(root).unwrap_or(u64::MAX / 2);
    SpillBudget {
        bytes: free / 2,
        dir: root.to_path_buf(),
        default_of_free: Some(free),
    }
}

/// A session's spill budget, and where it came from, for the error that
/// stops a query at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillBudget {
    pub bytes: u64,
    pub dir: PathBuf,
    /// The free space the default was half of; None when it was given.
    pub default_of_free: Option<u64>,
}

impl SpillBudget {
    fn given(bytes: u64, dir: &Path) -> SpillBudget {
        SpillBudget {
            bytes,
            dir: dir.to_path_buf(),
            default_of_free: None,
        }
    }
}

impl std::fmt::Display for SpillBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} in {}",
            format_size(self.bytes as usize),
            self.dir.display()
        )?;
        if let Some(free) = self.default_of_free {
            write!(
                f,
                " (half of the {} free there)",
                format_size(free as usize)
            )?;
        }
        Ok(())
    }
}

static LAST_BUDGET: Mutex<Option<SpillBudget>> = Mutex::new(None);

/// The budget of the session opened last, which a spill error refers to.
pub fn last_budget() -> Option<SpillBudget> {
    LAST_BUDGET
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

pub(crate) fn note_budget(budget: &SpillBudget) {
    *LAST_BUDGET.lock().unwrap_or_else(|p| p.into_inner()) = Some(budget.clone());
}

/// Bytes free to an unprivileged user on the file system of `path` (or of
/// its nearest existing parent).
pub fn free_space(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let c_path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is a NUL-terminated path and stat a writable statvfs.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// This process's spill folder under one root, with the lock that marks it
/// as in use.
struct ProcessSpill {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

static OWN: Mutex<Option<HashMap<PathBuf, ProcessSpill>>> = Mutex::new(None);

/// This process's spill folder under `root`, made (and locked) on first
/// use, after removing what dead processes left there.
pub fn process_dir(root: &Path) -> std::io::Result<PathBuf> {
    let mut own = OWN.lock().unwrap_or_else(|p| p.into_inner());
    let own = own.get_or_insert_with(HashMap::new);
    if let Some(spill) = own.get(root) {
        return Ok(spill.dir.clone());
    }
    remove_stale(root)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{}-{nanos}", std::process::id());
    // The lock first: a folder without a held lock beside it is stale.
    let lock_path = root.join(format!("{name}.lock"));
    // Another command that ends may remove the root while it is empty.
    let mut created = Err(std::io::ErrorKind::NotFound.into());
    for _ in 0..3 {
        std::fs::create_dir_all(root)?;
        created = File::create(&lock_path);
        if !matches!(&created, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            break;
        }
    }
    let lock = created?;
    lock.try_lock().map_err(std::io::Error::other)?;
    let dir = root.join(&name);
    std::fs::create_dir(&dir)?;
    own.insert(
        root.to_path_buf(),
        ProcessSpill {
            dir: dir.clone(),
            lock_path,
            _lock: lock,
        },
    );
    Ok(dir)
}

/// What [`remove_stale`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub folders: usize,
    pub files: usize,
    pub bytes: u64,
}

/// Removes the spill folders under `root` that no live process holds (a
/// killed command's), and says so on standard error when there were any.
pub fn remove_stale(root: &Path) -> std::io::Result<Removed> {
    let mut removed = Removed::default();
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let lock_path = entry.path();
        if lock_path.extension().is_none_or(|e| e != "lock") {
            continue;
        }
        let Ok(lock) = File::options().write(true).open(&lock_path) else {
            continue;
        };
        // Held: a running process spills there.
        if lock.try_lock().is_err() {
            continue;
        }
        let dir = lock_path.with_extension("");
        let (files, bytes) = folder_size(&dir);
        removed.files += files;
        removed.bytes += bytes;
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::remove_file(&lock_path)?;
        removed.folders += 1;
    }
    if removed.files > 0 {
        eprintln!(
            "dnabench: removed {} spill file{} ({}) that an interrupted command left in {}",
            removed.files,
            if removed.files == 1 { "" } else { "s" },
            format_size(removed.bytes as usize),
            root.display()
        );
    }
    Ok(removed)
}

/// [`remove_stale`] under the spill root of the store at `store_folder`; a
/// folder that cannot be removed is said and left for the next command.
pub(crate) fn remove_stale_for_store(store_folder: &Path) {
    let root = spill_root(Some(store_folder));
    if let Err(e) = remove_stale(&root) {
        eprintln!(
            "dnabench: cannot remove stale spill files in {}: {e}",
            root.display()
        );
    }
}

/// Removes this process's spill folders (each session's own files are gone
/// by then), and each root it leaves empty. Run at the end of a command.
pub fn release_own() {
    let roots: Vec<PathBuf> = match &*OWN.lock().unwrap_or_else(|p| p.into_inner()) {
        Some(own) => own.keys().cloned().collect(),
        None => Vec::new(),
    };
    for root in roots {
        release(&root);
    }
}

/// Removes this process's spill folder under `root`, and `root` if that
/// leaves it empty.
pub fn release(root: &Path) {
    let spill = match &mut *OWN.lock().unwrap_or_else(|p| p.into_inner()) {
        Some(own) => own.remove(root),
        None => None,
    };
    if let Some(spill) = spill {
        let _ = std::fs::remove_dir_all(&spill.dir);
        let _ = std::fs::remove_file(&spill.lock_path);
        let _ = std::fs::remove_dir(root);
    }
}

/// The files under `path` and their bytes.
pub fn folder_size(path: &Path) -> (usize, u64) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return (0, 0);
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_size(&e.path()),
            _ => (1, e.metadata().map_or(0, |m| m.len())),
        })
        .fold((0, 0), |(f, b), (f2, b2)| (f + f2, b + b2))
}

/// The message of a query stopped at its spill budget, with what to do.
pub(crate) fn over_budget_message() -> String {
    let budget = match last_budget() {
        Some(budget) => budget.to_string(),
        None => "its spill budget".to_string(),
    };
    format!(
        "the query spilled more than its budget of {budget}, and was stopped before the disk filled; \
         nothing was committed. Give a larger --spill-limit (or DNABENCH_SPILL_LIMIT), a --spill-dir \
         (or DNABENCH_SPILL_DIR) on a larger disk, or a larger --memory-limit so that less spills"
    )
}

/// Whether `e` is DataFusion's refusal to spill past the budget.
pub(crate) fn is_over_budget(e: &datafusion::error::DataFusionError) -> bool {
    matches!(e.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(m)
        if m.contains("disk space during the spilling"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_folders_are_removed_and_held_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        // A dead process's: a lock nobody holds, a folder with a spill file.
        std::fs::create_dir(root.join("7-1")).unwrap();
        std::fs::write(root.join("7-1/datafusion-x"), vec![0u8; 4096]).unwrap();
        File::create(root.join("7-1.lock")).unwrap();
        // A live process's: its lock is held (another open file, as another
        // process would hold it).
        std::fs::create_dir(root.join("8-1")).unwrap();
        std::fs::write(root.join("8-1/spill"), b"x").unwrap();
        let held = File::create(root.join("8-1.lock")).unwrap();
        held.try_lock().unwrap();

        let removed = remove_stale(root).unwrap();
        assert_eq!(
            removed,
            Removed {
                folders: 1,
                files: 1,
                bytes: 4096
            }
        );
        assert!(!root.join("7-1").exists() && !root.join("7-1.lock").exists());
        assert!(root.join("8-1/spill").exists());

        drop(held);
        assert_eq!(remove_stale(root).unwrap().folders, 1);
        assert_eq!(std::fs::read_dir(root).unwrap().count(), 0);
    }

    #[test]
    fn the_process_folder_is_locked_while_in_use_and_released_after() {
        let root = tempfile::tempdir().unwrap();
        let spill_root = root.path().join("_spill");
        let dir = process_dir(&spill_root).unwrap();
        assert!(dir.is_dir());
        assert_eq!(process_dir(&spill_root).unwrap(), dir, "one per process");
        // Another command opening the store now leaves it alone.
        assert_eq!(remove_stale(&spill_root).unwrap().folders, 0);
        assert!(dir.is_dir());
        release(&spill_root);
        assert!(!spill_root.exists(), "an emptied root is removed");
    }

    #[test]
    fn the_default_budget_is_half_the_free_space() {
        let root = tempfile::tempdir().unwrap();
        let free = free_space(root.path()).unwrap();
        assert!(free > 0);
        let budget = spill_limit(&root.path().join("not-yet"));
        if budget.default_of_free.is_some() {
            assert!(budget.bytes <= free / 2 + (64 << 20));
            assert!(budget.to_string().contains("half of the"), "{budget}");
        }
    }
}
