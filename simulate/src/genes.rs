//! Genes and their expression: each gene's promoter carries a TATA box and
//! usually a GC box at fixed distances from its TSS, and its expression in
//! every sample grows with the NFY activator sites planted upstream.

use rand::Rng;

use super::{motif_index, Gene, Simulation, CHROM_NAMES};

/// Least and greatest distance between two consecutive TSSs: room for a
/// promoter task negative (500 bp at least 1000 bp from every TSS) between
/// most pairs of genes.
const TSS_GAP: std::ops::Range<usize> = 3000..4000;

impl Simulation {
    pub(super) fn plant_genes(&mut self) {
        let (tata, gc_box) = (motif_index("tata"), motif_index("gc_box"));
        for chrom in 0..CHROM_NAMES.len() {
            let mut tss = 3000;
            while tss + 3000 < self.planter.len(chrom) {
                let strand = self.planter.strand();
                let len = self.planter.len(chrom);
                // The gene body stays inside the chromosome.
                let room = if strand == '+' { len - tss } else { tss + 1 };
                let length = self.rng().random_range(1500..4000).min(room);
                let gene = Gene {
                    id: format!("SIMG{:05}", self.genes.len() + 1),
                    chrom,
                    tss,
                    strand,
                    length,
                    activators: 0,
                };
                self.planter
                    .plant_centred(&self.motifs, tata, chrom, gene.upstream(30), strand);
                if self.rng().random_bool(0.9) {
                    self.planter.plant_centred(
                        &self.motifs,
                        gc_box,
                        chrom,
                        gene.upstream(80),
                        strand,
                    );
                }
                self.genes.push(gene);
                tss += self.rng().random_range(TSS_GAP);
            }
        }
    }

    pub(super) fn plant_expression(&mut self) {
        let activator = motif_index("activator");
        for g in 0..self.genes.len() {
            let wanted = self.rng().random_range(0..=3);
            let mut planted = 0;
            for slot in 0..wanted {
                // Spread the copies over 250–1000 bp upstream, one per 250 bp slot.
                let d = 250 + slot as i64 * 250 + self.rng().random_range(0..200);
                let (chrom, strand, center) = {
                    let gene = &self.genes[g];
                    (gene.chrom, gene.strand, gene.upstream(d))
                };
                if self
                    .planter
                    .plant_centred(&self.motifs, activator, chrom, center, strand)
                {
                    planted += 1;
                }
            }
            self.genes[g].activators = planted;
            // The promoter region stays untouched by later features.
            let gene = &self.genes[g];
            let (a, b) = (gene.upstream(1100), gene.upstream(-200));
            let chrom = gene.chrom;
            self.planter.take(chrom, a.min(b), a.max(b));
        }
        for s in 0..6 {
            let base = self.rng().random_range(0.5..1.5);
            self.samples
                .push((format!("tissue_{}", s + 1), base, 0.6 + 0.2 * s as f64));
        }
        for g in 0..self.genes.len() {
            let copies = self.genes[g].activators as f64;
            let row = (0..self.samples.len())
                .map(|s| {
                    let (_, base, weight) = self.samples[s];
                    base + weight * copies + self.planter.noise(0.25)
                })
                .collect();
            self.expression.push(row);
        }
    }
}
