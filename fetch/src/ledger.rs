//! What a fetch has verified, so that the next one skips it: the ledger in
//! the output folder (`.fetch-ledger.tsv`, one line per verified file,
//! appended as each lands), and the lock file beside the recipe
//! (`RECIPE.lock`), which holds the sha256 of each file whose publisher gives
//! no checksum, from its first download, for every later fetch to check.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::verify::Digest;

pub const LEDGER: &str = ".fetch-ledger.tsv";

/// The files verified in an output folder, by their path in it.
pub struct Ledger {
    path: PathBuf,
    entries: BTreeMap<String, Digest>,
    file: Mutex<Option<std::fs::File>>,
}

impl Ledger {
    /// The ledger of `out`; a line cut short by a kill is ignored.
    pub fn open(out: &Path) -> Result<Ledger> {
        let path = out.join(LEDGER);
        let mut entries = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines() {
                let f: Vec<&str> = line.split('\t').collect();
                if let [dest, size, md5, sha256] = f[..] {
                    if let Ok(size) = size.parse() {
                        let digest = Digest {
                            size,
                            md5: md5.to_string(),
                            sha256: sha256.to_string(),
                        };
                        entries.insert(dest.to_string(), digest);
                    }
                }
            }
        }
        Ok(Ledger {
            path,
            entries,
            file: Mutex::new(None),
        })
    }

    /// The digest recorded for `dest`, if its file is still there at that size.
    pub fn verified(&self, out: &Path, dest: &Path) -> Option<&Digest> {
        let entry = self.entries.get(&key(dest))?;
        let on_disk = std::fs::metadata(out.join(dest)).ok()?.len();
        (on_disk == entry.size).then_some(entry)
    }

    /// Records a verified file: one whole line, written at once.
    pub fn record(&self, dest: &Path, d: &Digest) -> Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            let opened = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            *file = Some(opened);
        }
        let line = format!("{}\t{}\t{}\t{}\n", key(dest), d.size, d.md5, d.sha256);
        file.as_mut()
            .expect("opened above")
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }
}

fn key(dest: &Path) -> String {
    dest.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The lock file: URL → (size, sha256).
pub struct Lock {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, (u64, String)>>,
    changed: Mutex<bool>,
}

impl Lock {
    pub fn read(path: &Path) -> Result<Lock> {
        let mut entries = BTreeMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for (i, line) in text.lines().enumerate() {
                    if line.starts_with('#') || line.trim().is_empty() {
                        continue;
                    }
                    let f: Vec<&str> = line.split('\t').collect();
                    let parsed = match f[..] {
                        [url, size, sha] if sha.len() == 64 => {
                            size.parse().ok().map(|s| (url, s, sha))
                        }
                        _ => None,
                    };
                    let Some((url, size, sha)) = parsed else {
                        return Err(Error::List {
                            path: path.to_path_buf(),
                            line: i + 1,
                            message: "expected URL, size and sha256, tab-separated".into(),
                        });
                    };
                    entries.insert(url.to_string(), (size, sha.to_string()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, e)),
        }
        Ok(Lock {
            path: path.to_path_buf(),
            entries: Mutex::new(entries),
            changed: Mutex::new(false),
        })
    }

    /// (size, sha256) recorded for `url`.
    pub fn get(&self, url: &str) -> Option<(u64, String)> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned()
    }

    /// Records `url`'s digest and writes the lock at once, so a fetch
    /// killed later still has it (a line per file that has no checksum: small).
    pub fn insert(&self, url: &str, d: &Digest) -> Result<()> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_string(), (d.size, d.sha256.clone()));
        *self.changed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.save()
    }

    /// Writes the lock whole (temporary name, then rename) if it gained entries.
    pub fn save(&self) -> Result<()> {
        if !*self.changed.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(());
        }
        let mut text = String::from(
            "# dnabench fetch: the sha256 of each file whose source gives no checksum, from its first download\n",
        );
        for (url, (size, sha)) in self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            text.push_str(&format!("{url}\t{size}\t{sha}\n"));
        }
        let partial = self.path.with_extension("lock.partial");
        std::fs::write(&partial, text)
            .and_then(|_| std::fs::rename(&partial, &self.path))
            .map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(size: u64) -> Digest {
        Digest {
            size,
            md5: "m".into(),
            sha256: "s".repeat(64),
        }
    }

    #[test]
    fn the_ledger_keeps_files_still_on_disk_at_their_size() {
        let out = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(out.path().join("a")).unwrap();
        std::fs::write(out.path().join("a/x.gz"), b"12345").unwrap();
        std::fs::write(out.path().join("a/y.gz"), b"123").unwrap();
        let l = Ledger::open(out.path()).unwrap();
        l.record(Path::new("a/x.gz"), &d(5)).unwrap();
        l.record(Path::new("a/y.gz"), &d(5)).unwrap();
        // A line cut short by a kill.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(out.path().join(LEDGER))
            .unwrap();
        f.write_all(b"a/z.gz\t1").unwrap();
        let l = Ledger::open(out.path()).unwrap();
        assert!(l.verified(out.path(), Path::new("a/x.gz")).is_some());
        assert!(
            l.verified(out.path(), Path::new("a/y.gz")).is_none(),
            "size changed"
        );
        assert!(l.verified(out.path(), Path::new("a/z.gz")).is_none());
    }

    #[test]
    fn the_lock_round_trips_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.lock");
        let lock = Lock::read(&path).unwrap();
        lock.insert("https://x/a.gz", &d(7)).unwrap();
        assert_eq!(
            Lock::read(&path).unwrap().get("https://x/a.gz").unwrap().0,
            7
        );
        std::fs::write(&path, "https://x/a.gz\t7\n").unwrap();
        let e = Lock::read(&path).err().unwrap().to_string();
        assert!(e.contains("r.lock:1: expected URL, size and sha256"), "{e}");
    }
}
