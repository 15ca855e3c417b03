//! Byte-pair encoding learned from the genome (HuggingFace `tokenizers`):
//! frequent base strings become single tokens, so a token covers a
//! variable number of bases.
//!
//! Training reads the genome's runs of `ACGT` (a run of `N` splits them,
//! so no token spans an assembly gap) in words of at most `word_length`
//! bases, forward strand only. The specials take ids 0–3 as in every
//! vocabulary of dnabench, then the alphabet `ACGTN`, then the merges.
//! Encoding maps lower case to upper and any other letter to `N`.

use std::path::Path;

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::{AddedToken, Model, Trainer};

use super::{Special, TokenIds};

/// How a BPE vocabulary is learned.
#[derive(Debug, Clone, PartialEq)]
pub struct BpeConfig {
    /// Vocabulary size, specials and alphabet included (the paper's 16k).
    pub vocab_size: usize,
    /// A pair seen fewer times is never merged.
    pub min_frequency: u64,
    /// Longest word the trainer sees; longer runs of ACGT are cut.
    pub word_length: usize,
    /// Longest token, in bases.
    pub max_token_length: usize,
}

impl Default for BpeConfig {
    fn default() -> Self {
        BpeConfig {
            vocab_size: 16_000,
            min_frequency: 2,
            word_length: 1000,
            max_token_length: 16,
        }
    }
}

#[derive(Clone)]
pub struct BpeTokenizer {
    model: BPE,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BpeTokenizer({} tokens)", self.model.get_vocab_size())
    }
}

const SPECIAL_TOKENS: [(&str, Special); 4] = [
    ("[PAD]", Special::Pad),
    ("[CLS]", Special::Cls),
    ("[MASK]", Special::Mask),
    ("[SEP]", Special::Sep),
];

/// The words the trainer sees: runs of ACGT cut at N and at `word_length`.
fn words(seq: &[u8], word_length: usize) -> impl Iterator<Item = String> + '_ {
    seq.split(|b| !matches!(b, b'A' | b'C' | b'G' | b'T'))
        .filter(|run| !run.is_empty())
        .flat_map(move |run| run.chunks(word_length.max(1)))
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

impl BpeTokenizer {
    /// Learns a vocabulary from `sequences` (upper-case ACGTN, as the
    /// genome table stores them).
    pub fn train<'a>(
        sequences: impl Iterator<Item = &'a [u8]> + Send,
        cfg: &BpeConfig,
    ) -> Result<BpeTokenizer, String> {
        let specials: Vec<AddedToken> = SPECIAL_TOKENS
            .iter()
            .map(|(t, _)| AddedToken::from(*t, true))
            .collect();
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(cfg.vocab_size)
            .min_frequency(cfg.min_frequency)
            .special_tokens(specials)
            .initial_alphabet(['A', 'C', 'G', 'T', 'N'].into_iter().collect())
            .max_token_length(Some(cfg.max_token_length))
            .show_progress(false)
            .build();
        let word_length = cfg.word_length;
        let words = sequences.flat_map(|s| words(s, word_length));
        trainer
            .feed(words, |w| Ok(vec![w.to_string()]))
            .map_err(|e| format!("bpe training: {e}"))?;
        let mut model = BPE::default();
        trainer
            .train(&mut model)
            .map_err(|e| format!("bpe training: {e}"))?;
        let tokenizer = BpeTokenizer { model };
        tokenizer.check_specials()?;
        Ok(tokenizer)
    }

    fn check_specials(&self) -> Result<(), String> {
        for (token, special) in SPECIAL_TOKENS {
            if self.model.token_to_id(token) != Some(special as u32) {
                return Err(format!(
                    "bpe vocabulary: {token} is not at id {}",
                    special as u32
                ));
            }
        }
        if self.model.token_to_id("N").is_none() {
            return Err("bpe vocabulary: no token for N".to_string());
        }
        Ok(())
    }

    /// The vocabulary and merges as JSON, the `tokenizers` model format.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.model).expect("a BPE model serializes")
    }

    pub fn from_json(json: &str) -> Result<BpeTokenizer, String> {
        let model: BPE = serde_json::from_str(json).map_err(|e| format!("bpe vocabulary: {e}"))?;
        let tokenizer = BpeTokenizer { model };
        tokenizer.check_specials()?;
        Ok(tokenizer)
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }

    pub fn load(path: &Path) -> Result<BpeTokenizer, String> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| format!("bpe vocabulary {}: {e}", path.display()))?;
        Self::from_json(&json).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The bases of token `id`, or None for a special or unknown id.
    pub fn token(&self, id: u32) -> Option<String> {
        self.model.id_to_token(id).filter(|t| !t.starts_with('['))
    }
}

impl TokenIds for BpeTokenizer {
    fn vocab_size(&self) -> usize {
        self.model.get_vocab_size()
    }

    fn encode(&self, seq: &[u8]) -> Vec<u32> {
        let text: String = seq
            .iter()
            .map(|b| match b.to_ascii_uppercase() {
                c @ (b'A' | b'C' | b'G' | b'T') => c as char,
                _ => 'N',
            })
            .collect();
        // Runs of N are encoded letter by letter; every letter is in the
        // alphabet, so tokenizing cannot fail.
        self.model
            .tokenize(&text)
            .map(|tokens| tokens.into_iter().map(|t| t.id).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trained() -> BpeTokenizer {
        let repeat = b"ACGTTGCA".repeat(200);
        let genome: Vec<&[u8]> = vec![&repeat, b"NNNNACGTACGTNNN", b"GATTACAGATTACA"];
        let cfg = BpeConfig {
            vocab_size: 40,
            ..BpeConfig::default()
        };
        BpeTokenizer::train(genome.into_iter(), &cfg).unwrap()
    }

    #[test]
    fn specials_first_then_merges_that_cover_the_input() {
        let t = trained();
        assert!(t.vocab_size() <= 40 && t.vocab_size() > 9, "{t:?}");
        let seq = b"ACGTTGCAACGTTGCA";
        let ids = t.encode(seq);
        // Frequent 8-mers merge, so fewer tokens than bases.
        assert!(ids.len() < seq.len() / 2, "{ids:?}");
        assert!(ids.iter().all(|&id| id >= 4));
        let text: String = ids.iter().map(|&id| t.token(id).unwrap()).collect();
        assert_eq!(text.as_bytes(), seq);
    }

    #[test]
    fn n_and_other_letters_are_n_and_lower_case_is_upper() {
        let t = trained();
        let ids = t.encode(b"acgtRYn");
        let text: String = ids.iter().map(|&id| t.token(id).unwrap()).collect();
        assert_eq!(text, "ACGTNNN");
    }

    #[test]
    fn json_round_trip_keeps_the_vocabulary() {
        let t = trained();
        let back = BpeTokenizer::from_json(&t.to_json()).unwrap();
        let seq = b"GATTACAACGTTGCANNACG";
        assert_eq!(back.encode(seq), t.encode(seq));
        assert!(BpeTokenizer::from_json("{}").is_err());
    }
}
