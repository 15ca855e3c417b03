//! Transcription factor sites, enhancers with a motif grammar, and the
//! peak tracks over them.

use rand::Rng;

use super::plant::Site;
use super::{motif_index, Peak, Simulation, Track, CHROM_NAMES};
use crate::meme::Motif;

/// One lone site of each chromatin TF per this many bp.
const SITE_SPACING: usize = 3200;
/// One ChIP peak at random (no motif) per this many bp, in every TF track.
const RANDOM_PEAK_SPACING: usize = 45_000;
/// One enhancer, and one decoy, per this many bp.
const ENHANCER_SPACING: usize = 10_000;
/// Bases between the GATA and the ETS site of an enhancer.
pub const ENHANCER_GAP: usize = 6;
/// Bases between the two sites of a decoy with the wrong spacing.
const DECOY_GAPS: std::ops::Range<usize> = 30..60;

/// The enhancer grammar: GATA, then ETS on the same strand, `ENHANCER_GAP`
/// bp after it. Decoys hold the same two sites in the other order (ETS,
/// then GATA, same gap) or in the right order 30-60 bp apart; only the
/// grammar is active. A model that counts motifs sees both alike.
#[derive(Debug, Clone)]
pub struct EnhancerPair {
    pub chrom: usize,
    /// The site read first on the pair's strand, then the second.
    pub first: Site,
    pub second: Site,
    /// Bases between the two sites.
    pub gap: usize,
    pub active: bool,
}

impl EnhancerPair {
    /// The midpoint of the pair's span.
    pub fn center(&self, motifs: &[Motif]) -> usize {
        let start = self.first.start.min(self.second.start);
        let end = self.first.end(motifs).max(self.second.end(motifs));
        (start + end) / 2
    }
}

impl Simulation {
    /// Planted TF sites by role.
    pub(super) fn plant_tf_sites(&mut self) -> Vec<(&'static str, Vec<Site>)> {
        let mut out = Vec::new();
        for role in ["ctcf", "gata", "ap1", "ets", "cebp"] {
            let motif = motif_index(role);
            let width = self.motifs[motif].width();
            let mut sites = Vec::new();
            for chrom in 0..CHROM_NAMES.len() {
                for _ in 0..self.planter.len(chrom) / SITE_SPACING {
                    if let Some(start) = self.planter.free_stretch(chrom, width, 60) {
                        let strand = self.planter.strand();
                        self.planter
                            .plant(&self.motifs, motif, chrom, start, strand);
                        self.planter
                            .take(chrom, start as i64 - 60, (start + width + 60) as i64);
                        sites.push(self.planter.sites.last().expect("just planted").clone());
                    }
                }
            }
            out.push((role, sites));
        }
        out
    }

    /// Plants the enhancers and their decoys (see [`EnhancerPair`]).
    pub(super) fn plant_enhancers(&mut self) {
        let (gata, ets) = (motif_index("gata"), motif_index("ets"));
        for chrom in 0..CHROM_NAMES.len() {
            for i in 0..2 * (self.planter.len(chrom) / ENHANCER_SPACING) {
                // Even: the grammar; odd: a decoy, half in the other order
                // and half with the wrong spacing.
                let (first, second, gap, active) = match i % 4 {
                    0 | 2 => (gata, ets, ENHANCER_GAP, true),
                    1 => (ets, gata, ENHANCER_GAP, false),
                    _ => (gata, ets, self.rng().random_range(DECOY_GAPS), false),
                };
                let (w1, w2) = (self.motifs[first].width(), self.motifs[second].width());
                let width = w1 + gap + w2;
                let Some(start) = self.planter.free_stretch(chrom, width, 100) else {
                    continue;
                };
                // Read on `strand`, `first` comes first; on '-' the pair is
                // written reverse-complemented, so `second` lies leftmost.
                let strand = self.planter.strand();
                let (at1, at2) = if strand == '+' {
                    (start, start + w1 + gap)
                } else {
                    (start + w2 + gap, start)
                };
                self.planter.plant(&self.motifs, first, chrom, at1, strand);
                let first = self.planter.sites.last().expect("just planted").clone();
                self.planter.plant(&self.motifs, second, chrom, at2, strand);
                let second = self.planter.sites.last().expect("just planted").clone();
                self.planter
                    .take(chrom, start as i64 - 100, (start + width + 100) as i64);
                self.enhancers.push(EnhancerPair {
                    chrom,
                    first,
                    second,
                    gap,
                    active,
                });
            }
        }
    }

    fn peak_around(&mut self, chrom: usize, center: usize, half: std::ops::Range<usize>) -> Peak {
        let half_width = self.rng().random_range(half);
        let jitter = self.rng().random_range(0..=60) as i64 - 30;
        let len = self.planter.len(chrom) as i64;
        let start = (center as i64 + jitter - half_width as i64).clamp(0, len - 1) as usize;
        let end = ((center as i64 + jitter + half_width as i64).min(len) as usize).max(start + 1);
        Peak {
            chrom,
            start,
            end,
            summit: center.clamp(start, end - 1) - start,
            signal: self.rng().random_range(20.0..100.0),
        }
    }

    pub(super) fn make_tracks(&mut self, tf_sites: &[(&'static str, Vec<Site>)]) {
        let activator = motif_index("activator");
        let activator_sites: Vec<Site> = (self.planter.sites.iter())
            .filter(|s| s.motif == activator)
            .cloned()
            .collect();
        let sites_of = |role: &str| -> Vec<Site> {
            if role == "activator" {
                return activator_sites.clone();
            }
            tf_sites
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| s.clone())
                .unwrap_or_default()
        };
        // The ChIP of GATA1 and SPI1 binds every instance, lone or in a pair
        // of either arrangement: only the enhancer track reads the grammar.
        let paired: Vec<Site> = (self.enhancers.iter())
            .flat_map(|p| [p.first.clone(), p.second.clone()])
            .collect();
        let chip_sites_of = |role: &str| -> Vec<Site> {
            let mut sites = sites_of(role);
            sites.extend(
                paired
                    .iter()
                    .filter(|s| s.motif == motif_index(role))
                    .cloned(),
            );
            sites
        };
        // Every TF the downstream tasks turn on has a ChIP track, as the
        // paper's 7878 include theirs, so the chromatin backbone can learn
        // the motifs that expression (NFY) and MPRA (CEBP, ETS) read.
        let chip = [
            ("ctcf", "CTCF", "K562"),
            ("gata", "GATA1", "K562"),
            ("ap1", "FOS", "HepG2"),
            ("ets", "SPI1", "K562"),
            ("cebp", "CEBPB", "HepG2"),
            ("activator", "NFYB", "K562"),
        ];
        for (role, target, cell) in chip {
            let mut peaks = Vec::new();
            for site in chip_sites_of(role) {
                if self.rng().random_bool(0.9) {
                    let center = site.center(&self.motifs);
                    peaks.push(self.peak_around(site.chrom, center, 100..200));
                }
            }
            for chrom in 0..CHROM_NAMES.len() {
                for _ in 0..self.planter.len(chrom) / RANDOM_PEAK_SPACING {
                    let len = self.planter.len(chrom);
                    let center = self.rng().random_range(1000..len - 1000);
                    peaks.push(self.peak_around(chrom, center, 100..200));
                }
            }
            self.push_track(format!("{cell}_{target}"), "TF ChIP-seq", cell, peaks);
        }
        let promoters: Vec<(usize, usize)> = self
            .genes
            .iter()
            .map(|g| (g.chrom, g.upstream(100) as usize))
            .collect();
        for (cell, roles) in [("K562", ["ctcf", "gata"]), ("HepG2", ["ctcf", "ap1"])] {
            let mut peaks = Vec::new();
            for role in roles {
                for site in sites_of(role) {
                    let center = site.center(&self.motifs);
                    peaks.push(self.peak_around(site.chrom, center, 150..250));
                }
            }
            for &(chrom, center) in &promoters {
                peaks.push(self.peak_around(chrom, center, 150..250));
            }
            self.push_track(format!("{cell}_DNase"), "DNase-seq", cell, peaks);
        }
        let active: Vec<(usize, usize)> = self
            .genes
            .iter()
            .filter(|g| g.activators > 0)
            .map(|g| (g.chrom, g.tss))
            .collect();
        let peaks = active
            .into_iter()
            .map(|(chrom, tss)| self.peak_around(chrom, tss, 950..1050))
            .collect();
        self.push_track("K562_H3K4me3".into(), "Histone ChIP-seq", "K562", peaks);
        let mut peaks = Vec::new();
        for role in ["gata", "ap1"] {
            for site in sites_of(role) {
                if self.rng().random_bool(0.8) {
                    let center = site.center(&self.motifs);
                    peaks.push(self.peak_around(site.chrom, center, 450..550));
                }
            }
        }
        self.push_track("K562_H3K27ac".into(), "Histone ChIP-seq", "K562", peaks);
        let mut peaks = Vec::new();
        let active: Vec<(usize, usize)> = (self.enhancers.iter())
            .filter(|p| p.active)
            .map(|p| (p.chrom, p.center(&self.motifs)))
            .collect();
        for (chrom, center) in active {
            if self.rng().random_bool(0.95) {
                peaks.push(self.peak_around(chrom, center, 100..200));
            }
        }
        self.push_track("K562_enhancer".into(), "STARR-seq", "K562", peaks);
    }

    fn push_track(&mut self, name: String, assay: &str, cell: &str, mut peaks: Vec<Peak>) {
        peaks.sort_by_key(|p| (p.chrom, p.start, p.end));
        self.tracks.push(Track {
            name,
            assay: assay.into(),
            biosample: cell.into(),
            peaks,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate;
    use std::path::Path;

    /// The base of a site's motif read on `strand`, as planted.
    fn read(sim: &Simulation, site: &Site) -> Vec<u8> {
        let mut bases = sim.planter.seqs[site.chrom][site.start..site.end(&sim.motifs)].to_vec();
        if site.strand == '-' {
            dnabench_engine::genome::reverse_complement_in_place(&mut bases);
        }
        bases
    }

    #[test]
    fn enhancers_keep_the_grammar_and_decoys_break_it_with_the_same_two_motifs() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let dir = tempfile::tempdir().unwrap();
        let sim = simulate(&data, dir.path(), 1).unwrap();
        let (gata, ets) = (motif_index("gata"), motif_index("ets"));
        let active: Vec<&EnhancerPair> = sim.enhancers.iter().filter(|p| p.active).collect();
        let decoys: Vec<&EnhancerPair> = sim.enhancers.iter().filter(|p| !p.active).collect();
        assert!(
            active.len() > 900 && decoys.len() > 900,
            "{} {}",
            active.len(),
            decoys.len()
        );
        let mut reversed = 0;
        for p in &sim.enhancers {
            assert_eq!(p.first.strand, p.second.strand);
            // The gap, measured on the pair's own strand.
            let gap = if p.first.strand == '+' {
                p.second.start - p.first.end(&sim.motifs)
            } else {
                p.first.start - p.second.end(&sim.motifs)
            };
            assert_eq!(gap, p.gap);
            let mut motifs = [p.first.motif, p.second.motif];
            motifs.sort();
            assert_eq!(motifs, [gata.min(ets), gata.max(ets)], "one of each motif");
            if p.active {
                assert_eq!((p.first.motif, p.gap), (gata, ENHANCER_GAP));
            } else if p.first.motif == ets {
                reversed += 1;
                assert_eq!(p.gap, ENHANCER_GAP);
            } else {
                assert!(DECOY_GAPS.contains(&p.gap));
            }
            // The written bases are the motif's instance, read on its strand:
            // the consensus' most likely base at its most informative row.
            for site in [&p.first, &p.second] {
                let motif = &sim.motifs[site.motif];
                let bases = read(&sim, site);
                let matches = (motif.probabilities.iter().zip(&bases))
                    .filter(|(row, &b)| {
                        let best = (0..4).max_by(|&x, &y| row[x].total_cmp(&row[y])).unwrap();
                        b"ACGT"[best] == b
                    })
                    .count();
                assert!(matches * 2 > bases.len(), "a strong match of {}", motif.id);
            }
        }
        assert!(reversed * 3 > decoys.len() && reversed * 3 < 2 * decoys.len());
        // The enhancer track covers enhancers, never a decoy.
        let track = sim
            .tracks
            .iter()
            .find(|t| t.name == "K562_enhancer")
            .unwrap();
        let covered = |p: &EnhancerPair| {
            let c = p.center(&sim.motifs);
            track
                .peaks
                .iter()
                .any(|k| k.chrom == p.chrom && k.start <= c && c < k.end)
        };
        let hit = active.iter().filter(|p| covered(p)).count();
        assert!(hit * 100 > active.len() * 90, "{hit} of {}", active.len());
        assert!(!decoys.iter().any(|p| covered(p)));
        // ...while the GATA1 ChIP binds the decoys' GATA sites too.
        let chip = sim.tracks.iter().find(|t| t.name == "K562_GATA1").unwrap();
        let bound = decoys
            .iter()
            .filter(|p| {
                let site = if p.first.motif == gata {
                    &p.first
                } else {
                    &p.second
                };
                let c = site.center(&sim.motifs);
                chip.peaks
                    .iter()
                    .any(|k| k.chrom == p.chrom && k.start <= c && c < k.end)
            })
            .count();
        assert!(
            bound * 100 > decoys.len() * 85,
            "{bound} of {}",
            decoys.len()
        );
    }
}
