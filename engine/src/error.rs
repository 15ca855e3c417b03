//! Errors that say where: the file, the line or record, and what was expected.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A place in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// 1-based line number, where known.
    pub line: Option<u64>,
    /// The record (sequence name, row key) being read, where known.
    pub record: Option<String>,
}

impl Location {
    pub fn file(path: &Path) -> Self {
        Location {
            path: path.to_path_buf(),
            line: None,
            record: None,
        }
    }

    pub fn line(path: &Path, line: u64) -> Self {
        Location {
            line: Some(line),
            ..Location::file(path)
        }
    }

    pub fn with_record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = &self.record {
            write!(f, " (record '{record}')")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },

    /// An input file is malformed at a known place.
    #[error("{location}: {message}")]
    Parse { location: Location, message: String },

    /// The store folder is missing, or its content is not what was expected.
    #[error("store {}: {message}", path.display())]
    Store { path: PathBuf, message: String },

    /// A request the data cannot satisfy (e.g. a second, different genome).
    #[error("{0}")]
    Invalid(String),

    /// SQL failed; `origin` names the query (a file, or "query").
    #[error("{origin}: {}", explain(source))]
    Sql {
        origin: String,
        source: datafusion::error::DataFusionError,
    },

    #[error(transparent)]
    Param(#[from] dnabench_queries::ParamError),

    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("lance: {0}")]
    Lance(#[from] lance::Error),

    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),

    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),

    #[error(transparent)]
    Io(#[from] io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn parse(location: Location, message: impl Into<String>) -> Self {
        Error::Parse {
            location,
            message: message.into(),
        }
    }

    pub fn store(path: &Path, message: impl Into<String>) -> Self {
        Error::Store {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A failed query's error, with what to do when it ran out of its memory
/// pool or its spill budget.
fn explain(e: &datafusion::error::DataFusionError) -> String {
    if crate::sql::spill::is_over_budget(e) {
        return crate::sql::spill::over_budget_message();
    }
    match e.find_root() {
        datafusion::error::DataFusionError::ResourcesExhausted(_) => format!(
            "{e}\nThe query needs more memory than the session's limit of {} allows, even spilling to disk; \
             give a larger --memory-limit (or DNABENCH_MEMORY_LIMIT), or narrow the query",
            crate::sql::memory::format_size(crate::sql::memory::memory_limit())
        ),
        _ => e.to_string(),
    }
}
