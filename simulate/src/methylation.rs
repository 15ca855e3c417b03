//! Methylation: CpGs near an NRF1 site are unmethylated, the others
//! methylated.

use rand::seq::SliceRandom;
use rand::Rng;

use super::{motif_index, CpG, Simulation, CHROM_NAMES};

/// Least distance between two simulated CpGs: half the methylation window
/// (250 bp) plus the farthest an NRF1 site lies from its CpG (50 bp + width).
const MIN_CPG_GAP: usize = 330;
/// One simulated CpG per this many bp of chromosome.
const CPG_SPACING: usize = 2500;

impl Simulation {
    pub(super) fn plant_methylation(&mut self) {
        let nrf1 = motif_index("nrf1");
        let width = self.motifs[nrf1].width() as i64;
        for chrom in 0..CHROM_NAMES.len() {
            let len = self.planter.len(chrom);
            let mut candidates: Vec<usize> = (200..len - 200)
                .filter(|&p| &self.planter.seqs[chrom][p..p + 2] == b"CG")
                .collect();
            candidates.shuffle(self.rng());
            // Chosen CpGs stay MIN_CPG_GAP apart, so that a 501 bp window
            // holds no NRF1 site but its own CpG's: otherwise a methylated
            // CpG's window carries a neighbour's site and the motif no longer
            // tells the states apart.
            let mut chosen: Vec<usize> = Vec::new();
            for pos in candidates {
                if chosen.len() == len / CPG_SPACING {
                    break;
                }
                if chosen.iter().any(|&c| c.abs_diff(pos) < MIN_CPG_GAP)
                    || !self
                        .planter
                        .is_free(chrom, pos as i64 - 80, pos as i64 + 82)
                {
                    continue;
                }
                let unmethylated = self.rng().random_bool(0.5);
                if unmethylated {
                    let d = self.rng().random_range(15..50);
                    let start = if self.rng().random_bool(0.5) {
                        pos as i64 + 2 + d
                    } else {
                        pos as i64 - d - width
                    };
                    let strand = self.planter.strand();
                    self.planter
                        .plant(&self.motifs, nrf1, chrom, start as usize, strand);
                }
                self.planter.take(chrom, pos as i64 - 80, pos as i64 + 82);
                self.cpgs.push(CpG {
                    chrom,
                    pos,
                    unmethylated,
                });
                chosen.push(pos);
            }
        }
        self.cpgs.sort_by_key(|c| (c.chrom, c.pos));
        for s in 0..4 {
            let shift = self.rng().random_range(-0.08..0.08);
            self.methylation_samples
                .push((format!("sample_{}", s + 1), shift));
        }
    }
}
