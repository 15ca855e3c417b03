//! A file's size, md5 and sha256, read once.

use std::io::Read;
use std::path::Path;

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// What a file is, as its publishers check it.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
    pub sha256: String,
}

/// The digest of the file at `path`, read on a blocking thread.
pub async fn digest(path: &Path) -> std::io::Result<Digest> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || digest_now(&path))
        .await
        .map_err(std::io::Error::other)?
}

fn digest_now(path: &Path) -> std::io::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Digest {
        size,
        md5: hex(&md5.finalize()),
        sha256: hex(&sha.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let d = digest(&p).await.unwrap();
        assert_eq!(d.size, 3);
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
