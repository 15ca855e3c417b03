//! End-to-end tests: malformed inputs of every ingest format are named with
//! their file and line, and leave the store as it was.

use std::collections::HashMap;
use std::io::Write;

use crate::common::{fails, ok, snapshot};

#[test]
fn malformed_inputs_of_every_format_name_file_and_line_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    // A store with a genome and one of everything, so "unchanged" has content to check.
    let fasta = dir.path().join("g.fa");
    std::fs::write(&fasta, format!(">chr1\n{}\n", "ACGT".repeat(500))).unwrap();
    ok(&["ingest", "genome", fasta.to_str().unwrap(), "--store", s]);
    let good = dir.path().join("good.bed");
    std::fs::write(&good, "chr1\t1\t10\n").unwrap();
    ok(&["ingest", "peaks", good.to_str().unwrap(), "--store", s]);

    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.repeat(2000).as_bytes()).unwrap();
        let bytes = e.finish().unwrap();
        bytes[..bytes.len() / 2].to_vec()
    };
    let narrow = "chr1\t10\t20\t.\t0\t.\t5\t-1\t-1\t5\n";
    let methyl = "chr1\t10\t11\t.\t1000\t+\t10\t11\t0,0,0\t10\t50\n";
    let vcf_head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    let fm_head = "tissue_id\tgene_id\tvariant_id\tvariant_pip\n";
    let mpra_head = "Chromosome\tPosition\tRef\tAlt\tValue\n";
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "peaks",
            "cols.narrowPeak",
            format!("{narrow}chr1\t10\t20\n").into_bytes(),
            ":2: 3 tab-separated columns, expected 10",
        ),
        (
            "peaks",
            "coord.bed",
            b"chr1\t1x\t20\n".to_vec(),
            ":1: column 2 (start): expected a non-negative integer, found '1x'",
        ),
        (
            "peaks",
            "strand.bed",
            b"chr1\t1\t20\tn\t0\tup\n".to_vec(),
            ":1: column 6 (strand): expected a strand",
        ),
        (
            "peaks",
            "trunc.narrowPeak.gz",
            gz(narrow),
            "gzip stream is truncated or corrupt",
        ),
        (
            "peaks",
            "order.bed",
            b"chr1\t30\t20\n".to_vec(),
            ":1: end 20 is before start 30",
        ),
        (
            "signal",
            "cols.bedGraph",
            b"chr1\t0\t10\n".to_vec(),
            ":1: 3 tab-separated columns, expected 4",
        ),
        (
            "signal",
            "value.bedGraph",
            b"chr1\t0\t10\t1\nchr1\t10\t20\tNaN\n".to_vec(),
            ":2: column 4 (value): expected a number, found 'NaN'",
        ),
        (
            "signal",
            "coord.bedGraph",
            b"chr1\t-1\t10\t1\n".to_vec(),
            ":1: column 2 (start): expected a non-negative integer, found '-1'",
        ),
        (
            "signal",
            "trunc.bedGraph.gz",
            gz("chr1\t0\t10\t1.5\n"),
            "gzip stream is truncated or corrupt",
        ),
        (
            "signal",
            "past.bedGraph",
            b"chr1\t0\t5000\t1\n".to_vec(),
            ":1: end 5000 is past the end of chr1 (2000 bp)",
        ),
        (
            "methylation",
            "cols.bed",
            b"chr1\t10\t11\t.\t1000\t+\t10\t11\t0\t10\n".to_vec(),
            ":1: 10 tab-separated columns, expected 11",
        ),
        (
            "methylation",
            "pct.bed",
            methyl.replace("\t50\n", "\t101\n").into_bytes(),
            ":1: column 11 (percentMethylated): 101 is not a percentage",
        ),
        (
            "methylation",
            "strand.bed",
            methyl.replace("\t+\t", "\t*\t").into_bytes(),
            ":1: column 6 (strand): expected a strand",
        ),
        (
            "methylation",
            "trunc.bed.gz",
            gz(methyl),
            "gzip stream is truncated or corrupt",
        ),
        (
            "genes",
            "cols.gtf",
            b"chr1\tsim\tgene\t1\t100\t.\t+\n".to_vec(),
            ":1: malformed GTF record",
        ),
        (
            "genes",
            "start.gtf",
            b"chr1\tsim\tgene\tone\t100\t.\t+\t.\tgene_id \"G\";\n".to_vec(),
            ":1: column 4 (start)",
        ),
        (
            "genes",
            "strand.gtf",
            b"chr1\tsim\tgene\t1\t100\t.\tx\t.\tgene_id \"G\";\n".to_vec(),
            ":1: column 7 (strand)",
        ),
        (
            "genes",
            "noid.gff3",
            b"##gff-version 3\nchr1\tsim\tgene\t1\t100\t.\t+\t.\tName=G\n".to_vec(),
            ":2: the gene has no ID",
        ),
        (
            "genes",
            "few.bed",
            b"chr1\t1\t100\n".to_vec(),
            ":1: 3 tab-separated columns, expected at least 4",
        ),
        (
            "variants",
            "pos.vcf",
            format!("{vcf_head}chr1\tx\t.\tA\tG\t.\t.\t.\n").into_bytes(),
            ":3: column 2 (POS): invalid digit found in string, expected a 1-based position",
        ),
        (
            "variants",
            "ref.vcf",
            format!("{vcf_head}chr1\t5\t.\tZ\tG\t.\t.\t.\n").into_bytes(),
            ":3: column 4 (REF): 'Z' is not a base sequence",
        ),
        (
            "variants",
            "head.vcf",
            b"chr1\t5\t.\tA\tG\t.\t.\t.\n".to_vec(),
            "malformed VCF header",
        ),
        (
            "variants",
            "type.snp",
            b"rs1\tsnp\tchr1\t5\tA\n".to_vec(),
            ":1: column 2 (type): 'snp', expected single, deletion or insertion",
        ),
        (
            "variants",
            "past.vcf",
            format!("{vcf_head}chr1\t5000\t.\tA\tG\t.\t.\t.\n").into_bytes(),
            ":3: end 5000 is past the end of chr1",
        ),
        (
            "eqtl",
            "pip.txt",
            format!("{fm_head}Liver\tG\tchr1_5_A_G_b38\t2\n").into_bytes(),
            ":2: PIP 2 is not a probability",
        ),
        (
            "eqtl",
            "id.txt",
            format!("{fm_head}Liver\tG\trs5\t0.5\n").into_bytes(),
            ":2: variant id 'rs5' is not of the form",
        ),
        (
            "eqtl",
            "cols.txt",
            format!("{fm_head}Liver\tG\n").into_bytes(),
            ":2: 2 tab-separated columns, expected 4",
        ),
        (
            "eqtl",
            "head.txt",
            b"tissue\tgene_id\tpip\n".to_vec(),
            ":1: the header has no variant column",
        ),
        (
            "mpra",
            "pos.tsv",
            format!("{mpra_head}chr1\t0\tA\tG\t0.5\n").into_bytes(),
            ":2: position 0: expected a 1-based position",
        ),
        (
            "mpra",
            "alt.tsv",
            format!("{mpra_head}chr1\t5\tA\tQ\t0.5\n").into_bytes(),
            ":2: column 4 (Q): expected bases",
        ),
        (
            "mpra",
            "value.tsv",
            format!("{mpra_head}chr1\t5\tA\tG\thigh\n").into_bytes(),
            ":2: column 5: expected a number, found 'high'",
        ),
        (
            "mpra",
            "cols.tsv",
            format!("{mpra_head}chr1\t5\tA\n").into_bytes(),
            ":2: 3 columns, expected 5",
        ),
        (
            "expression",
            "nogene.csv",
            b"Liver,Lung\n1,2\n".to_vec(),
            ":1: the header has no gene id column",
        ),
        (
            "expression",
            "cols.csv",
            b"gene_id,Liver,Lung\nG1,1\n".to_vec(),
            ":2: 2 columns, expected 3",
        ),
        (
            "expression",
            "value.csv",
            b"gene_id,Liver\nG1,lots\n".to_vec(),
            ":2: column 2: expected a number, found 'lots'",
        ),
        (
            "expression",
            "tss.csv",
            b"gene_id,chrom,strand,tss,Liver\nG1,chr1,+,0,1.5\n".to_vec(),
            ":2: TSS 0: expected a 1-based position",
        ),
    ];
    let mut per_kind: HashMap<&str, usize> = HashMap::new();
    for (kind, name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let before = snapshot(&store);
        let err = fails(&["ingest", kind, path.to_str().unwrap(), "--store", s]);
        assert!(
            err.contains(name),
            "{kind} {name}: the error does not name the file: {err}"
        );
        assert!(
            err.contains(expected),
            "{kind} {name}: expected '{expected}' in: {err}"
        );
        assert_eq!(snapshot(&store), before, "{kind} {name} changed the store");
        *per_kind.entry(kind).or_default() += 1;
    }
    assert!(per_kind.values().all(|&n| n >= 4), "{per_kind:?}");
}
