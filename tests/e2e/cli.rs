//! End-to-end tests: the built `dnabench` binary on the bundled real chr22 slice.

use crate::common::{csv, fails, ok, repo, revcomp};
use std::io::Write;
use std::path::{Path, PathBuf};

const CHR22: &str = "data/genome/grch37_chr22_20-21M.fa";
const CHR22_NAME: &str = "22:20000001-21000000";

/// The slice's bases read plainly from the FASTA text.
fn chr22_bases() -> Vec<u8> {
    let text = std::fs::read_to_string(repo(CHR22)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('>'))
        .flat_map(|l| l.trim().bytes())
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

/// Everything about a store a failed command must not change: files and versions.
fn snapshot(store: &Path) -> (Vec<PathBuf>, String) {
    let mut files = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            // Derived copies a read may keep (the packed genome), not data.
            if p.file_name().is_some_and(|n| n == "_cache") {
                continue;
            }
            if p.is_dir() {
                stack.push(p.clone());
            }
            files.push(p);
        }
    }
    files.sort();
    (files, ok(&["tables", "--store", store.to_str().unwrap()]))
}

fn ingested_store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let out = ok(&[
        "ingest",
        "genome",
        repo(CHR22).to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(out.contains("1 chromosome, 1000000 bp (100000 N"), "{out}");
    store
}

#[test]
fn the_chr22_slice_is_served_by_seq_with_padding_and_reverse_complement() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingested_store(dir.path());
    let bases = chr22_bases();
    assert_eq!(bases.len(), 1_000_000);

    let tables = ok(&["tables", "--store", store.to_str().unwrap()]);
    assert!(tables.contains("chroms"), "{tables}");
    let rows: Vec<Vec<&str>> = tables
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.contains(&vec!["chroms", "1", "1", "1"]), "{tables}");
    assert!(
        rows.iter().any(|r| r[0] == "genome" && r[1] == "16"),
        "{tables}"
    );

    assert_eq!(
        csv(&store, "SELECT chrom, length FROM chroms"),
        vec![format!("{CHR22_NAME},1000000")]
    );
    let got = csv(
        &store,
        "SELECT seq(chrom, 0, 20), seq(chrom, 0, 20, '-') FROM chroms",
    );
    assert_eq!(
        got,
        vec![format!(
            "TGGGAAGGTGGGGAGGTGCT,{}",
            revcomp(b"TGGGAAGGTGGGGAGGTGCT")
        )]
    );

    // Known bases at offsets spread over the slice, from the FASTA text itself.
    for start in [0usize, 59, 60, 61, 123_457, 500_000, 777_777, 999_000] {
        let end = start + 1000;
        let got = csv(
            &store,
            &format!(
                "SELECT seq(chrom, {start}, {end}), seq(chrom, {start}, {end}, '-') FROM chroms"
            ),
        );
        let want = &bases[start..end];
        assert_eq!(
            got,
            vec![format!(
                "{},{}",
                String::from_utf8_lossy(want),
                revcomp(want)
            )],
            "window {start}-{end}"
        );
    }

    // N-padding past both ends, never shortened.
    let got = csv(
        &store,
        "SELECT seq(chrom, -5, 5), seq(chrom, 999995, 1000005), seq(chrom, -3, 2, '-'), length(seq(chrom, -100, 1000100)) FROM chroms",
    );
    let last5 = String::from_utf8_lossy(&bases[999_995..]).to_string();
    assert_eq!(
        got,
        vec![format!(
            "NNNNNTGGGA,{last5}NNNNN,{}NNN,1000200",
            revcomp(b"TG")
        )]
    );

    // The SQL surface composes: revcomp and gc_content agree with the text.
    let got = csv(
        &store,
        "SELECT revcomp(seq(chrom, 100, 200)) = seq(chrom, 100, 200, '-'), gc_content(seq(chrom, 0, 20)) FROM chroms",
    );
    let gc = bases[..20]
        .iter()
        .filter(|b| matches!(b, b'G' | b'C'))
        .count() as f64
        / 20.0;
    assert_eq!(got, vec![format!("true,{gc}")]);

    // A second ingest of the same genome changes nothing and says so.
    let before = snapshot(&store);
    let out = ok(&[
        "ingest",
        "genome",
        repo(CHR22).to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(out.contains("nothing to do"), "{out}");
    assert_eq!(snapshot(&store), before);
}

#[test]
fn gzip_and_bgzf_give_the_same_genome_and_another_genome_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingested_store(dir.path());
    let text = std::fs::read(repo(CHR22)).unwrap();

    let gz = dir.path().join("chr22.fa.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&text).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let bgzf = dir.path().join("chr22.fa.bgz");
    let mut w = noodles::bgzf::io::Writer::new(Vec::new());
    w.write_all(&text).unwrap();
    std::fs::write(&bgzf, w.finish().unwrap()).unwrap();

    let md5 = csv(&store, "SELECT md5 FROM chroms");
    for file in [&gz, &bgzf] {
        // The same genome compressed is the same genome.
        let out = ok(&[
            "ingest",
            "genome",
            file.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ]);
        assert!(out.contains("nothing to do"), "{out}");
        let other = dir.path().join(format!(
            "store-{}",
            file.extension().unwrap().to_str().unwrap()
        ));
        ok(&[
            "ingest",
            "genome",
            file.to_str().unwrap(),
            "--store",
            other.to_str().unwrap(),
        ]);
        assert_eq!(csv(&other, "SELECT md5 FROM chroms"), md5);
    }

    let before = snapshot(&store);
    let lambda = repo("data/genome/lambda_virus.fa.gz");
    let err = fails(&[
        "ingest",
        "genome",
        lambda.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(err.contains("holds a different genome"), "{err}");
    assert!(
        err.contains("'gi|9626243|ref|NC_001416.1|' is not in the store")
            || err.contains("is not in the store"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);
}

#[test]
fn bad_genome_files_are_named_with_their_line_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // A store with one table in it already, so "unchanged" has something to check.
    ok(&[
        "ingest",
        "genome",
        repo("data/genome/lambda_virus.fa.gz").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    let fresh = dir.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();

    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(repo(CHR22)).unwrap()).unwrap();
    let gz = gz.finish().unwrap();

    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write("noheader.fa", b"ACGTACGT\nACGT\n"),
            ":1: expected a FASTA header line starting with '>', found 'ACGTACGT'",
        ),
        (
            write(
                "binary.fa",
                &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0xff, 0xfe],
            ),
            ":1: expected a FASTA header line starting with '>', found binary data",
        ),
        (
            write("empty.fa", b""),
            "no FASTA records: the file is empty",
        ),
        (
            write("dup.fa", b">chrA\nACGT\n>chrB\nGGGG\n>chrA\nTTTT\n"),
            "dup.fa:5 (record 'chrA'): a second record named 'chrA' (the first is at line 1)",
        ),
        (
            write("truncated.fa.gz", &gz[..gz.len() / 2]),
            "truncated.fa.gz:",
        ),
        (
            write("badbase.fa", b">chrA\nACGT\nAC!T\n"),
            "badbase.fa:3 (record 'chrA'): invalid base '!'",
        ),
        (dir.path().join("does-not-exist.fa"), "cannot open"),
    ];
    for (path, expected) in cases {
        for target in [&store, &fresh] {
            let before = snapshot(target);
            let err = fails(&[
                "ingest",
                "genome",
                path.to_str().unwrap(),
                "--store",
                target.to_str().unwrap(),
            ]);
            assert!(
                err.contains(path.file_name().unwrap().to_str().unwrap()),
                "{err}"
            );
            assert!(err.contains(expected), "expected '{expected}' in: {err}");
            assert_eq!(
                snapshot(target),
                before,
                "{} changed the store",
                path.display()
            );
        }
    }
    let err = fails(&[
        "ingest",
        "genome",
        dir.path().join("truncated.fa.gz").to_str().unwrap(),
        "--store",
        fresh.to_str().unwrap(),
    ]);
    assert!(err.contains("gzip stream is truncated or corrupt"), "{err}");
}

#[test]
fn sql_files_take_parameters_and_write_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingested_store(dir.path());
    let query = dir.path().join("windows.sql");
    std::fs::write(
        &query,
        "-- @param width 10 Window width\n\
         CREATE VIEW w AS SELECT chrom, 100 AS start FROM chroms;\n\
         SELECT chrom, start, seq(chrom, start, start + $width) AS s FROM w;\n",
    )
    .unwrap();
    let s = store.to_str().unwrap();
    let q = query.to_str().unwrap();
    let bases = chr22_bases();

    let out = ok(&[
        "sql", "--store", s, "-f", q, "--param", "width=5", "--format", "csv",
    ]);
    assert_eq!(
        out,
        format!(
            "chrom,start,s\n{CHR22_NAME},100,{}\n",
            String::from_utf8_lossy(&bases[100..105])
        )
    );
    let out = ok(&["sql", "--store", s, "-f", q, "--format", "json"]);
    assert!(
        out.contains(&format!(
            "\"s\":\"{}\"",
            String::from_utf8_lossy(&bases[100..110])
        )),
        "{out}"
    );

    let csv_path = dir.path().join("out.csv");
    ok(&[
        "sql",
        "--store",
        s,
        "-f",
        q,
        "--param",
        "width=500",
        "--format",
        "csv",
        "--output",
        csv_path.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(&csv_path).unwrap();
    assert!(
        written.contains(&*String::from_utf8_lossy(&bases[100..600])),
        "{written}"
    );

    let pq = dir.path().join("out.parquet");
    ok(&[
        "sql",
        "--store",
        s,
        "-f",
        q,
        "--format",
        "parquet",
        "--output",
        pq.to_str().unwrap(),
    ]);
    let back = ok(&[
        "sql",
        "--store",
        s,
        "--format",
        "csv",
        &format!("SELECT s FROM '{}'", pq.display()),
    ]);
    assert_eq!(
        back,
        format!("s\n{}\n", String::from_utf8_lossy(&bases[100..110]))
    );

    let table = ok(&["sql", "--store", s, "SELECT chrom, length FROM chroms"]);
    assert!(
        table.contains("| 22:20000001-21000000 | 1000000 |"),
        "{table}"
    );

    let err = fails(&["sql", "--store", s, "-f", q, "--param", "widht=5"]);
    assert!(
        err.contains("windows.sql: unknown parameter 'widht' (it takes: width)"),
        "{err}"
    );
    let err = fails(&["sql", "--store", s, "SELECT seq('chr22', 0, 10)"]);
    assert!(err.contains("unknown chromosome 'chr22'"), "{err}");
    let err = fails(&["sql", "--store", s, "SELECT seq(chrom, 10, 5) FROM chroms"]);
    assert!(err.contains("end 5 is before start 10"), "{err}");
    let err = fails(&["sql", "--store", s, "SELEC 1"]);
    assert!(err.contains("query:"), "{err}");
    let err = fails(&[
        "tables",
        "--store",
        dir.path().join("nowhere").to_str().unwrap(),
    ]);
    assert!(err.contains("no such store folder"), "{err}");
}

/// The subcommands `dnabench [PARENT] --help` lists, `help` left out.
fn subcommands(parent: &[&str]) -> Vec<String> {
    let mut args = parent.to_vec();
    args.push("--help");
    let help = ok(&args);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn help_of_every_command_shows_an_example() {
    let top = subcommands(&[]);
    assert!(top.len() >= 15, "{top:?}");
    let mut commands: Vec<Vec<String>> = Vec::new();
    for c in &top {
        let nested = subcommands(&[c.as_str()]);
        commands.push(vec![c.clone()]);
        commands.extend(nested.into_iter().map(|n| vec![c.clone(), n]));
    }
    assert!(
        commands.iter().any(|c| c == &["ingest", "peaks"]),
        "{commands:?}"
    );
    for command in &commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = ok(&args);
        let example = help
            .split_once("Example")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| {
                panic!(
                    "dnabench {} --help shows no example:\n{help}",
                    command.join(" ")
                )
            });
        assert!(
            example.contains(&format!("dnabench {}", command.join(" "))),
            "the example of {command:?} runs it:\n{help}"
        );
    }
}

#[test]
fn sql_functions_lists_every_dnabench_function_with_an_example() {
    let listing = ok(&["sql", "--functions"]);
    for (kind, names) in [
        (
            "scalar functions",
            &[
                "gc_content",
                "hash_uniform",
                "methylation_levels",
                "mutate",
                "overlap_len",
                "revcomp",
                "seq",
            ][..],
        ),
        (
            "aggregate functions",
            &[
                "auprc",
                "auprc_trapz",
                "auroc",
                "dense_targets",
                "mse",
                "pearson",
                "spearman",
            ][..],
        ),
        (
            "table functions",
            &["cpg_matrix", "random_windows", "read_examples", "tiles"][..],
        ),
    ] {
        let section = listing
            .split("\n\n")
            .skip_while(|s| !s.starts_with(kind))
            .skip(1)
            .take_while(|s| !s.ends_with(" functions"))
            .collect::<Vec<_>>();
        let listed: Vec<&str> = section
            .iter()
            .map(|entry| entry.trim_start().split('(').next().unwrap_or(""))
            .collect();
        assert_eq!(listed, names, "{kind}:\n{listing}");
        for entry in section {
            assert!(entry.contains("    example: SELECT"), "{entry}");
        }
    }
    // The same descriptions reach SQL through DataFusion's SHOW FUNCTIONS.
    let shown = ok(&["sql", "--format", "csv", "SHOW FUNCTIONS LIKE 'auroc'"]);
    assert!(shown.contains("area under the ROC curve"), "{shown}");
    let err = fails(&["sql", "--functions", "SELECT 1"]);
    assert!(err.contains("cannot be used with"), "{err}");
}
