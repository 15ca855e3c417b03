//! The simulated genome being edited: free space bookkeeping and motif
//! planting, every choice drawn from one seeded generator.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::meme::Motif;
use dnabench_engine::genome::reverse_complement_in_place;

/// A motif written into the genome.
#[derive(Debug, Clone)]
pub struct Site {
    pub chrom: usize,
    pub start: usize,
    pub motif: usize,
    pub strand: char,
}

impl Site {
    pub fn end(&self, motifs: &[Motif]) -> usize {
        self.start + motifs[self.motif].width()
    }

    pub fn center(&self, motifs: &[Motif]) -> usize {
        self.start + motifs[self.motif].width() / 2
    }
}

pub struct Planter {
    pub rng: ChaCha8Rng,
    pub names: Vec<String>,
    pub seqs: Vec<Vec<u8>>,
    /// Bases already given to a feature, which later features avoid.
    taken: Vec<Vec<bool>>,
    pub sites: Vec<Site>,
}

impl Planter {
    pub fn new(seed: u64, chroms: Vec<(String, Vec<u8>)>) -> Self {
        let taken = chroms.iter().map(|(_, s)| vec![false; s.len()]).collect();
        let (names, seqs) = chroms.into_iter().unzip();
        Planter {
            rng: ChaCha8Rng::seed_from_u64(seed),
            names,
            seqs,
            taken,
            sites: Vec::new(),
        }
    }

    pub fn len(&self, chrom: usize) -> usize {
        self.seqs[chrom].len()
    }

    pub fn is_free(&self, chrom: usize, start: i64, end: i64) -> bool {
        start >= 0
            && end as usize <= self.len(chrom)
            && !self.taken[chrom][start as usize..end as usize]
                .iter()
                .any(|&t| t)
    }

    pub fn take(&mut self, chrom: usize, start: i64, end: i64) {
        let (s, e) = (
            start.max(0) as usize,
            (end.max(0) as usize).min(self.len(chrom)),
        );
        if s < e {
            self.taken[chrom][s..e].fill(true);
        }
    }

    /// A random free stretch `[start, start + width)` with `margin` free bases
    /// on each side, or None after many tries.
    pub fn free_stretch(&mut self, chrom: usize, width: usize, margin: usize) -> Option<usize> {
        let len = self.len(chrom);
        if len < width + 2 * margin {
            return None;
        }
        for _ in 0..1000 {
            let start = self.rng.random_range(margin..=len - width - margin);
            let (s, e) = ((start - margin) as i64, (start + width + margin) as i64);
            if self.is_free(chrom, s, e) && !self.seqs[chrom][start..start + width].contains(&b'N')
            {
                return Some(start);
            }
        }
        None
    }

    /// A base drawn from a probability row over A, C, G, T, squared and
    /// renormalized: ChIP peaks sit on strong matches, and a draw from the
    /// raw matrix of a low-information motif (GATA) is often no better a
    /// match than chance ones in a megabase of real sequence.
    fn draw_base(&mut self, probabilities: &[f64; 4]) -> u8 {
        let squared = probabilities.map(|p| p * p);
        let total: f64 = squared.iter().sum();
        let probabilities = &squared.map(|p| p / total);
        let mut u: f64 = self.rng.random();
        for (i, p) in probabilities.iter().enumerate() {
            if u < *p {
                return b"ACGT"[i];
            }
            u -= p;
        }
        b"ACGT"[probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |m| m.0)]
    }

    /// Writes an instance of `motifs[motif]` at `start` on `strand`, takes its
    /// bases, and records the site.
    pub fn plant(
        &mut self,
        motifs: &[Motif],
        motif: usize,
        chrom: usize,
        start: usize,
        strand: char,
    ) {
        let mut bases: Vec<u8> = motifs[motif]
            .probabilities
            .iter()
            .map(|p| self.draw_base(p))
            .collect();
        if strand == '-' {
            reverse_complement_in_place(&mut bases);
        }
        let end = start + bases.len();
        self.seqs[chrom][start..end].copy_from_slice(&bases);
        self.take(chrom, start as i64, end as i64);
        self.sites.push(Site {
            chrom,
            start,
            motif,
            strand,
        });
    }

    /// Plants `motif` centred at `center` when that stretch is free.
    pub fn plant_centred(
        &mut self,
        motifs: &[Motif],
        motif: usize,
        chrom: usize,
        center: i64,
        strand: char,
    ) -> bool {
        let start = center - motifs[motif].width() as i64 / 2;
        let end = start + motifs[motif].width() as i64;
        if !self.is_free(chrom, start, end) {
            return false;
        }
        self.plant(motifs, motif, chrom, start as usize, strand);
        true
    }

    pub fn strand(&mut self) -> char {
        if self.rng.random_bool(0.5) {
            '+'
        } else {
            '-'
        }
    }

    /// Roughly normal noise with standard deviation `sd` (a sum of uniforms).
    pub fn noise(&mut self, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.rng.random::<f64>()).sum();
        // Six uniforms sum to variance 1/2.
        (s - 3.0) * sd / std::f64::consts::FRAC_1_SQRT_2
    }
}
