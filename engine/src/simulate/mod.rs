//! `dnabench simulate`: a complete mini benchmark, in the source formats the
//! ingest commands read, built from the bundled real chr22 slice and the
//! bundled JASPAR motifs, with signal planted by known motifs so that a model
//! can learn every task. Everything is a function of the seed.
//!
//! What is planted (the `README.md` written beside the files repeats it with
//! the counts of the run):
//! - **genome**: nine N-free pieces of the real 1 Mb slice of GRCh37 chr22,
//!   named `chr1 chr2 chr8 chr10 chr11 chr12 chr13 chrX chrY` so that every
//!   chromosome split rule of the tasks has rows; motif instances are drawn
//!   from the JASPAR probability matrices, squared and renormalized (strong
//!   matches), and written over the real bases.
//! - **promoter** (`genes.gtf`): genes every ~3.5 kb on a random strand; each
//!   has a TBP (TATA) instance 30 bp upstream of its TSS, and with
//!   probability 0.9 a KLF/SP GC box 80 bp upstream.
//! - **expression** (`expression.tsv`): each gene gets 0–3 NFY instances
//!   250–1000 bp upstream; in sample s its log RPKM is
//!   `base_s + (0.6 + 0.2 s) × copies + noise`.
//! - **chromatin** (`peaks/*.narrowPeak`, `peaks/tracks.tsv`): CTCF, GATA,
//!   FOS/JUN, ETS (SPI1) and CEBP instances; each of these TFs, and NFY (the
//!   expression activator), has a ChIP track with a 200–400 bp peak over 90%
//!   of its instances plus a few peaks at random; DNase tracks
//!   in two cell types are open at CTCF + GATA (K562) or CTCF + FOS/JUN
//!   (HepG2) sites and at every promoter; H3K4me3 covers TSS ± 1 kb of genes
//!   with an NFY site; H3K27ac covers GATA and FOS/JUN sites ± 500 bp.
//! - **methylation** (`methylation/*.bed`, bedMethyl, both strands): real
//!   CpGs of the slice, at least 330 bp apart; half get an NRF1 instance
//!   15–50 bp away and are unmethylated (~0.12), the others methylated
//!   (~0.82), shifted per sample.
//! - **causal SNPs** (`eqtl.vcf`, `eqtl_finemapping.tsv`, GTEx layout): in
//!   Whole_Blood the causal variants (PIP > 0.9) break the most informative
//!   base of a GATA instance, in Liver of a FOS/JUN instance; variants away
//!   from any motif have PIP < 0.01; a few have PIPs in between.
//! - **MPRA** (`mpra.tsv`, Kircher et al. 2019 layout): 300 bp elements each
//!   holding two CEBP and two ETS instances, every base mutated to the three
//!   other bases; the log2 effect of a change inside a motif is
//!   `-3 × (p(ref) − p(alt))` under the motif's matrix, plus noise elsewhere.

mod ingest;
mod plant;
mod write;

pub use ingest::ingest_simulated;

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::{Error, Location, Result};
use crate::input::InputFile;
use crate::meme::{read_meme, Motif};
use plant::{Planter, Site};

/// The simulated chromosomes, in order.
pub const CHROM_NAMES: [&str; 9] = [
    "chr1", "chr2", "chr8", "chr10", "chr11", "chr12", "chr13", "chrX", "chrY",
];
const PIECE_LEN: usize = 95_000;
/// Least distance between two simulated CpGs: half the methylation window
/// (250 bp) plus the farthest an NRF1 site lies from its CpG (50 bp + width).
const MIN_CPG_GAP: usize = 330;

/// The motifs the simulation plants, by the name part of their JASPAR id.
pub const MOTIF_ROLES: [(&str, &str); 9] = [
    ("tata", ":TBP:"),
    ("gc_box", ":KLF_SP:"),
    ("activator", ":NFYB:"),
    ("ctcf", ":CTCF:"),
    ("gata", ":GATA_MECOM:"),
    ("ap1", ":FOS_JUN:"),
    ("ets", ":ELF_SPI:"),
    ("nrf1", ":NRF1:"),
    ("cebp", ":CEBP:"),
];

/// Where the simulation writes each source file, relative to its folder.
pub struct SimulatedFiles {
    pub dir: PathBuf,
}

impl SimulatedFiles {
    pub fn genome(&self) -> PathBuf {
        self.dir.join("genome.fa")
    }
    pub fn genes(&self) -> PathBuf {
        self.dir.join("genes.gtf")
    }
    pub fn peaks_manifest(&self) -> PathBuf {
        self.dir.join("peaks/tracks.tsv")
    }
    pub fn methylation_manifest(&self) -> PathBuf {
        self.dir.join("methylation/tracks.tsv")
    }
    pub fn expression(&self) -> PathBuf {
        self.dir.join("expression.tsv")
    }
    pub fn variants(&self) -> PathBuf {
        self.dir.join("eqtl.vcf")
    }
    pub fn eqtl(&self) -> PathBuf {
        self.dir.join("eqtl_finemapping.tsv")
    }
    pub fn mpra(&self) -> PathBuf {
        self.dir.join("mpra.tsv")
    }
}

/// A simulated gene.
pub struct Gene {
    pub id: String,
    pub chrom: usize,
    pub tss: usize,
    pub strand: char,
    pub length: usize,
    pub activators: usize,
}

impl Gene {
    /// The position `d` bp upstream of the TSS.
    fn upstream(&self, d: i64) -> i64 {
        if self.strand == '+' {
            self.tss as i64 - d
        } else {
            self.tss as i64 + d
        }
    }

    /// `[start, end)` of the gene body.
    pub fn span(&self) -> (usize, usize) {
        if self.strand == '+' {
            (self.tss, self.tss + self.length)
        } else {
            (self.tss + 1 - self.length, self.tss + 1)
        }
    }
}

/// A narrowPeak row.
pub struct Peak {
    pub chrom: usize,
    pub start: usize,
    pub end: usize,
    pub summit: usize,
    pub signal: f64,
}

pub struct Track {
    pub name: String,
    pub assay: String,
    pub biosample: String,
    pub peaks: Vec<Peak>,
}

pub struct CpG {
    pub chrom: usize,
    pub pos: usize,
    pub unmethylated: bool,
}

pub struct Variant {
    pub chrom: usize,
    pub pos: usize,
    pub reference: u8,
    pub alt: u8,
    pub tissue: &'static str,
    pub pip: f64,
    pub gene: usize,
}

pub struct MpraRow {
    pub element: String,
    pub chrom: usize,
    pub pos: usize,
    pub reference: u8,
    pub alt: u8,
    pub effect: f64,
}

/// Everything the simulation decided, before it is written out.
pub struct Simulation {
    pub seed: u64,
    pub planter: Planter,
    pub motifs: Vec<Motif>,
    /// Where each piece came from in the source slice.
    pub pieces: Vec<usize>,
    pub genes: Vec<Gene>,
    pub samples: Vec<(String, f64, f64)>,
    pub expression: Vec<Vec<f64>>,
    pub tracks: Vec<Track>,
    pub cpgs: Vec<CpG>,
    pub methylation_samples: Vec<(String, f64)>,
    pub variants: Vec<Variant>,
    pub mpra: Vec<MpraRow>,
}

/// Simulates from the bundled data folder and writes the files into `out`.
pub fn simulate(data: &Path, out: &Path, seed: u64) -> Result<Simulation> {
    let slice = read_slice(&data.join("genome/grch37_chr22_20-21M.fa"))?;
    let motif_path = data.join("motifs/jaspar_2024_consensus.meme");
    let all = read_meme(&motif_path)?;
    let mut motifs = Vec::new();
    for (role, id_part) in MOTIF_ROLES {
        let m = all.iter().find(|m| m.id.contains(id_part)).ok_or_else(|| {
            Error::parse(
                Location::file(&motif_path),
                format!("no motif whose id contains '{id_part}' (the {role} motif)"),
            )
        })?;
        motifs.push(m.clone());
    }
    let (chroms, pieces) = cut_pieces(&slice)?;
    let mut sim = Simulation {
        seed,
        planter: Planter::new(seed, chroms),
        motifs,
        pieces,
        genes: Vec::new(),
        samples: Vec::new(),
        expression: Vec::new(),
        tracks: Vec::new(),
        cpgs: Vec::new(),
        methylation_samples: Vec::new(),
        variants: Vec::new(),
        mpra: Vec::new(),
    };
    sim.plant_genes();
    sim.plant_expression();
    let tf_sites = sim.plant_tf_sites();
    sim.make_tracks(&tf_sites);
    // Elements need 400 free bases in a row: placed before the CpGs and variants.
    sim.plant_mpra();
    sim.plant_methylation();
    sim.make_variants(&tf_sites);
    write::write_all(&sim, &SimulatedFiles { dir: out.into() })?;
    Ok(sim)
}

fn motif_index(role: &str) -> usize {
    MOTIF_ROLES
        .iter()
        .position(|(r, _)| *r == role)
        .expect("a known motif role")
}

/// The upper-cased sequence of the (single-record) slice FASTA.
fn read_slice(path: &Path) -> Result<Vec<u8>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut seq = Vec::new();
    while let Some((_, line)) = input.read_line(&mut buf)? {
        if !line.starts_with('>') {
            seq.extend(line.trim_end().bytes().map(|b| b.to_ascii_uppercase()));
        }
    }
    Ok(seq)
}

/// A chromosome's name and bases.
type Chromosome = (String, Vec<u8>);

/// Consecutive N-free pieces of `PIECE_LEN`, one per simulated chromosome.
fn cut_pieces(slice: &[u8]) -> Result<(Vec<Chromosome>, Vec<usize>)> {
    let mut chroms = Vec::new();
    let mut offsets = Vec::new();
    let mut at = 0;
    while chroms.len() < CHROM_NAMES.len() && at + PIECE_LEN <= slice.len() {
        match slice[at..at + PIECE_LEN].iter().rposition(|&b| b == b'N') {
            Some(n) => at += n + 1,
            None => {
                chroms.push((
                    CHROM_NAMES[chroms.len()].to_string(),
                    slice[at..at + PIECE_LEN].to_vec(),
                ));
                offsets.push(at);
                at += PIECE_LEN;
            }
        }
    }
    if chroms.len() < CHROM_NAMES.len() {
        return Err(Error::Invalid(format!(
            "the genome slice holds only {} N-free pieces of {PIECE_LEN} bp; the simulation needs {}",
            chroms.len(),
            CHROM_NAMES.len()
        )));
    }
    Ok((chroms, offsets))
}

impl Simulation {
    fn rng(&mut self) -> &mut rand_chacha::ChaCha8Rng {
        &mut self.planter.rng
    }

    fn plant_genes(&mut self) {
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
                tss += 3500 + self.rng().random_range(0..1000);
            }
        }
    }

    fn plant_expression(&mut self) {
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

    /// Planted TF sites by role.
    fn plant_tf_sites(&mut self) -> Vec<(&'static str, Vec<Site>)> {
        let mut out = Vec::new();
        for role in ["ctcf", "gata", "ap1", "ets", "cebp"] {
            let motif = motif_index(role);
            let width = self.motifs[motif].width();
            let mut sites = Vec::new();
            for chrom in 0..CHROM_NAMES.len() {
                for _ in 0..30 {
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

    fn make_tracks(&mut self, tf_sites: &[(&'static str, Vec<Site>)]) {
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
            for site in sites_of(role) {
                if self.rng().random_bool(0.9) {
                    let center = site.center(&self.motifs);
                    peaks.push(self.peak_around(site.chrom, center, 100..200));
                }
            }
            for chrom in 0..CHROM_NAMES.len() {
                for _ in 0..2 {
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

    fn plant_methylation(&mut self) {
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
                if chosen.len() == 120 {
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

    fn nearest_gene(&self, chrom: usize, pos: usize) -> usize {
        (0..self.genes.len())
            .filter(|&g| self.genes[g].chrom == chrom)
            .min_by_key(|&g| self.genes[g].tss.abs_diff(pos))
            .unwrap_or(0)
    }

    fn make_variants(&mut self, tf_sites: &[(&'static str, Vec<Site>)]) {
        for (tissue, role) in [("Whole_Blood", "gata"), ("Liver", "ap1")] {
            let sites = &tf_sites
                .iter()
                .find(|(r, _)| *r == role)
                .expect("planted role")
                .1;
            for site in sites.iter().take(80) {
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
                let gene = self.nearest_gene(site.chrom, pos);
                self.variants.push(Variant {
                    chrom: site.chrom,
                    pos,
                    reference,
                    alt,
                    tissue,
                    pip,
                    gene,
                });
            }
            // Background variants away from every planted feature, and a few
            // with undecided PIPs that the task leaves out.
            for i in 0..400 {
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
        }
        self.variants.sort_by_key(|v| (v.chrom, v.pos));
    }

    fn plant_mpra(&mut self) {
        let (cebp, ets) = (motif_index("cebp"), motif_index("ets"));
        for e in 0..6 {
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
                crate::genome::COMPLEMENT[b as usize]
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
