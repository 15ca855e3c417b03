//! Non-overlapping k-patches over `NAGCT`, the paper's Transformer input:
//! `ACGTAC` with k = 4 is `ACGT`, `ACNN`.
//!
//! Ids: the specials, then one id per patch in base-5 order over
//! `N A G C T` (`NNNN` first): 5⁴ + 4 = 629 ids for k = 4. Letters other
//! than `ACGT` count as `N`. When the length is not a multiple of k the
//! last patch is padded with `N` on the right, so a sequence of length L
//! gives ⌈L / k⌉ tokens and no base is dropped.

use super::{TokenIds, SPECIALS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpatchTokenizer {
    pub k: usize,
}

impl Default for KpatchTokenizer {
    /// The paper's patch tokenizer: k = 4.
    fn default() -> Self {
        KpatchTokenizer { k: 4 }
    }
}

/// Position of a letter in `NAGCT`.
fn letter(b: u8) -> u32 {
    match b.to_ascii_uppercase() {
        b'A' => 1,
        b'G' => 2,
        b'C' => 3,
        b'T' => 4,
        _ => 0,
    }
}

impl TokenIds for KpatchTokenizer {
    fn vocab_size(&self) -> usize {
        SPECIALS as usize + 5usize.pow(self.k as u32)
    }

    fn encode(&self, seq: &[u8]) -> Vec<u32> {
        seq.chunks(self.k.max(1))
            .map(|patch| {
                let id = patch.iter().fold(0u32, |id, &b| id * 5 + letter(b));
                // Right-padding with N (0) multiplies by 5 per missing letter.
                SPECIALS + id * 5u32.pow((self.k - patch.len()) as u32)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_patches_get_known_ids() {
        let t = KpatchTokenizer::default();
        assert_eq!(t.vocab_size(), 629);
        // NNNN is 0, AAAA is 1111 in base 5, TTTT 4444.
        assert_eq!(t.encode(b"NNNNAAAATTTT"), vec![4, 4 + 156, 4 + 624]);
        // ACGT = 1,3,2,4 in NAGCT order.
        assert_eq!(t.encode(b"acgt"), vec![4 + ((5 + 3) * 5 + 2) * 5 + 4]);
        // IUPAC letters are N.
        assert_eq!(t.encode(b"RYKM"), vec![4]);
    }

    #[test]
    fn a_partial_last_patch_is_padded_with_n() {
        let t = KpatchTokenizer::default();
        let ids = t.encode(b"ACGTAC");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], t.encode(b"ACNN")[0]);
        assert!(t.encode(b"").is_empty());
        for len in 0..13 {
            assert_eq!(t.encode(&vec![b'A'; len]).len(), len.div_ceil(4));
        }
    }
}
