//! The simulated chromosomes' background sequence: a Markov chain fitted on
//! the bundled real slice, so the background has human k-mer statistics
//! (GC content, CpG depletion, short repeats) while no two chromosomes, and
//! no training and test window, share a stretch of sequence.

use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use dnabench_engine::error::{Error, Location, Result};
use dnabench_engine::formats::lines::InputFile;

/// Bases of context the chain conditions on.
pub const ORDER: usize = 5;

/// Next-base counts after every context of [`ORDER`] bases.
pub struct MarkovChain {
    /// Cumulative next-base probabilities, one row of 4 per context.
    cumulative: Vec<[f64; 4]>,
}

fn code(base: u8) -> Option<usize> {
    match base {
        b'A' => Some(0),
        b'C' => Some(1),
        b'G' => Some(2),
        b'T' => Some(3),
        _ => None,
    }
}

impl MarkovChain {
    /// Fits the chain on `seq`; runs of N (or any non-ACGT) restart the context.
    pub fn fit(seq: &[u8]) -> Self {
        let contexts = 1 << (2 * ORDER);
        let mask = contexts - 1;
        // Add-one smoothing: every context can continue with every base.
        let mut counts = vec![[1.0f64; 4]; contexts];
        let (mut context, mut known) = (0usize, 0usize);
        for &b in seq {
            let Some(c) = code(b) else {
                known = 0;
                continue;
            };
            if known >= ORDER {
                counts[context][c] += 1.0;
            }
            context = ((context << 2) | c) & mask;
            known += 1;
        }
        let cumulative = counts
            .into_iter()
            .map(|row| {
                let total: f64 = row.iter().sum();
                let mut acc = 0.0;
                row.map(|n| {
                    acc += n / total;
                    acc
                })
            })
            .collect();
        MarkovChain { cumulative }
    }

    /// `len` bases drawn from the chain.
    pub fn generate(&self, len: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
        let mask = self.cumulative.len() - 1;
        let mut seq = Vec::with_capacity(len);
        let mut context = rng.random_range(0..self.cumulative.len());
        for _ in 0..len {
            let u: f64 = rng.random();
            let row = &self.cumulative[context];
            let c = row.iter().position(|&p| u < p).unwrap_or(3);
            seq.push(b"ACGT"[c]);
            context = ((context << 2) | c) & mask;
        }
        seq
    }
}

/// The upper-cased sequence of a (single-record) FASTA.
pub fn read_slice(path: &Path) -> Result<Vec<u8>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut seq = Vec::new();
    while let Some((_, line)) = input.read_line(&mut buf)? {
        if !line.starts_with('>') {
            seq.extend(line.trim_end().bytes().map(|b| b.to_ascii_uppercase()));
        }
    }
    let acgt = seq.iter().filter(|&&b| code(b).is_some()).count();
    if acgt < 100_000 {
        return Err(Error::parse(
            Location::file(path),
            format!("holds {acgt} A/C/G/T bases; fitting the background needs at least 100000"),
        ));
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn dinucleotide(seq: &[u8], pair: &[u8; 2]) -> f64 {
        seq.windows(2).filter(|w| *w == pair).count() as f64 / seq.len() as f64
    }

    #[test]
    fn the_chain_keeps_the_cpg_depletion_and_gc_content_of_what_it_was_fitted_on() {
        // A source where CG is rare and GC common: the chain must keep both.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut source = Vec::new();
        while source.len() < 200_000 {
            let b = b"ACGT"[rng.random_range(0..4)];
            if b == b'G' && source.last() == Some(&b'C') {
                source.push(b'A');
            } else {
                source.push(b);
            }
        }
        let chain = MarkovChain::fit(&source);
        let drawn = chain.generate(200_000, &mut rng);
        // 1/16 without the depletion; the add-one smoothing leaves a trace.
        let cg = dinucleotide(&drawn, b"CG");
        assert!(cg < 0.005, "CpG kept rare: {cg}");
        let gc = |s: &[u8]| {
            s.iter().filter(|&&b| b == b'G' || b == b'C').count() as f64 / s.len() as f64
        };
        assert!((gc(&drawn) - gc(&source)).abs() < 0.01);
        assert!((dinucleotide(&drawn, b"GC") - dinucleotide(&source, b"GC")).abs() < 0.005);
    }

    #[test]
    fn contexts_restart_after_n_and_the_draw_is_a_function_of_the_seed() {
        let chain = MarkovChain::fit(b"ACGTNNNNACGTACGTACGTNACGT");
        let a = chain.generate(1000, &mut ChaCha8Rng::seed_from_u64(1));
        let b = chain.generate(1000, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(a, b);
        assert!(a.iter().all(|b| b"ACGT".contains(b)));
    }
}
