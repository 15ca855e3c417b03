//! Overlapping k-mers: `ACGTAC` with k = 5 is `ACGTA`, `CGTAC`.
//!
//! Ids: the specials, then one id per k-mer over `ACGT` in base-4 order
//! (`AAAAA` first), then one `UNK` id for every k-mer holding another
//! letter (`N`). A sequence shorter than k has no token.

use super::{TokenIds, SPECIALS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmerTokenizer {
    pub k: usize,
    pub stride: usize,
}

impl Default for KmerTokenizer {
    /// The paper's k-mer tokenizer: k = 5, stride 1.
    fn default() -> Self {
        KmerTokenizer { k: 5, stride: 1 }
    }
}

fn base(b: u8) -> Option<u32> {
    match b.to_ascii_uppercase() {
        b'A' => Some(0),
        b'C' => Some(1),
        b'G' => Some(2),
        b'T' => Some(3),
        _ => None,
    }
}

impl KmerTokenizer {
    /// The id of k-mers that hold a letter other than A, C, G, T.
    pub fn unknown(&self) -> u32 {
        SPECIALS + 4u32.pow(self.k as u32)
    }
}

impl TokenIds for KmerTokenizer {
    fn vocab_size(&self) -> usize {
        self.unknown() as usize + 1
    }

    fn encode(&self, seq: &[u8]) -> Vec<u32> {
        if seq.len() < self.k {
            return Vec::new();
        }
        (0..=seq.len() - self.k)
            .step_by(self.stride.max(1))
            .map(|start| {
                seq[start..start + self.k]
                    .iter()
                    .try_fold(0u32, |id, &b| base(b).map(|v| id * 4 + v))
                    .map_or(self.unknown(), |id| SPECIALS + id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_kmers_get_known_ids() {
        let t = KmerTokenizer::default();
        assert_eq!(t.vocab_size(), 4 + 1024 + 1);
        // AAAAA is the first k-mer, TTTTT the last; CGTAC = 1,2,3,0,1 in base 4.
        assert_eq!(t.encode(b"AAAAAC"), vec![4, 4 + 1]);
        assert_eq!(t.encode(b"TTTTT"), vec![4 + 1023]);
        assert_eq!(
            t.encode(b"cgtac"),
            vec![4 + (((4 + 2) * 4 + 3) * 4) * 4 + 1]
        );
        // Any k-mer touching an N is UNK.
        let u = t.unknown();
        assert_eq!(t.encode(b"AAAANAAAAA"), vec![u, u, u, u, u, 4]);
        assert!(t.encode(b"ACGT").is_empty());
        let stride2 = KmerTokenizer { k: 3, stride: 2 };
        assert_eq!(stride2.encode(b"AAAAAAA").len(), 3);
    }
}
