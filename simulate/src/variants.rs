//! Variants with known effects: fine-mapped eQTLs that break a TF site
//! (causal) or touch nothing (background), and the saturation mutagenesis
//! of MPRA elements built from CEBP and ETS sites.

use rand::Rng;

use super::plant::Site;
use super::{motif_index, MpraRow, Simulation, Variant, CHROM_NAMES};

/// Causal variants per tissue, each breaking one lone TF site.
const CAUSAL_PER_TISSUE: usize = 520;
/// Variants away from every planted feature, per tissue; one in 20 gets an
/// undecided PIP that the task leaves out.
const BACKGROUND_PER_TISSUE: usize = 1200;
/// MPRA elements of 300 bp, each measured at 900 changes.
const MPRA_ELEMENTS: usize = 7;

impl Simulation {
    fn nearest_gene(&self, chrom: usize, pos: usize) -> usize {
        (0..self.genes.len())
            .filter(|&g| self.genes[g].chrom == chrom)
            .min_by_key(|&g| self.genes[g].tss.abs_diff(pos))
            .unwrap_or(0)
    }

    /// Records a fine-mapped variant, attributed to the nearest gene.
    fn push_variant(
        &mut self,
        chrom: usize,
        pos: usize,
        (reference, alt): (u8, u8),
        tissue: &'static str,
        pip: f64,
    ) {
        let gene = self.nearest_gene(chrom, pos);
        self.variants.push(Variant {
            chrom,
            pos,
            reference,
            alt,
            tissue,
            pip,
            gene,
        });
    }

    pub(super) fn make_variants(&mut self, tf_sites: &[(&'static str, Vec<Site>)]) {
        for (tissue, role) in [("Whole_Blood", "gata"), ("Liver", "ap1")] {
            let sites = &tf_sites
                .iter()
                .find(|(r, _)| *r == role)
                .expect("planted role")
                .1;
            let stride = (sites.len() / CAUSAL_PER_TISSUE).max(1);
            for site in sites.iter().step_by(stride).take(CAUSAL_PER_TISSUE) {
                let motif = &self.motifs[site.motif];
                // The most informative base, and the least likely change there.
                let (k, row) = motif
                    .probabilities
                    .iter()
                    .enumerate()
                    .max_by(|a, b| max_of(a.1).total_cmp(&max_of(b.1)))
                    .expect("motifs have rows");
                let least = (0..4)
                    .min_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .expect("four bases");
                let (pos, alt) = if site.strand == '+' {
                    (site.start + k, b"ACGT"[least])
                } else {
                    (site.end(&self.motifs) - 1 - k, b"TGCA"[least])
                };
                let reference = self.planter.seqs[site.chrom][pos];
                if reference == alt {
                    continue;
                }
                let pip = self.rng().random_range(0.92..1.0);
                self.push_variant(site.chrom, pos, (reference, alt), tissue, pip);
            }
            // Background variants away from every planted feature, and a few
            // with undecided PIPs that the task leaves out.
            for i in 0..BACKGROUND_PER_TISSUE {
                let chrom = self.rng().random_range(0..CHROM_NAMES.len());
                let Some(pos) = self.planter.free_stretch(chrom, 1, 30) else {
                    continue;
                };
                let reference = self.planter.seqs[chrom][pos];
                let alt = loop {
                    let b = b"ACGT"[self.rng().random_range(0..4)];
                    if b != reference {
                        break b;
                    }
                };
                let pip = if i % 20 == 0 {
                    self.rng().random_range(0.1..0.9)
                } else {
                    self.rng().random_range(0.0..0.01)
                };
                self.planter.take(chrom, pos as i64, pos as i64 + 1);
                self.push_variant(chrom, pos, (reference, alt), tissue, pip);
            }
        }
        self.variants.sort_by_key(|v| (v.chrom, v.pos));
    }

    pub(super) fn plant_mpra(&mut self) {
        let (cebp, ets) = (motif_index("cebp"), motif_index("ets"));
        for e in 0..MPRA_ELEMENTS {
            let chrom = e % CHROM_NAMES.len();
            let Some(start) = self.planter.free_stretch(chrom, 300, 50) else {
                continue;
            };
            let first_site = self.planter.sites.len();
            for (slot, motif) in [cebp, ets, cebp, ets].into_iter().enumerate() {
                let at = start + 30 + slot * 65 + self.rng().random_range(0..20);
                let strand = self.planter.strand();
                self.planter.plant(&self.motifs, motif, chrom, at, strand);
            }
            let sites: Vec<Site> = self.planter.sites[first_site..].to_vec();
            self.planter.take(chrom, start as i64, start as i64 + 300);
            let element = format!("SIM_E{}", e + 1);
            for pos in start..start + 300 {
                let reference = self.planter.seqs[chrom][pos];
                for &alt in b"ACGT" {
                    if alt == reference {
                        continue;
                    }
                    let mut effect = self.planter.noise(0.1);
                    for site in &sites {
                        if (site.start..site.end(&self.motifs)).contains(&pos) {
                            effect -= 3.0 * self.motif_change(site, pos, reference, alt);
                        }
                    }
                    self.mpra.push(MpraRow {
                        element: element.clone(),
                        chrom,
                        pos,
                        reference,
                        alt,
                        effect,
                    });
                }
            }
        }
    }

    /// p(ref) − p(alt) under the site's matrix, read on the site's strand.
    fn motif_change(&self, site: &Site, pos: usize, reference: u8, alt: u8) -> f64 {
        let motif = &self.motifs[site.motif];
        let (k, complement) = if site.strand == '+' {
            (pos - site.start, false)
        } else {
            (site.end(&self.motifs) - 1 - pos, true)
        };
        let index = |b: u8| {
            let b = if complement {
                dnabench_engine::genome::COMPLEMENT[b as usize]
            } else {
                b
            };
            b"ACGT".iter().position(|&x| x == b)
        };
        match (index(reference), index(alt)) {
            (Some(r), Some(a)) => motif.probabilities[k][r] - motif.probabilities[k][a],
            _ => 0.0,
        }
    }
}

fn max_of(row: &[f64; 4]) -> f64 {
    row.iter().copied().fold(0.0, f64::max)
}
