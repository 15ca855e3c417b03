//! `dnabench ingest`: each source format into its tables.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use dnabench_engine::{ingest, Store};

use crate::StoreArg;

/// Ingests what `kind` names.
pub(crate) async fn ingest(kind: IngestKind) -> Result<()> {
    match kind {
        IngestKind::Genome { file, store } => {
            let store = Store::create(&store.store)?;
            let summary = ingest::ingest_genome(&store, &file).await?;
            println!("{summary}");
        }
        IngestKind::Peaks(args) => ingest_tracks::<ingest::peaks::Peaks>(args).await?,
        IngestKind::Signal(args) => ingest_tracks::<ingest::signal::Signal>(args).await?,
        IngestKind::Methylation(args) => {
            ingest_tracks::<ingest::methylation::Methylation>(args).await?
        }
        kind => ingest_file(kind).await?,
    }
    Ok(())
}

#[derive(Subcommand)]
pub(crate) enum IngestKind {
    /// A FASTA genome (plain, gzip or BGZF) into `chroms` and `genome`.
    #[command(
        after_help = "Example:\n  dnabench ingest genome data/genome/grch37_chr22_20-21M.fa --store store"
    )]
    Genome {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArg,
    },
    /// BED3–BED12, narrowPeak or broadPeak files into `tracks` + `peaks`.
    #[command(
        after_help = "Example:\n  dnabench ingest peaks data/intervals/example.narrowPeak --assay TF --biosample K562 --store store\n  dnabench ingest peaks --manifest tracks.tsv --store store"
    )]
    Peaks(TrackArgs),
    /// bigWig or bedGraph files into `tracks` + `signal`.
    #[command(
        after_help = "Example:\n  dnabench ingest signal data/tracks/sample.bw --assay DNase --biosample K562 --store store"
    )]
    Signal(TrackArgs),
    /// ENCODE bedMethyl files into `tracks` + `methylation`.
    #[command(
        after_help = "Example:\n  dnabench ingest methylation ENCFF000ABC.bed.gz --biosample GM12878 --store store"
    )]
    Methylation(TrackArgs),
    /// GTF, GFF3 or BED6 gene annotation into `genes` (TSS strand-aware).
    #[command(
        after_help = "Example:\n  dnabench ingest genes data/annotation/gencode_v28_hg19_protein_coding_genes.bed --store store"
    )]
    Genes {
        #[command(flatten)]
        file: LiftableFileArgs,
        /// The feature a BED's rows get: gene, or tss for a list of
        /// transcription start sites (a task reads one feature)
        #[arg(long, default_value = "gene")]
        feature: String,
    },
    /// An expression matrix (ExPecto layout) into `tracks` (one per sample) + `expression`.
    #[command(
        after_help = "Example:\n  dnabench ingest expression geneanno.exp.csv --genes geneanno.csv --store store"
    )]
    Expression {
        #[command(flatten)]
        file: FileArgs,
        /// The gene annotation table (id, symbol, chrom, strand, TSS), unless FILE has those columns.
        #[arg(long)]
        genes: Option<PathBuf>,
    },
    /// A VCF (multi-allelic records split) or a SNP list into `variants`.
    #[command(
        after_help = "Example:\n  dnabench ingest variants data/variants/grch37_chr22_20-21M.snp --store store"
    )]
    Variants(LiftableFileArgs),
    /// A GTEx fine-mapping (DAPG) table into `eqtl` (+ `variants`).
    #[command(
        after_help = "Example:\n  dnabench ingest eqtl GTEx_v8_finemapping_DAPG.txt --store store"
    )]
    Eqtl(LiftableFileArgs),
    /// A saturation-mutagenesis MPRA table into `mpra`.
    #[command(after_help = "Example:\n  dnabench ingest mpra kircher2019_F9.tsv --store store")]
    Mpra(FileArgs),
}

#[derive(Args)]
pub(crate) struct FileArgs {
    pub(crate) file: PathBuf,
    /// Intervals outside a chromosome, with end < start, or on an unknown chromosome: fail or skip.
    #[arg(long, default_value = "fail")]
    pub(crate) on_invalid: String,
    #[command(flatten)]
    pub(crate) store: StoreArg,
}

/// A file whose coordinates may be on another assembly than the store's.
#[derive(Args)]
pub(crate) struct LiftableFileArgs {
    #[command(flatten)]
    pub(crate) file: FileArgs,
    /// A UCSC chain file (e.g. hg38ToHg19.over.chain.gz) from the file's
    /// assembly to the store's: rows that do not map whole are left out and
    /// listed in STORE/liftover/FILE.unmapped.tsv
    #[arg(long)]
    pub(crate) liftover: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct TrackArgs {
    /// The files, one track each.
    #[arg(required_unless_present = "manifest")]
    pub(crate) files: Vec<PathBuf>,
    /// A TSV with columns path, name, assay, biosample: one track per row.
    #[arg(long, conflicts_with_all = ["files", "name"])]
    pub(crate) manifest: Option<PathBuf>,
    /// The assay of every file (e.g. DNase, TF, histone).
    #[arg(long)]
    pub(crate) assay: Option<String>,
    /// The biosample (cell type or tissue) of every file.
    #[arg(long)]
    pub(crate) biosample: Option<String>,
    /// The track name (one file only; default: the file name without suffixes).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Intervals outside a chromosome, with end < start, or on an unknown chromosome: fail or skip.
    #[arg(long, default_value = "fail")]
    pub(crate) on_invalid: String,
    /// A UCSC chain file from the files' assembly to the store's: rows
    /// that do not map whole are left out and listed in
    /// STORE/liftover/FILE.unmapped.tsv
    #[arg(long)]
    pub(crate) liftover: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) store: StoreArg,
}

async fn ingest_tracks<F: ingest::tracks::TrackFormat>(args: TrackArgs) -> Result<()> {
    let on_invalid: ingest::OnInvalid = args.on_invalid.parse()?;
    let specs = match &args.manifest {
        Some(m) => ingest::read_manifest(m)?,
        None => {
            if args.name.is_some() && args.files.len() > 1 {
                bail!("--name names one track; give one file, or use --manifest for names");
            }
            args.files
                .iter()
                .map(|path| ingest::TrackSpec {
                    path: path.clone(),
                    name: args.name.clone(),
                    assay: args.assay.clone(),
                    biosample: args.biosample.clone(),
                    ..Default::default()
                })
                .collect()
        }
    };
    let liftover = args
        .liftover
        .as_deref()
        .map(dnabench_engine::liftover::Liftover::open)
        .transpose()?;
    let store = Store::create(&args.store.store)?;
    let bar = indicatif::ProgressBar::new(specs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} files {wide_bar} {msg} [{elapsed_precise}, eta {eta}]",
        )?,
    );
    let report = ingest::ingest_lifted_tracks::<F>(
        &store,
        &specs,
        on_invalid,
        liftover.as_ref(),
        &mut |p| {
            bar.set_position(p.files_done as u64);
            bar.set_message(format!("{} rows", p.rows));
        },
    )
    .await;
    bar.finish_and_clear();
    println!("{}", report?);
    Ok(())
}

async fn ingest_file(kind: IngestKind) -> Result<()> {
    let (args, liftover, genes) = match &kind {
        IngestKind::Genes { file: a, .. } | IngestKind::Variants(a) | IngestKind::Eqtl(a) => {
            (&a.file, a.liftover.as_deref(), None)
        }
        IngestKind::Mpra(a) => (a, None, None),
        IngestKind::Expression { file, genes } => (file, None, genes.as_deref()),
        _ => bail!("not a one-file ingest"),
    };
    let on_invalid: ingest::OnInvalid = args.on_invalid.parse()?;
    let liftover = liftover
        .map(dnabench_engine::liftover::Liftover::open)
        .transpose()?
        .map(std::sync::Arc::new);
    let store = Store::create(&args.store.store)?;
    let path = args.file.as_path();
    let report = match kind {
        IngestKind::Genes { ref feature, .. } => {
            let feature = ingest::bed_feature(feature)?;
            ingest::ingest_genes(&store, path, on_invalid, liftover.as_deref(), feature).await?
        }
        IngestKind::Variants(_) => {
            ingest::ingest_variants(&store, path, on_invalid, liftover.as_deref()).await?
        }
        IngestKind::Eqtl(_) => ingest::ingest_eqtl(&store, path, on_invalid, liftover).await?,
        IngestKind::Mpra(_) => ingest::ingest_mpra(&store, path, on_invalid).await?,
        IngestKind::Expression { .. } => {
            ingest::ingest_expression(&store, path, genes, on_invalid).await?
        }
        _ => bail!("not a one-file ingest"),
    };
    println!("{report}");
    Ok(())
}
