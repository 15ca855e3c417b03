//! The packed genome kept as one file beside the store's tables
//! (`_cache/genome-GENOME_VERSION-CHROMS_VERSION.packed`), so that a second
//! open reads 2 bits a base straight into memory instead of decoding and
//! packing the `genome` table's text again. The file is derived data: it is
//! named by the versions of the two tables it was built from (a re-ingest
//! makes a new name), written to a temporary name and renamed whole, and a
//! file that does not read back exactly is ignored and rebuilt.
//!
//! Layout, little-endian u64s: the magic, the chromosome count, then for each
//! chromosome its name (u64 length, UTF-8), length in bases, N-run count,
//! the runs as (start, end) pairs and the packed bytes; the magic again.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::packed::PackedSeq;
use super::{Chrom, Genome};
use crate::store::Store;

const MAGIC: &[u8; 8] = b"DNBPACK1";
const FOLDER: &str = "_cache";

/// The cache file of the store's genome as its tables are now.
pub(super) async fn path(store: &Store) -> crate::Result<PathBuf> {
    let genome = store.dataset("genome").await?.version().version;
    let chroms = store.dataset("chroms").await?.version().version;
    Ok(store
        .folder(FOLDER)
        .join(format!("genome-{genome}-{chroms}.packed")))
}

/// The genome in `path`, or `None` when there is no such file or it does
/// not read back whole (it is then rebuilt from the tables).
pub(super) fn read(path: &Path) -> Option<Genome> {
    let file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).ok()?;
    if &magic != MAGIC {
        return None;
    }
    let count = read_u64(&mut r)?;
    let mut genome = Genome::default();
    let mut consumed = 16u64;
    for _ in 0..count {
        let name_len = read_u64(&mut r)?;
        // A length past the file's size is a damaged file, not an allocation.
        if name_len > size {
            return None;
        }
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name).ok()?;
        let name = String::from_utf8(name).ok()?;
        let len = read_u64(&mut r)?;
        let run_count = read_u64(&mut r)?;
        let packed_len = len.div_ceil(4);
        if run_count.saturating_mul(16).saturating_add(packed_len) > size {
            return None;
        }
        let mut runs = Vec::with_capacity(run_count as usize);
        for _ in 0..run_count {
            runs.push((read_u64(&mut r)?, read_u64(&mut r)?));
        }
        let mut packed = vec![0u8; packed_len as usize];
        r.read_exact(&mut packed).ok()?;
        consumed += 24 + name_len + run_count * 16 + packed_len;
        let seq = PackedSeq::from_parts(len, packed, runs)?;
        genome.by_name.insert(name.clone(), genome.chroms.len());
        genome.chroms.push(Chrom { name, seq });
    }
    r.read_exact(&mut magic).ok()?;
    (&magic == MAGIC && consumed + 8 == size).then_some(genome)
}

/// Writes `genome` to `path` whole or not at all, and removes the files of
/// the store's earlier genome versions. A failure only costs the next open
/// its speed, so it is reported, not returned.
pub(super) fn write(path: &Path, genome: &Genome) {
    if let Err(e) = try_write(path, genome) {
        eprintln!(
            "note: could not keep the packed genome at {} ({e}); the next open decodes the genome table again",
            path.display()
        );
    }
}

fn try_write(path: &Path, genome: &Genome) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
        w.write_all(MAGIC)?;
        w.write_all(&(genome.chroms.len() as u64).to_le_bytes())?;
        for chrom in &genome.chroms {
            let (packed, runs) = chrom.seq.parts();
            w.write_all(&(chrom.name.len() as u64).to_le_bytes())?;
            w.write_all(chrom.name.as_bytes())?;
            w.write_all(&chrom.seq.len().to_le_bytes())?;
            w.write_all(&(runs.len() as u64).to_le_bytes())?;
            for &(s, e) in runs {
                w.write_all(&s.to_le_bytes())?;
                w.write_all(&e.to_le_bytes())?;
            }
            w.write_all(packed)?;
        }
        w.write_all(MAGIC)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = written.and_then(|_| std::fs::rename(&partial, path)) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    for entry in std::fs::read_dir(folder)?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Only finished copies: another process's `.partial-PID` is its own.
        if name.starts_with("genome-") && name.ends_with(".packed") && entry.path() != path {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn read_u64(r: &mut impl Read) -> Option<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).ok()?;
    Some(u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genome() -> Genome {
        Genome::from_sequences([
            (
                "chr1".to_string(),
                b"NNACGTTGCANNNNAGCTTTNACGGGCATNN".to_vec(),
            ),
            ("chrM".to_string(), b"ACG".to_vec()),
            ("empty".to_string(), Vec::new()),
        ])
    }

    fn bases(g: &Genome) -> Vec<(String, Vec<u8>)> {
        g.chroms()
            .iter()
            .map(|c| (c.name.clone(), c.seq.to_bases()))
            .collect()
    }

    #[test]
    fn a_written_genome_reads_back_base_for_base() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("_cache/genome-3-1.packed");
        write(&path, &genome());
        let back = read(&path).expect("reads back");
        assert_eq!(bases(&back), bases(&genome()));
        assert_eq!(back.index("chrM"), Some(1));
    }

    #[test]
    fn a_damaged_file_is_ignored_and_a_new_version_replaces_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genome-3-1.packed");
        write(&path, &genome());
        let whole = std::fs::read(&path).unwrap();
        for cut in [0, 7, 20, whole.len() / 2, whole.len() - 1] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            assert!(read(&path).is_none(), "cut at {cut}");
        }
        let mut longer = whole.clone();
        longer.push(0);
        std::fs::write(&path, &longer).unwrap();
        assert!(read(&path).is_none(), "a trailing byte");

        let newer = dir.path().join("genome-4-1.packed");
        write(&newer, &genome());
        assert!(!path.exists(), "the old version is removed");
        assert!(read(&newer).is_some());
    }
}
