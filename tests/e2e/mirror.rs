//! A file mirror on 127.0.0.1 for the fetch tests: HTTP/1.1 GET with
//! `Range: bytes=N-`, one request per connection, and per-path faults (a 503
//! first, a body cut short once, a slow body). Stopped when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a path does besides serving its bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    /// A 503 to the first request, then the file.
    Unavailable503Once,
    /// The first response announces the whole length and stops halfway.
    TruncateOnce,
    /// Each 64 KiB chunk after a pause, so a test can kill a fetch midway.
    Slow,
}

struct Route {
    body: Vec<u8>,
    fault: Fault,
    faulted: bool,
}

/// One request as the server saw it: path, and the range's start if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub path: String,
    pub range_from: Option<u64>,
    pub status: u16,
}

pub struct Mirror {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Mirror {
    pub fn start() -> Mirror {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let routes = Arc::new(Mutex::new(HashMap::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, halt) = (routes.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, s) = (r.clone(), s.clone());
                        std::thread::spawn(move || {
                            let _ = serve(stream, &r, &s);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Mirror {
            base,
            routes,
            seen,
            stop,
        }
    }

    /// Serves `body` at `path` (which starts with '/').
    pub fn put(&self, path: &str, body: Vec<u8>, fault: Fault) {
        self.routes.lock().unwrap().insert(
            path.to_string(),
            Route {
                body,
                fault,
                faulted: false,
            },
        );
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests of `path` so far.
    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    seen: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Routes are paths; a query (`?format=json`) is served as its path.
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/").to_string();
    let mut range_from = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range_from = v.trim().trim_end_matches('-').parse::<u64>().ok();
        }
    }
    let mut out = stream;
    let (status, body, fault) = {
        let mut routes = routes.lock().unwrap();
        match routes.get_mut(&path) {
            None => (404, Vec::new(), Fault::None),
            Some(route) => {
                let first = !route.faulted;
                route.faulted = true;
                match route.fault {
                    Fault::Unavailable503Once if first => (503, Vec::new(), Fault::None),
                    Fault::TruncateOnce if first => (200, route.body.clone(), Fault::TruncateOnce),
                    Fault::Slow => (200, route.body.clone(), Fault::Slow),
                    _ => (200, route.body.clone(), Fault::None),
                }
            }
        }
    };
    let start = match (status, range_from) {
        (200, Some(from)) if from as usize <= body.len() => from as usize,
        _ => 0,
    };
    let status = if status == 200 && range_from.is_some() {
        206
    } else {
        status
    };
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range_from,
        status,
    });
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    let rest = &body[start..];
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        rest.len()
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{}\r\n",
            body.len().saturating_sub(1),
            body.len()
        ));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    match fault {
        Fault::TruncateOnce => out.write_all(&rest[..rest.len() / 2])?,
        Fault::Slow => {
            for chunk in rest.chunks(64 << 10) {
                out.write_all(chunk)?;
                out.flush()?;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        _ => out.write_all(rest)?,
    }
    out.flush()?;
    let _ = out.shutdown(std::net::Shutdown::Both);
    Ok(())
}

/// `bytes` gzipped, as a server holds a `.gz` file.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The hex MD5 of `bytes`, as ENCODE's metadata states it.
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
