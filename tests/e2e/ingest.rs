//! End-to-end tests of `dnabench ingest KIND` on the real files of `data/`
//! and on malformed inputs.

use crate::common::{csv, fails, ingest_bundled_genome, ok, repo, snapshot};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

fn count(store: &Path, sql: &str) -> u64 {
    csv(store, sql)[0].parse().unwrap()
}

/// Lines of a (possibly gzipped) text file that are records, not headers.
fn data_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    };
    text.lines()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('#')
                && !l.starts_with("track")
                && !l.starts_with("browser")
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_real_interval_file_ingests_with_its_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let files = [
        ("data/intervals/example.narrowPeak", "TF"),
        ("data/intervals/CTCF_Kc_Bushey_2009.bed", "TF"),
        ("data/intervals/BEAF_Kc_Bushey_2009.bed", "TF"),
        ("data/intervals/refseq.chr1.exons.bed.gz", "annotation"),
        ("data/intervals/gerp.chr1.bed.gz", "conservation"),
        ("data/intervals/simpleRepeats.chr1.bed.gz", "repeats"),
        ("data/annotation/hg19-blacklist.v2.bed", "blacklist"),
        ("data/annotation/hg38-blacklist.v2.bed", "blacklist"),
    ];
    for (file, assay) in files {
        let out = ok(&[
            "ingest",
            "peaks",
            repo(file).to_str().unwrap(),
            "--assay",
            assay,
            "--store",
            s,
        ]);
        assert!(out.contains("the store has no genome"), "{out}");
        let want = data_lines(&repo(file)).len() as u64;
        let base = file.rsplit('/').next().unwrap().trim_end_matches(".gz");
        let name = base.rsplit_once('.').unwrap().0;
        let got = count(
            &store,
            &format!("SELECT count(*) FROM peaks JOIN tracks USING (track_id) WHERE tracks.name = '{name}'"),
        );
        assert_eq!(got, want, "{file}");
    }
    // Genes and variants of data/ into the same genome-less store.
    let gencode = repo("data/annotation/gencode_v28_hg19_protein_coding_genes.bed");
    let out = ok(&["ingest", "genes", gencode.to_str().unwrap(), "--store", s]);
    assert!(
        out.contains("have no strand; their TSS is taken as their start"),
        "{out}"
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM genes"),
        data_lines(&gencode).len() as u64
    );
    assert_eq!(
        csv(
            &store,
            "SELECT gene_id, tss FROM genes WHERE gene_id = 'OR4F5'"
        ),
        vec!["OR4F5,65419"]
    );
    let vcf = repo("data/variants/1000genomes-example.vcf");
    ok(&["ingest", "variants", vcf.to_str().unwrap(), "--store", s]);
    let alleles: u64 = data_lines(&vcf)
        .iter()
        .map(|l| l.split('\t').nth(4).unwrap())
        .map(|alt| alt.split(',').filter(|a| *a != ".").count() as u64)
        .sum();
    assert_eq!(count(&store, "SELECT count(*) FROM variants"), alleles);

    // Typed narrowPeak fields, and rows sorted by (chrom, start) within a track.
    let rows = csv(&store, "SELECT chrom, start, \"end\", signal_value, p_value, summit FROM peaks JOIN tracks USING (track_id) WHERE tracks.name = 'example' ORDER BY start LIMIT 1");
    assert_eq!(rows, vec!["chr1,9356548,9356648,182.0,5.0945,50"]);
    let unsorted = count(
        &store,
        "SELECT count(*) FROM (SELECT track_id, chrom, start, lag(start) OVER (PARTITION BY track_id, chrom ORDER BY start) AS prev FROM peaks) WHERE prev > start",
    );
    assert_eq!(unsorted, 0);

    // The same file again is skipped; the store does not change.
    let before = snapshot(&store);
    let out = ok(&[
        "ingest",
        "peaks",
        repo("data/intervals/example.narrowPeak").to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(out.contains("already ingested as track 'example'"), "{out}");
    assert_eq!(snapshot(&store), before);
}

#[test]
fn a_manifest_ingests_many_files_and_a_rerun_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let mut manifest = String::from("name\tassay\tbiosample\tpath\n");
    for i in 0..40 {
        let p = dir.path().join(format!("p{i}.narrowPeak"));
        let mut f = std::fs::File::create(&p).unwrap();
        for j in 0..(i + 1) {
            writeln!(
                f,
                "chr{}\t{}\t{}\t.\t0\t.\t{i}\t-1\t-1\t-1",
                1 + j % 3,
                1000 * (40 - j),
                1000 * (40 - j) + 100
            )
            .unwrap();
        }
        let assay = ["DNase", "TF", "histone"][i % 3];
        manifest.push_str(&format!("track{i}\t{assay}\tK562\tp{i}.narrowPeak\n"));
        if i == 19 {
            std::fs::write(dir.path().join("half.tsv"), &manifest).unwrap();
        }
    }
    std::fs::write(dir.path().join("all.tsv"), &manifest).unwrap();
    let out = ok(&[
        "ingest",
        "peaks",
        "--manifest",
        dir.path().join("half.tsv").to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(out.contains("ingested 20 peaks files: 210 rows"), "{out}");
    let out = ok(&[
        "ingest",
        "peaks",
        "--manifest",
        dir.path().join("all.tsv").to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(
        out.contains("ingested 20 peaks files: 610 rows, 0 skipped, 20 already present"),
        "{out}"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM tracks"), 40);
    assert_eq!(count(&store, "SELECT count(*) FROM peaks"), 820);
    // Files are read two at a time but numbered in the manifest's order:
    // file i's i + 1 rows, of signal i, carry the id of track i.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM (SELECT track_id, count(*) AS n, min(signal_value) AS lo, \
             max(signal_value) AS hi FROM peaks GROUP BY track_id) JOIN tracks USING (track_id) \
             WHERE n = lo + 1 AND lo = hi AND name = concat('track', CAST(lo AS INT))"
        ),
        40
    );
    assert_eq!(
        csv(
            &store,
            "SELECT assay, count(*) FROM tracks GROUP BY assay ORDER BY assay"
        ),
        vec!["DNase,14", "TF,13", "histone,13"]
    );
}

#[test]
fn names_are_reconciled_with_the_genome_and_invalid_intervals_fail_or_skip() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let fasta = dir.path().join("g.fa");
    std::fs::write(
        &fasta,
        format!(
            ">chr22\n{}\n>MT\n{}\n",
            "ACGT".repeat(250),
            "GATC".repeat(25)
        ),
    )
    .unwrap();
    ok(&["ingest", "genome", fasta.to_str().unwrap(), "--store", s]);
    let bed = dir.path().join("x.bed");
    std::fs::write(&bed, "22\t10\t20\nchrM\t0\t5\n22\t990\t1010\nchr9\t0\t10\n").unwrap();

    let before = snapshot(&store);
    let err = fails(&["ingest", "peaks", bed.to_str().unwrap(), "--store", s]);
    assert!(
        err.contains("x.bed:3: end 1010 is past the end of chr22 (1000 bp)"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);

    let out = ok(&[
        "ingest",
        "peaks",
        bed.to_str().unwrap(),
        "--on-invalid",
        "skip",
        "--store",
        s,
    ]);
    assert!(
        out.contains(
            "2 rows, 2 skipped (1 on chromosomes not in the genome, 1 past the chromosome end)"
        ),
        "{out}"
    );
    assert_eq!(
        csv(&store, "SELECT chrom, start FROM peaks ORDER BY chrom"),
        vec!["MT,0", "chr22,10"]
    );
}

#[test]
fn signal_bigwig_round_trips_through_sql_and_bedgraph_matches() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    // A bigWig made from the bundled bedGraph with bigtools.
    let bedgraph = repo("data/tracks/sample.bedgraph");
    let bw = dir.path().join("made.bw");
    let sizes: HashMap<String, u32> =
        std::fs::read_to_string(repo("data/tracks/sample.chrom.sizes"))
            .unwrap()
            .lines()
            .map(|l| {
                let (c, n) = l.split_once('\t').unwrap();
                (c.to_string(), n.trim().parse().unwrap())
            })
            .collect();
    let writer = bigtools::BigWigWrite::create_file(&bw, sizes).unwrap();
    let values = bigtools::beddata::BedParserStreamingIterator::from_bedgraph_file(
        std::fs::File::open(&bedgraph).unwrap(),
        false,
    );
    writer
        .write(values, tokio::runtime::Runtime::new().unwrap())
        .unwrap();

    ok(&["ingest", "signal", bw.to_str().unwrap(), "--store", s]);
    let from_bigwig = csv(
        &store,
        "SELECT chrom, start, \"end\", value FROM signal ORDER BY chrom, start",
    );
    let want: Vec<String> = data_lines(&bedgraph)
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!(
                "{},{},{},{:?}",
                f[0],
                f[1],
                f[2],
                f[3].parse::<f32>().unwrap()
            )
        })
        .collect();
    assert_eq!(from_bigwig, want);

    // The bundled bigWig (which holds other data than the bedGraph beside
    // it) and the bedGraph ingest too, as their own tracks.
    ok(&[
        "ingest",
        "signal",
        repo("data/tracks/sample.bw").to_str().unwrap(),
        bedgraph.to_str().unwrap(),
        "--store",
        s,
    ]);
    let mut bundled = bigtools::BigWigRead::open_file(repo("data/tracks/sample.bw")).unwrap();
    let mut intervals = 0;
    for (chrom, length) in [("chr1", 30_000), ("chr2", 30_000)] {
        intervals += bundled.get_interval(chrom, 0, length).unwrap().count();
    }
    assert_eq!(
        csv(
            &store,
            "SELECT name, format, \"rows\" FROM tracks ORDER BY track_id"
        ),
        vec![
            "made,bigWig,4".to_string(),
            format!("sample,bigWig,{intervals}"),
            "sample,bedGraph,4".to_string()
        ]
    );
}

#[test]
fn genes_variants_eqtl_mpra_expression_and_methylation_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    ingest_bundled_genome(s);
    let chrom = "22:20000001-21000000";

    // The bundled GENCODE BED (no strand) and a GTF.
    let out = ok(&[
        "ingest",
        "genes",
        repo("data/annotation/gencode_v28_hg19_protein_coding_genes.bed")
            .to_str()
            .unwrap(),
        "--on-invalid",
        "skip",
        "--store",
        s,
    ]);
    let genes = data_lines(&repo(
        "data/annotation/gencode_v28_hg19_protein_coding_genes.bed",
    ))
    .len();
    assert!(
        out.contains(&format!(
            "0 rows, {genes} skipped ({genes} on chromosomes not in the genome)"
        )),
        "{out}"
    );
    let gtf = dir.path().join("g.gtf");
    std::fs::write(&gtf, format!(
        "#!genome-build GRCh37\n{chrom}\tsim\tgene\t101\t2000\t.\t-\t.\tgene_id \"G1\"; gene_name \"ONE\"; gene_type \"protein_coding\";\n\
         {chrom}\tsim\ttranscript\t101\t1500\t.\t-\t.\tgene_id \"G1\"; transcript_id \"T1\";\n\
         {chrom}\tsim\texon\t101\t200\t.\t-\t.\tgene_id \"G1\"; transcript_id \"T1\";\n\
         {chrom}\tsim\tgene\t5001\t6000\t.\t+\t.\tgene_id \"G2\"; gene_name \"TWO\";\n")).unwrap();
    let out = ok(&["ingest", "genes", gtf.to_str().unwrap(), "--store", s]);
    assert!(out.contains("3 rows, 0 skipped"), "{out}");
    assert_eq!(
        csv(&store, "SELECT gene_id, feature, start, \"end\", strand, tss FROM genes ORDER BY gene_id, feature"),
        vec!["G1,gene,100,2000,-,1999", "G1,transcript,100,1500,-,1499", "G2,gene,5000,6000,+,5000"]
    );

    // The bundled SNP list: reference bases come from the genome.
    let snp = repo("data/variants/grch37_chr22_20-21M.snp");
    let out = ok(&["ingest", "variants", snp.to_str().unwrap(), "--store", s]);
    assert!(
        out.contains(&format!("{} rows", data_lines(&snp).len())),
        "{out}"
    );
    let first = csv(&store, "SELECT name, pos, ref, alt, seq(chrom, pos, pos + 1) FROM variants WHERE name = 'rs73387790'");
    assert_eq!(first.len(), 1);
    let f: Vec<&str> = first[0].split(',').collect();
    assert_eq!((f[0], f[1], f[3]), ("rs73387790", "145", "A"));
    assert_eq!(f[2], f[4], "ref is the genome's base");

    // GTEx fine-mapping: eQTL rows plus their variants.
    let reference = csv(&store, "SELECT seq(chrom, 149, 150) FROM chroms").remove(0);
    let alt = if reference == "A" { "C" } else { "A" };
    let fm = dir.path().join("fm.txt");
    std::fs::write(
        &fm,
        format!(
            "tissue_id\tgene_id\tcluster_id\tcluster_pip\tvariant_id\tvariant_pip\n\
         Liver\tG1\t1\t0.99\t{chrom}_150_{reference}_{alt}_b38\t0.95\n\
         Lung\tG1\t1\t0.99\t{chrom}_150_{reference}_{alt}_b38\t0.005\n"
        ),
    )
    .unwrap();
    let id = format!("{chrom}_150_{reference}_{alt}");
    let variants_before = count(&store, "SELECT count(*) FROM variants");
    let known = count(
        &store,
        &format!("SELECT count(*) FROM variants WHERE variant_id = '{id}'"),
    );
    let out = ok(&["ingest", "eqtl", fm.to_str().unwrap(), "--store", s]);
    assert!(out.contains("into eqtl + variants: 2 rows"), "{out}");
    assert_eq!(
        count(&store, "SELECT count(*) FROM variants"),
        variants_before + 1 - known
    );
    assert_eq!(
        csv(&store, &format!("SELECT e.tissue, e.pip FROM eqtl e JOIN variants v ON e.variant_id = v.variant_id WHERE v.pos = 149 AND e.variant_id = '{id}' ORDER BY e.tissue")),
        vec!["Liver,0.95", "Lung,0.005"]
    );

    // MPRA and methylation, in their source layouts.
    let mpra = dir.path().join("m.tsv");
    std::fs::write(&mpra, format!("Chromosome\tPosition\tRef\tAlt\tTags\tDNA\tRNA\tValue\tP-Value\tElement\n{chrom}\t11\tA\tG\t10\t1\t1\t0.5\t0.01\tE1\n{chrom}\t12\tC\t-\t10\t1\t1\t-0.5\t0.2\tE1\n")).unwrap();
    let out = ok(&["ingest", "mpra", mpra.to_str().unwrap(), "--store", s]);
    assert!(out.contains("2 rows"), "{out}");
    let bm = dir.path().join("s1.bed");
    std::fs::write(&bm, format!("{chrom}\t100\t101\t.\t1000\t+\t100\t101\t0,0,0\t10\t30\n{chrom}\t50\t51\t.\t1000\t-\t50\t51\t0,0,0\t4\t100\n")).unwrap();
    ok(&["ingest", "methylation", bm.to_str().unwrap(), "--store", s]);
    assert_eq!(
        csv(
            &store,
            "SELECT start, coverage, methylated, fraction FROM methylation"
        ),
        vec!["50,4,4,1.0", "100,10,3,0.3"]
    );

    // ExPecto layout: annotation + matrix.
    let annot = dir.path().join("geneanno.csv");
    std::fs::write(
        &annot,
        format!("id,symbol,chrom,strand,TSS\nG1,ONE,{chrom},-,2000\nG2,TWO,{chrom},+,5001\n"),
    )
    .unwrap();
    let matrix = dir.path().join("geneanno.exp.csv");
    std::fs::write(
        &matrix,
        "gene_id,Liver,Lung,Brain\nG1,1.5,0.2,NA\nG2,0.1,2.5,3.0\n",
    )
    .unwrap();
    let out = ok(&[
        "ingest",
        "expression",
        matrix.to_str().unwrap(),
        "--genes",
        annot.to_str().unwrap(),
        "--store",
        s,
    ]);
    assert!(out.contains("5 rows, 1 skipped (1 missing values"), "{out}");
    assert_eq!(
        csv(&store, "SELECT e.gene_id, t.name, e.value FROM expression e JOIN tracks t USING (track_id) ORDER BY e.gene_id, t.name"),
        vec!["G1,Liver,1.5", "G1,Lung,0.2", "G2,Brain,3.0", "G2,Liver,0.1", "G2,Lung,2.5"]
    );
}
