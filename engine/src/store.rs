//! The store: one folder (or object-store prefix, [`crate::object_root`]),
//! one Lance dataset per table, one commit per write.

mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lance::Dataset;

pub use write::{ErrorSlot, NewTable};

use crate::error::{Error, Result};
use crate::object_root::ObjectRoot;

/// A table of the store as `dnabench tables` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub rows: u64,
    /// The Lance version now current.
    pub version: u64,
    pub fragments: usize,
}

/// A folder of Lance datasets, `NAME.lance` for table `NAME`, or the same
/// under an object-store URL (`s3://bucket/prefix`).
#[derive(Debug, Clone)]
pub struct Store {
    /// The folder, or the URL as given.
    root: PathBuf,
    object: Option<Arc<ObjectRoot>>,
}

impl Store {
    /// Opens the store at `path`, creating the folder if it does not exist.
    /// A URL (`s3://bucket/prefix`) opens a store on an object store, where
    /// a prefix needs no creating.
    pub fn create(path: &Path) -> Result<Store> {
        if let Some(store) = Store::on_object_store(path) {
            return store;
        }
        if path.exists() && !path.is_dir() {
            return Err(Error::store(path, "exists and is not a folder"));
        }
        std::fs::create_dir_all(path)
            .map_err(|e| Error::store(path, format!("cannot create: {e}")))?;
        Ok(Store {
            root: path.to_path_buf(),
            object: None,
        }
        .without_stale_spill())
    }

    /// Opens an existing store (on an object store, any prefix: one with
    /// no tables yet is an empty store).
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(store) = Store::on_object_store(path) {
            return store;
        }
        if !path.is_dir() {
            return Err(Error::store(
                path,
                "no such store folder (create one with 'dnabench ingest genome FILE --store PATH')",
            ));
        }
        Ok(Store {
            root: path.to_path_buf(),
            object: None,
        }
        .without_stale_spill())
    }

    /// The store, after removing the spill files a killed command left for it.
    fn without_stale_spill(self) -> Store {
        crate::sql::spill::remove_stale_for_store(&self.folder(""));
        self
    }

    /// Whether `path` names a store on an object store (a URL) rather
    /// than a folder.
    pub fn is_object_store(path: &Path) -> bool {
        path.to_str().and_then(ObjectRoot::parse).is_some()
    }

    fn on_object_store(path: &Path) -> Option<Result<Store>> {
        let object = ObjectRoot::parse(path.to_str()?)?;
        let scheme = object.url.split("://").next().unwrap_or_default();
        if scheme == "s3" && !cfg!(feature = "s3") {
            return Some(Err(Error::store(
                path,
                "is on S3, and this dnabench was built without S3 support; build it with --features s3",
            )));
        }
        Some(Ok(Store {
            root: PathBuf::from(&object.url),
            object: Some(Arc::new(object)),
        }
        .without_stale_spill()))
    }

    /// The folder, or the object-store URL.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the store is a local folder (not an object-store prefix).
    pub fn is_local(&self) -> bool {
        self.object.is_none()
    }

    /// The table's folder; on an object store, its URL.
    pub fn table_path(&self, name: &str) -> PathBuf {
        match &self.object {
            Some(object) => PathBuf::from(object.table_uri(name)),
            None => self.root.join(format!("{name}.lance")),
        }
    }

    /// The URI Lance opens table `name` at.
    fn table_uri(&self, name: &str) -> Result<String> {
        match &self.object {
            Some(object) => Ok(object.table_uri(name)),
            None => uri(&self.table_path(name)),
        }
    }

    pub fn has_table(&self, name: &str) -> bool {
        match &self.object {
            Some(object) => object.has_table(name).unwrap_or(false),
            None => self.table_path(name).join("_versions").is_dir(),
        }
    }

    /// The current version of table `name`.
    pub async fn dataset(&self, name: &str) -> Result<Dataset> {
        if !self.has_table(name) {
            return Err(Error::store(&self.root, format!("has no table '{name}'")));
        }
        Ok(Dataset::open(&self.table_uri(name)?).await?)
    }

    /// Table `name` as it was at `version`.
    pub async fn dataset_at(&self, name: &str, version: u64) -> Result<Dataset> {
        let latest = self.dataset(name).await?;
        if latest.version().version == version {
            return Ok(latest);
        }
        latest.checkout_version(version).await.map_err(|e| {
            Error::store(
                &self.root,
                format!(
                    "table '{name}' has no version {version} (its latest is {}): {e}",
                    latest.version().version
                ),
            )
        })
    }

    /// Removes table `name` and every version of it.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        match &self.object {
            Some(object) => object.remove(&format!("{name}.lance")),
            None => {
                let path = self.table_path(name);
                std::fs::remove_dir_all(&path).map_err(|e| {
                    Error::store(&self.root, format!("cannot remove table '{name}': {e}"))
                })
            }
        }
    }

    /// A folder of the store that is not a table (`runs/RUN`): the folder
    /// itself, or on an object store its local copy (see [`Store::fetch_folder`]).
    pub fn folder(&self, relative: &str) -> PathBuf {
        let base = match &self.object {
            Some(object) => &object.cache,
            None => &self.root,
        };
        relative
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(base.clone(), |path, part| path.join(part))
    }

    /// The names directly under the store's folder `relative`; none when
    /// it does not exist.
    pub fn list_folder(&self, relative: &str) -> Result<Vec<String>> {
        if let Some(object) = &self.object {
            return object.children(relative);
        }
        let Ok(entries) = std::fs::read_dir(self.folder(relative)) else {
            return Ok(Vec::new());
        };
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect())
    }

    /// On an object store, uploads the local copy of folder `relative`;
    /// a local store's folder is already in place.
    pub fn publish_folder(&self, relative: &str) -> Result<()> {
        match &self.object {
            Some(object) => object.upload(&self.folder(relative), relative),
            None => Ok(()),
        }
    }

    /// On an object store, downloads folder `relative` to its local copy
    /// unless that is there already; returns the local folder.
    pub fn fetch_folder(&self, relative: &str) -> Result<PathBuf> {
        let local = self.folder(relative);
        if let Some(object) = &self.object {
            if !local.exists() {
                // Into a sibling first, so an interrupted download is not
                // taken for a copy later.
                let partial = local.with_extension("partial");
                let _ = std::fs::remove_dir_all(&partial);
                if object.download(relative, &partial)? {
                    std::fs::rename(&partial, &local)?;
                }
            }
        }
        Ok(local)
    }

    /// The names of the tables present, in the order of [`dnabench_schemas::TABLE_NAMES`],
    /// then any others alphabetically.
    pub fn table_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = match &self.object {
            Some(object) => object.children("")?,
            None => std::fs::read_dir(&self.root)
                .map_err(|e| Error::store(&self.root, format!("cannot list: {e}")))?
                .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
                .collect::<Result<Vec<String>>>()?,
        };
        for file_name in entries {
            let Some(name) = file_name.strip_suffix(".lance") else {
                continue;
            };
            if self.has_table(name) {
                names.push(name.to_string());
            }
        }
        let rank = |n: &str| {
            dnabench_schemas::TABLE_NAMES
                .iter()
                .position(|t| *t == n)
                .unwrap_or(usize::MAX)
        };
        names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        Ok(names)
    }

    /// Every table with its row count and current version.
    pub async fn tables(&self) -> Result<Vec<TableInfo>> {
        let mut out = Vec::new();
        for name in self.table_names()? {
            let ds = self.dataset(&name).await?;
            out.push(TableInfo {
                rows: ds.count_rows(None).await? as u64,
                version: ds.version_id(),
                fragments: ds.get_fragments().len(),
                name,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// The properties recorded with every commit of table `name`, oldest first.
    pub async fn commit_properties(&self, name: &str) -> Result<Vec<HashMap<String, String>>> {
        if !self.has_table(name) {
            return Ok(Vec::new());
        }
        let ds = self.dataset(name).await?;
        let mut out = Vec::new();
        for v in ds.versions().await? {
            if let Some(t) = ds.read_transaction_by_version(v.version).await? {
                if let Some(p) = t.transaction_properties {
                    out.push((*p).clone());
                }
            }
        }
        Ok(out)
    }
}

/// Lance takes a URI; an absolute path is one.
fn uri(path: &Path) -> Result<String> {
    let abs = std::path::absolute(path)?;
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::Invalid(format!("path {} is not valid UTF-8", abs.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_missing_store_says_how_to_make_one() {
        let err = Store::open(Path::new("/no/such/store")).unwrap_err();
        assert!(err.to_string().contains("no such store folder"), "{err}");
    }
}
