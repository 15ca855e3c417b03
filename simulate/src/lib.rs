//! `dnabench simulate`: a complete mini benchmark, in the source formats the
//! ingest commands read, with signal planted by known JASPAR motifs so that
//! a model can learn every task, and each task's test split large enough to
//! tell models apart (at least 500 examples: an AUROC's standard error is
//! then at most about 0.02). Everything is a function of the seed.
//!
//! What is planted (the `README.md` written beside the files repeats it with
//! the counts of the run):
//! - **genome** (10.3 Mb): nine chromosomes named `chr1 chr2 chr8 chr10 chr11
//!   chr12 chr13 chrX chrY`, so that every chromosome split rule of the
//!   tasks has rows, and sized so that each rule's test chromosomes hold
//!   500+ examples (chr8, expression's test, is 2 Mb). The background is
//!   drawn from a 5th-order Markov chain fitted on the bundled real 1 Mb
//!   slice of GRCh37 chr22: human k-mer statistics, no shared sequence
//!   between splits. Motif instances are drawn from the JASPAR matrices,
//!   squared and renormalized (strong matches).
//! - **promoter** (`genes.gtf`): a gene every 3-4 kb on a random strand;
//!   each has a TBP (TATA) instance 30 bp upstream of its TSS, and with
//!   probability 0.9 a KLF/SP GC box 80 bp upstream (single motifs at a
//!   fixed offset from the TSS: PromSet keeps the offset, PromUnset blurs it).
//! - **expression** (`expression.tsv`): each gene gets 0-3 NFY instances
//!   250-1000 bp upstream; in sample s its log RPKM is
//!   `base_s + (0.6 + 0.2 s) x copies + noise`.
//! - **chromatin** (`peaks/*.narrowPeak`, `peaks/tracks.tsv`): lone CTCF,
//!   GATA, FOS/JUN, ETS (SPI1) and CEBP instances (one of each per 3.2 kb);
//!   each of these TFs, and NFY, has a ChIP track with a 200-400 bp peak
//!   over 90% of its instances plus a few at random; DNase tracks in two
//!   cell types are open at lone CTCF + GATA (K562) or CTCF + FOS/JUN
//!   (HepG2) sites and at every promoter; H3K4me3 covers TSS +/- 1 kb of
//!   genes with an NFY site; H3K27ac covers lone GATA and FOS/JUN sites
//!   +/- 500 bp.
//! - **motif grammar** (the `K562_enhancer` track): one enhancer per 10 kb,
//!   a GATA site then an ETS site on the same strand, 6 bp apart, and as
//!   many decoys with the same two sites in the other order or 30-60 bp
//!   apart. Peaks cover 95% of enhancers and no decoy, while the GATA1 and
//!   SPI1 ChIP tracks bind both: a model that counts motifs cannot tell
//!   them apart, one that sees order and spacing can.
//! - **methylation** (`methylation/*.bed`, bedMethyl, both strands): one
//!   CpG per 2.5 kb of the background, at least 330 bp apart; half get an
//!   NRF1 instance 15-50 bp away and are unmethylated (~0.12), the others
//!   methylated (~0.82), shifted per sample.
//! - **causal SNPs** (`eqtl.vcf`, `eqtl_finemapping.tsv`, GTEx layout): in
//!   Whole_Blood 520 causal variants (PIP > 0.9) break the most informative
//!   base of a lone GATA instance, in Liver of a FOS/JUN instance; 1200
//!   variants a tissue away from any motif have PIP < 0.01, a few of them
//!   PIPs in between.
//! - **MPRA** (`mpra.tsv`, Kircher et al. 2019 layout): seven 300 bp
//!   elements each holding two CEBP and two ETS instances, every base
//!   mutated to the three other bases; the log2 effect of a change inside a
//!   motif is `-3 x (p(ref) - p(alt))` under the motif's matrix, plus noise
//!   elsewhere.

mod genes;
mod genome;
mod ingest;
pub mod meme;
mod methylation;
mod plant;
mod tracks;
mod variants;
mod write;

pub use ingest::ingest_simulated;

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::meme::{read_meme, Motif};
use dnabench_engine::error::{Error, Location, Result};
use genome::MarkovChain;
use plant::Planter;
pub use tracks::{EnhancerPair, ENHANCER_GAP};

/// The simulated chromosomes, in order.
pub const CHROM_NAMES: [&str; 9] = [
    "chr1", "chr2", "chr8", "chr10", "chr11", "chr12", "chr13", "chrX", "chrY",
];
/// Their lengths. Each split rule's test chromosomes hold 500+ examples:
/// expression's chr8 about 570 genes, methylation's chr10, chr11, chrX and
/// chrY about 1200 CpGs; the random splits draw from all 10.3 Mb.
pub const CHROM_LENGTHS: [usize; 9] = [
    2_000_000, 1_800_000, 2_000_000, 1_000_000, 1_000_000, 800_000, 700_000, 600_000, 400_000,
];

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

/// The real sequence the background is fitted on, under the data folder.
pub const SOURCE_SLICE: &str = "genome/grch37_chr22_20-21M.fa";

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
    pub genes: Vec<Gene>,
    pub samples: Vec<(String, f64, f64)>,
    pub expression: Vec<Vec<f64>>,
    pub tracks: Vec<Track>,
    pub cpgs: Vec<CpG>,
    pub methylation_samples: Vec<(String, f64)>,
    pub variants: Vec<Variant>,
    pub mpra: Vec<MpraRow>,
    /// Enhancers and decoys planted (the `K562_enhancer` track).
    pub enhancers: Vec<EnhancerPair>,
}

/// Simulates from the bundled data folder and writes the files into `out`.
pub fn simulate(data: &Path, out: &Path, seed: u64) -> Result<Simulation> {
    let slice = genome::read_slice(&data.join(SOURCE_SLICE))?;
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
    let chain = MarkovChain::fit(&slice);
    // The background has its own stream, so the planting's draws do not
    // depend on the chromosomes' lengths.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6267_726e);
    let chroms = CHROM_NAMES
        .iter()
        .zip(CHROM_LENGTHS)
        .map(|(name, len)| (name.to_string(), chain.generate(len, &mut rng)))
        .collect();
    let mut sim = Simulation {
        seed,
        planter: Planter::new(seed, chroms),
        motifs,
        genes: Vec::new(),
        samples: Vec::new(),
        expression: Vec::new(),
        tracks: Vec::new(),
        cpgs: Vec::new(),
        methylation_samples: Vec::new(),
        variants: Vec::new(),
        mpra: Vec::new(),
        enhancers: Vec::new(),
    };
    sim.plant_genes();
    sim.plant_expression();
    let tf_sites = sim.plant_tf_sites();
    sim.plant_enhancers();
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

impl Simulation {
    pub(crate) fn rng(&mut self) -> &mut rand_chacha::ChaCha8Rng {
        &mut self.planter.rng
    }
}
