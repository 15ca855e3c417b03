use std::path::{Path, PathBuf};

/// What went wrong, and where: the recipe or list and its line, or the URL,
/// its HTTP status and the file it was to become.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {message}", path.display())]
    Recipe { path: PathBuf, message: String },
    #[error("{}:{line}: {message}", path.display())]
    List {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{url}{}: {message} (for {})", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), file.display())]
    Download {
        url: String,
        status: Option<u16>,
        file: PathBuf,
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl Error {
    /// A download error that outlasted its retries says how often it was tried.
    pub(crate) fn tried(self, tries: u32) -> Error {
        match self {
            Error::Download {
                url,
                status,
                file,
                message,
            } => Error::Download {
                url,
                status,
                file,
                message: format!("{message}; tried {tries} times"),
            },
            e => e,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
