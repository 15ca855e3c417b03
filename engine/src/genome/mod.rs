//! The genome in memory: every chromosome packed 2 bits a base (see
//! [`PackedSeq`]), loaded once per session from the `genome` table, so
//! `seq()` and the loader never read a table per row.

mod cache;
pub mod encode;
mod packed;
mod session;
mod windows;

pub use packed::PackedSeq;
pub use session::SessionGenome;
pub use windows::{window_sequences, WindowDraw};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use arrow::array::{Int64Array, StringArray};
use futures::TryStreamExt;

use crate::error::{Error, Result};
use crate::ingest::genome::{column, stored_chroms};
use crate::store::Store;

#[derive(Debug)]
pub struct Chrom {
    pub name: String,
    pub seq: PackedSeq,
}

/// All chromosomes of a store, in the order of its FASTA file.
#[derive(Debug, Default)]
pub struct Genome {
    chroms: Vec<Chrom>,
    by_name: HashMap<String, usize>,
}

impl Genome {
    /// Builds a genome from (name, sequence) pairs; sequences must be upper-case ACGTN.
    pub fn from_sequences(seqs: impl IntoIterator<Item = (String, Vec<u8>)>) -> Genome {
        let mut g = Genome::default();
        for (name, seq) in seqs {
            g.by_name.insert(name.clone(), g.chroms.len());
            g.chroms.push(Chrom {
                name,
                seq: PackedSeq::from_bases(&seq),
            });
        }
        g
    }

    /// Loads the genome of `store`, or `None` if it has none: from the
    /// packed copy a previous load kept when it matches the tables, else from
    /// the `genome` table (keeping a packed copy for the next load).
    pub async fn load(store: &Store) -> Result<Option<Genome>> {
        if !store.has_table("chroms") || !store.has_table("genome") {
            return Ok(None);
        }
        let kept = cache::path(store).await?;
        if let Some(genome) = cache::read(&kept) {
            return Ok(Some(genome));
        }
        let genome = Genome::decode(store).await?;
        cache::write(&kept, &genome);
        Ok(Some(genome))
    }

    /// The genome as the `genome` table's text gives it.
    async fn decode(store: &Store) -> Result<Genome> {
        let mut genome = Genome::default();
        for (name, length, _) in stored_chroms(store).await? {
            genome.by_name.insert(name.clone(), genome.chroms.len());
            genome.chroms.push(Chrom {
                name,
                seq: PackedSeq::new(length),
            });
        }
        let ds = store.dataset("genome").await?;
        let mut stream = ds
            .scan()
            .project(&["chrom", "start", "seq"])?
            .try_into_stream()
            .await?;
        while let Some(batch) = stream.try_next().await? {
            let chrom = column::<StringArray>(&batch, 0)?;
            let start = column::<Int64Array>(&batch, 1)?;
            let seq = column::<StringArray>(&batch, 2)?;
            for i in 0..batch.num_rows() {
                let idx = genome.index(chrom.value(i)).ok_or_else(|| {
                    Error::store(
                        store.root(),
                        format!(
                            "genome table names chromosome '{}', which chroms does not list",
                            chrom.value(i)
                        ),
                    )
                })?;
                let bases = seq.value(i).as_bytes();
                let from = start.value(i).max(0) as u64;
                let target = &mut genome.chroms[idx].seq;
                if from + bases.len() as u64 > target.len() {
                    return Err(Error::store(
                        store.root(),
                        format!(
                            "genome chunk {}:{} runs past the chromosome's length {}",
                            chrom.value(i),
                            from,
                            target.len()
                        ),
                    ));
                }
                target.write(from, bases);
            }
        }
        Ok(genome)
    }

    /// The genome of `store`, loaded once per process and shared by every
    /// session and loader that holds it (hg19 is 780 MB packed: one copy).
    pub async fn shared(store: &Store) -> Result<Option<Arc<Genome>>> {
        static LOADED: Mutex<Vec<(PathBuf, Weak<Genome>)>> = Mutex::new(Vec::new());
        let key = std::path::absolute(store.table_path("genome"))?;
        let cached = |key: &PathBuf| {
            let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
            loaded.retain(|(_, g)| g.strong_count() > 0);
            loaded
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, g)| g.upgrade())
        };
        if let Some(genome) = cached(&key) {
            return Ok(Some(genome));
        }
        let Some(genome) = Genome::load(store).await?.map(Arc::new) else {
            return Ok(None);
        };
        LOADED
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key, Arc::downgrade(&genome)));
        Ok(Some(genome))
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn chroms(&self) -> &[Chrom] {
        &self.chroms
    }

    pub fn chrom(&self, index: usize) -> &Chrom {
        &self.chroms[index]
    }

    /// Bytes the genome holds in memory.
    pub fn heap_bytes(&self) -> usize {
        self.chroms.iter().map(|c| c.seq.heap_bytes()).sum()
    }

    /// Appends the bases of `[start, end)` of chromosome `index` to `out`,
    /// with `N` for the part outside the chromosome, reverse-complemented when
    /// `reverse`. `start` may be negative and `end` past the end.
    pub fn window_into(
        &self,
        index: usize,
        start: i64,
        end: i64,
        reverse: bool,
        out: &mut Vec<u8>,
    ) {
        let seq = &self.chroms[index].seq;
        let len = seq.len() as i64;
        let from = out.len();
        let width = (end - start).max(0) as usize;
        out.reserve(width);
        let left_pad = (0.min(end) - start).clamp(0, width as i64) as usize;
        let inner_start = start.clamp(0, len);
        let inner_end = end.clamp(0, len).max(inner_start);
        out.resize(from + left_pad, b'N');
        seq.extend_into(inner_start as u64, inner_end as u64, out);
        out.resize(from + width, b'N');
        if reverse {
            reverse_complement_in_place(&mut out[from..]);
        }
    }

    /// A name of the genome close to `name` (`chr22` for `22`, `MT` for `chrM`).
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let bare = name.strip_prefix("chr").unwrap_or(name);
        let candidates = [
            bare.to_string(),
            format!("chr{bare}"),
            match bare {
                "M" => "MT".to_string(),
                "MT" => "chrM".to_string(),
                _ => String::new(),
            },
        ];
        candidates
            .iter()
            .filter(|c| !c.is_empty() && c.as_str() != name)
            .find_map(|c| {
                self.by_name
                    .get_key_value(c.as_str())
                    .map(|(k, _)| k.as_str())
            })
    }
}

/// Complement of every IUPAC code, case kept; other bytes map to themselves
/// and are reported by the callers that care.
pub const fn complement_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    let pairs: &[(u8, u8)] = &[
        (b'A', b'T'),
        (b'C', b'G'),
        (b'R', b'Y'),
        (b'K', b'M'),
        (b'B', b'V'),
        (b'D', b'H'),
    ];
    let mut j = 0;
    while j < pairs.len() {
        let (a, b) = pairs[j];
        t[a as usize] = b;
        t[b as usize] = a;
        t[(a | 0x20) as usize] = b | 0x20;
        t[(b | 0x20) as usize] = a | 0x20;
        j += 1;
    }
    t[b'U' as usize] = b'A';
    t[b'u' as usize] = b'a';
    t
}

pub const COMPLEMENT: [u8; 256] = complement_table();

pub fn reverse_complement_in_place(bases: &mut [u8]) {
    bases.reverse();
    for b in bases.iter_mut() {
        *b = COMPLEMENT[*b as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genome() -> Genome {
        Genome::from_sequences([("chr1".to_string(), b"ACGTTGCA".to_vec())])
    }

    fn window(start: i64, end: i64, reverse: bool) -> String {
        let mut out = b"prefix:".to_vec();
        genome().window_into(0, start, end, reverse, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn windows_inside_across_and_outside_the_chromosome() {
        assert_eq!(window(0, 4, false), "prefix:ACGT");
        assert_eq!(window(2, 6, true), "prefix:CAAC");
        assert_eq!(window(-3, 2, false), "prefix:NNNAC");
        assert_eq!(window(6, 10, false), "prefix:CANN");
        assert_eq!(window(-2, 10, false), "prefix:NNACGTTGCANN");
        assert_eq!(window(-10, -5, false), "prefix:NNNNN");
        assert_eq!(window(20, 22, false), "prefix:NN");
        assert_eq!(window(3, 3, false), "prefix:");
        assert_eq!(window(6, 10, true), "prefix:NNTG");
    }

    #[test]
    fn chromosome_spellings_are_suggested() {
        let g = Genome::from_sequences([("22".to_string(), vec![]), ("chrM".to_string(), vec![])]);
        assert_eq!(g.suggest("chr22"), Some("22"));
        assert_eq!(g.suggest("MT"), Some("chrM"));
        assert_eq!(g.suggest("chr1"), None);
    }

    #[test]
    fn a_second_load_reads_the_kept_packed_copy_base_for_base() {
        let dir = tempfile::tempdir().unwrap();
        let fasta = dir.path().join("g.fa");
        let chr1: String = (0..5_003)
            .map(|i| b"ACGTNacgt"[(i * 7 + i / 97) % 9] as char)
            .collect();
        std::fs::write(&fasta, format!(">chr1\n{chr1}\n>chr2\nNNNNACGT\n")).unwrap();
        let store = Store::create(&dir.path().join("s")).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(crate::ingest::genome::ingest_genome(&store, &fasta))
            .unwrap();
        let all = |g: &Genome| -> Vec<(String, Vec<u8>)> {
            g.chroms()
                .iter()
                .map(|c| (c.name.clone(), c.seq.to_bases()))
                .collect()
        };
        let decoded = all(&rt.block_on(Genome::decode(&store)).unwrap());
        let first = rt.block_on(Genome::load(&store)).unwrap().unwrap();
        let kept = rt.block_on(cache::path(&store)).unwrap();
        assert!(kept.exists(), "the first load keeps {}", kept.display());
        assert_eq!(all(&first), decoded);
        let second = rt.block_on(Genome::load(&store)).unwrap().unwrap();
        assert_eq!(all(&second), decoded);
        assert_eq!(second.index("chr2"), Some(1));
        // A damaged copy is rebuilt, not read.
        std::fs::write(&kept, b"DNBPACK1").unwrap();
        let third = rt.block_on(Genome::load(&store)).unwrap().unwrap();
        assert_eq!(all(&third), decoded);
        assert!(cache::read(&kept).is_some(), "rewritten whole");
    }

    #[test]
    fn complement_keeps_case_and_covers_iupac() {
        let mut s = b"ACGTNacgtnRYKMBDHVSW".to_vec();
        reverse_complement_in_place(&mut s);
        assert_eq!(&s, b"WSBDHVKMRYnacgtNACGT");
    }
}
