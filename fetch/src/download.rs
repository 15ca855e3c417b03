//! One file over HTTP: tried at each mirror in order, then at its origin;
//! retried with backoff on timeouts, refused connections, 5xx and a body cut
//! short (resumed with a range request from the bytes already on disk);
//! written to `NAME.partial` and renamed to `NAME` only once its size and
//! checksum are the ones expected.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::verify::{digest, Digest};

/// How downloads are tried.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URLs tried in order before a file's own: a mirror replaces the
    /// scheme and host of the URL (`http://127.0.0.1:8000` serves
    /// `https://www.encodeproject.org/files/...` as `http://127.0.0.1:8000/files/...`).
    pub mirrors: Vec<String>,
    /// Never the origin: only the mirrors (a site's own copy, no internet).
    pub mirrors_only: bool,
    /// Tries after the first, per URL, for errors that may pass.
    pub retries: u32,
    /// The first wait; each retry doubles it, up to 30 s.
    pub backoff: Duration,
    /// No byte for this long ends a try.
    pub read_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            mirrors: Vec::new(),
            mirrors_only: false,
            retries: 5,
            backoff: Duration::from_millis(500),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// What a file must be: its md5, size or sha256 where known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    pub md5: Option<String>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

impl Expected {
    pub fn is_empty(&self) -> bool {
        self.md5.is_none() && self.size.is_none() && self.sha256.is_none()
    }

    /// Why `found` is not this file, if it is not.
    pub fn mismatch(&self, found: &Digest) -> Option<String> {
        if let Some(size) = self.size.filter(|&s| s != found.size) {
            return Some(format!("{} bytes, expected {size}", found.size));
        }
        if let Some(md5) = self
            .md5
            .as_ref()
            .filter(|m| !m.eq_ignore_ascii_case(&found.md5))
        {
            return Some(format!("md5 {}, expected {md5}", found.md5));
        }
        if let Some(sha) = self
            .sha256
            .as_ref()
            .filter(|s| !s.eq_ignore_ascii_case(&found.sha256))
        {
            return Some(format!(
                "sha256 {}, expected {sha} (the lock file's, from its first download)",
                found.sha256
            ));
        }
        None
    }
}

/// A file that arrived whole and verified.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub digest: Digest,
    /// The URL it came from (a mirror's or the origin's).
    pub from: String,
}

/// Downloads files; one client serves every job.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    options: ClientOptions,
}

/// How a try ended, when it did not deliver the file.
enum Failed {
    /// Worth another try at the same URL.
    Transient(Error),
    /// Not at this URL: the next mirror, or the origin, may have it.
    Here(Error),
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client> {
        let http = reqwest::Client::builder()
            // Bytes as served: a checksum is of the file, not of a decoding.
            .no_gzip()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(options.read_timeout)
            .user_agent(concat!("dnabench-fetch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Download {
                url: String::new(),
                status: None,
                file: PathBuf::new(),
                message: format!("cannot start the HTTP client: {e}"),
            })?;
        Ok(Client { http, options })
    }

    /// The URLs tried for `url`, in order.
    pub fn candidates(&self, url: &str) -> Vec<String> {
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let mut out: Vec<String> = self
            .options
            .mirrors
            .iter()
            .map(|m| format!("{}{path}", m.trim_end_matches('/')))
            .collect();
        if !self.options.mirrors_only || out.is_empty() {
            out.push(url.to_string());
        }
        out
    }

    /// Fetches `url` into `dest` (its folder must exist); `progress` hears
    /// of every chunk's bytes.
    pub async fn download(
        &self,
        url: &str,
        dest: &Path,
        expected: &Expected,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Fetched> {
        self.download_first(&[url.to_string()], dest, expected, progress)
            .await
    }

    /// Like [`Client::download`], from the first of `urls` (one file's
    /// addresses, each tried at the mirrors, then at itself) that gives it.
    pub async fn download_first(
        &self,
        urls: &[String],
        dest: &Path,
        expected: &Expected,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Fetched> {
        let mut last = None;
        for candidate in urls.iter().flat_map(|url| self.candidates(url)) {
            match self
                .download_from(&candidate, dest, expected, progress)
                .await
            {
                Ok(digest) => {
                    return Ok(Fetched {
                        digest,
                        from: candidate,
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one candidate URL"))
    }

    async fn download_from(
        &self,
        url: &str,
        dest: &Path,
        expected: &Expected,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Digest> {
        let partial = partial_path(dest);
        let mut tries = 0;
        loop {
            match self.try_once(url, dest, &partial, expected, progress).await {
                Ok(digest) => return Ok(digest),
                Err(Failed::Here(e)) => return Err(e),
                Err(Failed::Transient(e)) if tries >= self.options.retries => {
                    return Err(e.tried(tries + 1))
                }
                Err(Failed::Transient(_)) => {
                    let wait = self.options.backoff * 2u32.saturating_pow(tries);
                    tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
                    tries += 1;
                }
            }
        }
    }

    async fn try_once(
        &self,
        url: &str,
        dest: &Path,
        partial: &Path,
        expected: &Expected,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Digest, Failed> {
        let fail = |status: Option<StatusCode>, message: String| Error::Download {
            url: url.to_string(),
            status: status.map(|s| s.as_u16()),
            file: dest.to_path_buf(),
            message,
        };
        let mut have = tokio::fs::metadata(partial).await.map_or(0, |m| m.len());
        if have > 0 && expected.size == Some(have) {
            // Whole already (a fetch killed before its rename): no range of
            // it is left to ask for, so it is verified as it is.
            if let Ok(found) = keep_if_expected(partial, dest, expected).await? {
                return Ok(found);
            }
            have = 0;
        }
        let mut request = self.http.get(url);
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failed::Transient(fail(None, describe(&e))))?;
        let status = response.status();
        let from = match status {
            StatusCode::PARTIAL_CONTENT => range_start(&response).unwrap_or(u64::MAX),
            StatusCode::OK => 0,
            StatusCode::RANGE_NOT_SATISFIABLE => {
                // What is on disk is no prefix of this file: start over.
                let _ = tokio::fs::remove_file(partial).await;
                return Err(Failed::Transient(fail(
                    Some(status),
                    "the range asked for is past the file's end".into(),
                )));
            }
            s if s.is_server_error()
                || s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::REQUEST_TIMEOUT =>
            {
                return Err(Failed::Transient(fail(Some(s), "the server failed".into())))
            }
            s => return Err(Failed::Here(fail(Some(s), "not served here".into()))),
        };
        if from != 0 && from != have {
            let _ = tokio::fs::remove_file(partial).await;
            return Err(Failed::Transient(fail(
                Some(status),
                format!("asked for bytes from {have}, was sent bytes from {from}"),
            )));
        }
        let total = response.content_length().map(|n| n + from);
        if let (Some(total), Some(size)) = (total, expected.size) {
            if total != size {
                return Err(Failed::Here(fail(
                    Some(status),
                    format!("the server sends {total} bytes, expected {size}; refused unread"),
                )));
            }
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(from > 0)
            .truncate(from == 0)
            .open(partial)
            .await
            .map_err(|e| Failed::Here(Error::io(partial, e)))?;
        let mut got = from;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Failed::Here(Error::io(partial, e)))?;
                    got += chunk.len() as u64;
                    progress(chunk.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = file.flush().await;
                    return Err(Failed::Transient(fail(
                        Some(status),
                        format!("the body stopped after {got} bytes ({})", describe(&e)),
                    )));
                }
            }
        }
        file.flush()
            .await
            .and(file.sync_all().await)
            .map_err(|e| Failed::Here(Error::io(partial, e)))?;
        drop(file);
        if let Some(total) = total.filter(|&t| t != got) {
            return Err(Failed::Transient(fail(
                Some(status),
                format!("the body stopped after {got} of {total} bytes"),
            )));
        }
        keep_if_expected(partial, dest, expected)
            .await?
            .map_err(|why| Failed::Here(fail(Some(status), format!("{why}: refused, not kept"))))
    }
}

/// Renames `partial` to `dest` if it is the file `expected`; else removes it
/// and says how it differs.
async fn keep_if_expected(
    partial: &Path,
    dest: &Path,
    expected: &Expected,
) -> Result<Result<Digest, String>, Failed> {
    let found = digest(partial)
        .await
        .map_err(|e| Failed::Here(Error::io(partial, e)))?;
    if let Some(why) = expected.mismatch(&found) {
        let _ = tokio::fs::remove_file(partial).await;
        return Ok(Err(why));
    }
    tokio::fs::rename(partial, dest)
        .await
        .map_err(|e| Failed::Here(Error::io(dest, e)))?;
    Ok(Ok(found))
}

/// Where a file is written until it is verified.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// The first byte of a 206's `Content-Range: bytes FROM-TO/TOTAL`.
fn range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// A reqwest error with its causes, which say what actually failed.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_replace_scheme_and_host_and_come_first() {
        let client = Client::new(ClientOptions {
            mirrors: vec!["http://127.0.0.1:9/".into(), "https://m.org/enc".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            client.candidates("https://www.encodeproject.org/files/E1/@@download/E1.bed.gz"),
            [
                "http://127.0.0.1:9/files/E1/@@download/E1.bed.gz",
                "https://m.org/enc/files/E1/@@download/E1.bed.gz",
                "https://www.encodeproject.org/files/E1/@@download/E1.bed.gz",
            ]
        );
    }

    #[test]
    fn a_mismatch_names_what_differs() {
        let found = Digest {
            size: 3,
            md5: "aa".into(),
            sha256: "bb".into(),
        };
        let e = Expected {
            md5: Some("AA".into()),
            size: Some(3),
            sha256: None,
        };
        assert_eq!(e.mismatch(&found), None);
        let e = Expected {
            md5: Some("cc".into()),
            ..e
        };
        assert_eq!(e.mismatch(&found).unwrap(), "md5 aa, expected cc");
        let e = Expected { size: Some(4), ..e };
        assert_eq!(e.mismatch(&found).unwrap(), "3 bytes, expected 4");
    }
}
