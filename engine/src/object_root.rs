//! A store on an object store: `s3://bucket/prefix` (in a build with the
//! `s3` feature; credentials, region and endpoint from the `AWS_*`
//! environment variables, read by Lance), or Lance's `file-object-store://`,
//! a local folder through the same object-store API.
//!
//! Tables are Lance datasets at `PREFIX/NAME.lance`, read and written by
//! Lance itself. What is not a table, the run folders (checkpoints and their
//! configs), is written to a local cache first and uploaded when the run is
//! finished; a reader downloads it on first use.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use lance::io::ObjectStore;

use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct ObjectRoot {
    /// The store's URL, without a trailing slash.
    pub url: String,
    /// Where the run folders are mirrored.
    pub cache: PathBuf,
}

impl ObjectRoot {
    /// The object root `location` names, if it is a URL (`scheme://…`).
    pub fn parse(location: &str) -> Option<ObjectRoot> {
        let (scheme, rest) = location.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return None;
        }
        let url = format!("{scheme}://{}", rest.trim_end_matches('/'));
        let cache = match std::env::var_os("DNABENCH_CACHE") {
            Some(dir) => PathBuf::from(dir),
            None => std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache").join("dnabench"))
                .unwrap_or_else(std::env::temp_dir),
        }
        .join("stores")
        .join(sanitize(&url));
        Some(ObjectRoot { url, cache })
    }

    pub fn table_uri(&self, name: &str) -> String {
        format!("{}/{name}.lance", self.url)
    }

    /// Runs `work` with the object store and the store's base path, to
    /// completion, from sync code inside or outside a runtime: on a thread
    /// of its own with a runtime of its own.
    fn run<T, F, Fut>(&self, work: F) -> Result<T>
    where
        T: Send,
        F: FnOnce(Arc<ObjectStore>, object_store::path::Path) -> Fut + Send,
        Fut: Future<Output = Result<T>>,
    {
        let url = self.url.clone();
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async move {
                        let (store, base) = ObjectStore::from_uri(&url).await?;
                        work(store, base).await
                    })
                })
                .join()
                .map_err(|_| {
                    Error::Invalid(format!("an object store call to {} panicked", self.url))
                })?
        })
    }

    /// Whether `NAME.lance` holds a committed Lance dataset.
    pub fn has_table(&self, name: &str) -> Result<bool> {
        let name = format!("{name}.lance");
        self.run(|store, base| async move {
            let versions = base.join(name.as_str()).join("_versions");
            let listed = store.list_with_delimiter(Some(&versions)).await?;
            Ok(!listed.objects.is_empty())
        })
    }

    /// The names of what lies directly under `folder` ("" for the root).
    pub fn children(&self, folder: &str) -> Result<Vec<String>> {
        let folder = folder.to_string();
        self.run(|store, base| async move {
            let dir = child_path(&base, &folder);
            let listed = store.list_with_delimiter(Some(&dir)).await?;
            Ok(listed
                .common_prefixes
                .iter()
                .chain(listed.objects.iter().map(|o| &o.location))
                .filter_map(|p| p.filename().map(str::to_string))
                .collect())
        })
    }

    /// Removes everything under `folder`.
    pub fn remove(&self, folder: &str) -> Result<()> {
        let folder = folder.to_string();
        self.run(|store, base| async move {
            let dir = child_path(&base, &folder);
            let found: Vec<_> = store.list(Some(dir)).try_collect().await?;
            for meta in found {
                store.delete(&meta.location).await?;
            }
            Ok(())
        })
    }

    /// Uploads every file under the local `dir` to `folder`.
    pub fn upload(&self, dir: &Path, folder: &str) -> Result<()> {
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files)?;
        let folder = folder.to_string();
        self.run(|store, base| async move {
            for (relative, path) in files {
                let bytes = std::fs::read(&path)
                    .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", path.display())))?;
                let mut target = child_path(&base, &folder);
                for part in relative.split('/') {
                    target = target.join(part);
                }
                store.put(&target, &bytes).await?;
            }
            Ok(())
        })
    }

    /// Downloads every file under `folder` into the local `dir`; false when
    /// the folder holds nothing.
    pub fn download(&self, folder: &str, dir: &Path) -> Result<bool> {
        let folder = folder.to_string();
        let dir = dir.to_path_buf();
        self.run(|store, base| async move {
            let prefix = child_path(&base, &folder);
            let found: Vec<_> = store.list(Some(prefix.clone())).try_collect().await?;
            for meta in &found {
                let Some(parts) = meta.location.prefix_match(&prefix) else {
                    continue;
                };
                let mut path = dir.clone();
                for part in parts {
                    path.push(part.as_ref());
                }
                let bytes = store.read_one_all(&meta.location).await?;
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, &bytes)
                    .map_err(|e| Error::Invalid(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(!found.is_empty())
        })
    }
}

fn child_path(base: &object_store::path::Path, folder: &str) -> object_store::path::Path {
    folder
        .split('/')
        .filter(|p| !p.is_empty())
        .fold(base.clone(), |path, part| path.join(part))
}

/// Every file under `dir`, with its path relative to `root` ('/'-separated).
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Invalid(format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
            out.push((relative.join("/"), path));
        }
    }
    Ok(())
}

/// A URL as one folder name.
fn sanitize(url: &str) -> String {
    url.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
