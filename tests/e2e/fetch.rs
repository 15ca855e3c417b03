//! `dnabench fetch` against a paper-shaped mirror on 127.0.0.1: the same
//! URL patterns as recipes/paper.toml (ENCODE files and their JSON, the
//! UCSC genome), served with the faults a real download meets.

use std::path::Path;

use crate::common::{dnabench, kill_once, ok, repo};
use crate::mirror::{gzip, md5_hex, Fault, Mirror};

const HG19: &str = "/goldenPath/hg19/bigZips/hg19.fa.gz";

/// A real narrowPeak file, made distinct per accession.
fn peaks(accession: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo("data/intervals/example.narrowPeak")).unwrap();
    gzip(format!("# {accession}\n{text}").as_bytes())
}

fn encode_json(accession: &str, body: &[u8], assembly: &str, target: &str) -> Vec<u8> {
    format!(
        r#"{{"accession":"{accession}","md5sum":"{}","file_size":{},"assembly":"{assembly}","assay_term_name":"ChIP-seq","target":{{"label":"{target}"}},"biosample_ontology":{{"term_name":"K562"}}}}"#,
        md5_hex(body),
        body.len()
    )
    .into_bytes()
}

fn file_path(accession: &str) -> String {
    format!("/files/{accession}/@@download/{accession}.bed.gz")
}

fn json_path(accession: &str) -> String {
    format!("/files/{accession}/")
}

/// An hg19 ENCODE file and its JSON, served whole.
fn serve_encode_file(mirror: &Mirror, accession: &str) {
    let body = peaks(accession);
    mirror.put(
        &json_path(accession),
        encode_json(accession, &body, "hg19", "CTCF"),
        Fault::None,
    );
    mirror.put(&file_path(accession), body, Fault::None);
}

/// The paper recipe's shape, over short lists.
fn write_recipe(dir: &Path, chromatin: &[&str], methylation: &[(&str, &str)]) -> String {
    std::fs::write(dir.join("peaks.txt"), chromatin.join("\n") + "\n").unwrap();
    let rows: Vec<String> = methylation
        .iter()
        .map(|(a, c)| format!("{a}\t{c}"))
        .collect();
    std::fs::write(dir.join("methyl.tsv"), rows.join("\n") + "\n").unwrap();
    let recipe = dir.join("mini.toml");
    let text = std::fs::read_to_string(repo("recipes/paper.toml")).unwrap();
    // Only the sources this mirror serves, with the test's lists.
    let mut kept = String::new();
    for block in text.split("[[source]]").skip(1) {
        let name = block.lines().find(|l| l.starts_with("name")).unwrap();
        if ["\"hg19\"", "\"chromatin\"", "\"methylation\""]
            .iter()
            .any(|n| name.contains(n))
        {
            kept.push_str("[[source]]");
            kept.push_str(block);
        }
    }
    let kept = kept
        .replace("paper/track7878_accessions.txt", "peaks.txt")
        .replace("paper/methyl96_files.tsv", "methyl.tsv");
    std::fs::write(
        &recipe,
        format!("[recipe]\nname = \"mini\"\nassembly = \"hg19\"\n\n{kept}"),
    )
    .unwrap();
    recipe.to_str().unwrap().to_string()
}

/// `dnabench fetch RECIPE` into `out` from `mirror` alone, then `extra`.
fn fetch_args<'a>(
    recipe: &'a str,
    out: &'a Path,
    mirror: &'a Mirror,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "fetch",
        recipe,
        "--out",
        out.to_str().unwrap(),
        "--mirror",
        &mirror.base,
        "--mirrors-only",
    ];
    args.extend_from_slice(extra);
    args
}

/// [`fetch_args`] run with short backoffs and four jobs.
fn fetch(recipe: &str, out: &Path, mirror: &Mirror, extra: &[&str]) -> std::process::Output {
    let mut quick = vec!["--backoff-ms", "10", "--jobs", "4"];
    quick.extend_from_slice(extra);
    dnabench(&fetch_args(recipe, out, mirror, &quick))
}

fn partials(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".partial") {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

#[test]
fn fetch_retries_resumes_refuses_and_a_second_run_fetches_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::start();
    let acc = [
        "ENCFF011GSD",
        "ENCFF030BPR",
        "ENCFF144QCV",
        "ENCFF0404NF",
        "ENCFF0BADMD",
        "ENCFF0GRCH3",
    ];
    let methyl = [("ENCFF001TOL", "00"), ("ENCFF001TOM", "01")];
    let recipe = write_recipe(dir.path(), &acc, &methyl);
    let genome = gzip(&std::fs::read(repo("data/genome/grch37_chr22_20-21M.fa")).unwrap());
    mirror.put(HG19, genome.clone(), Fault::TruncateOnce);
    for (i, a) in acc.iter().enumerate() {
        let body = peaks(a);
        let assembly = if i == 5 { "GRCh38" } else { "hg19" };
        let target = if i == 0 { "H3K4me3" } else { "CTCF" };
        let mut json = encode_json(a, &body, assembly, target);
        if i == 4 {
            // The metadata's checksum is not the file's (its size is).
            let mut other = body.clone();
            other[0] ^= 1;
            json = encode_json(a, &other, assembly, target);
        }
        mirror.put(&json_path(a), json, Fault::None);
        let fault = match i {
            1 => Fault::Unavailable503Once,
            2 => Fault::TruncateOnce,
            _ => Fault::None,
        };
        if i != 3 {
            mirror.put(&file_path(a), body, fault);
        }
    }
    for (a, _) in methyl {
        serve_encode_file(&mirror, a);
    }
    let out = dir.path().join("sources");

    let first = fetch(&recipe, &out, &mirror, &[]);
    assert!(!first.status.success());
    let err = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("3 of 9 files are missing"), "{err}");
    let missing = format!(
        "missing chromatin/ENCFF0404NF.bed.gz: {}{} (HTTP 404)",
        mirror.base,
        file_path("ENCFF0404NF")
    );
    assert!(err.contains(&missing), "{missing}\nin\n{err}");
    assert!(err.contains(": refused, not kept"), "{err}");
    assert!(err.contains("md5 "), "{err}");
    assert!(
        err.contains("its metadata says assembly GRCh38, but source 'chromatin' is hg19"),
        "{err}"
    );
    // Retried after the 503; resumed after the cut body, from its half.
    let tries = mirror.requests(&file_path("ENCFF030BPR"));
    assert_eq!(
        tries.iter().map(|s| s.status).collect::<Vec<_>>(),
        [503, 200]
    );
    for (path, body) in [
        (file_path("ENCFF144QCV"), peaks("ENCFF144QCV")),
        (HG19.to_string(), genome.clone()),
    ] {
        let tries = mirror.requests(&path);
        assert_eq!(tries.len(), 2, "{path}: {tries:?}");
        assert_eq!(tries[1].range_from, Some(body.len() as u64 / 2), "{path}");
    }
    assert!(
        mirror.requests(&file_path("ENCFF0GRCH3")).is_empty(),
        "refused unread"
    );
    // Whole and exact, or absent; nothing half-written.
    for (i, a) in acc.iter().enumerate() {
        let p = out.join(format!("chromatin/{a}.bed.gz"));
        if i < 3 {
            assert_eq!(std::fs::read(&p).unwrap(), peaks(a), "{a}");
        } else {
            assert!(!p.exists(), "{a}");
        }
    }
    assert_eq!(std::fs::read(out.join("hg19/hg19.fa.gz")).unwrap(), genome);
    assert!(partials(&out).is_empty(), "{:?}", partials(&out));
    // The genome has no published checksum: its sha256 is locked.
    let lock = std::fs::read_to_string(dir.path().join("mini.lock")).unwrap();
    assert!(
        lock.contains("https://hgdownload.soe.ucsc.edu/goldenPath/hg19/bigZips/hg19.fa.gz\t"),
        "{lock}"
    );
    // A manifest once all of a source's files are in; the two replicates
    // (codes 00 and 01) are one sample.
    assert!(!out.join("chromatin/manifest.tsv").exists());
    let manifest = std::fs::read_to_string(out.join("methylation/manifest.tsv")).unwrap();
    assert_eq!(
        manifest,
        "path\tname\tassay\ttarget\tbiosample\taccession\tcode\tsample\n\
         ENCFF001TOL.bed.gz\tENCFF001TOL\tTF\tCTCF\tK562\tENCFF001TOL\t00\tmethylation_0\n\
         ENCFF001TOM.bed.gz\tENCFF001TOM\tTF\tCTCF\tK562\tENCFF001TOM\t01\tmethylation_0\n"
    );

    // The mirror gains the missing file and corrects a checksum: a second
    // run fetches those two and nothing it verified before.
    let before = mirror.seen().len();
    mirror.put(&file_path("ENCFF0404NF"), peaks("ENCFF0404NF"), Fault::None);
    let fixed = peaks("ENCFF0BADMD");
    mirror.put(
        &json_path("ENCFF0BADMD"),
        encode_json("ENCFF0BADMD", &fixed, "hg19", "CTCF"),
        Fault::None,
    );
    let second = fetch(&recipe, &out, &mirror, &[]);
    let err = String::from_utf8_lossy(&second.stderr).to_string();
    assert!(err.contains("1 of 9 files are missing"), "{err}");
    let stdout = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(stdout.contains("8 of 9 files verified"), "{stdout}");
    assert!(stdout.contains("2 downloaded"), "{stdout}");
    let again: Vec<String> = mirror.seen()[before..]
        .iter()
        .map(|s| s.path.clone())
        .collect();
    for path in again
        .iter()
        .filter(|p| p.contains("@@download") || p.contains("hg19"))
    {
        assert!(
            path.contains("ENCFF0404NF") || path.contains("ENCFF0BADMD"),
            "{path} was fetched again: {again:?}"
        );
    }
    assert_eq!(
        std::fs::read(out.join("chromatin/ENCFF0BADMD.bed.gz")).unwrap(),
        fixed
    );

    // A changed file whose lock holds another sha256 is refused.
    std::fs::remove_file(out.join("hg19/hg19.fa.gz")).unwrap();
    let mut changed = genome.clone();
    changed[100] ^= 1;
    mirror.put(HG19, changed, Fault::None);
    let third = fetch(&recipe, &out, &mirror, &["--only", "hg19"]);
    let err = String::from_utf8_lossy(&third.stderr).to_string();
    assert!(
        err.contains("expected") && err.contains("the lock file's, from its first download"),
        "{err}"
    );
    assert!(!out.join("hg19/hg19.fa.gz").exists());
}

#[test]
fn a_fetch_killed_midway_resumes_without_fetching_finished_files_again() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::start();
    let acc = ["ENCFF011GSD", "ENCFF030BPR"];
    let recipe = write_recipe(dir.path(), &acc, &[]);
    // A genome that takes seconds to arrive.
    let mut genome = Vec::new();
    let mut x: u64 = 7;
    while genome.len() < 2_000_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        genome.push((x >> 33) as u8);
    }
    mirror.put(HG19, genome.clone(), Fault::Slow);
    for a in acc {
        serve_encode_file(&mirror, a);
    }
    let out = dir.path().join("sources");
    let partial = out.join("hg19/hg19.fa.gz.partial");
    let ledger = out.join(".fetch-ledger.tsv");
    kill_once(
        &fetch_args(&recipe, &out, &mirror, &["--jobs", "3"]),
        "two files verified and the genome begun",
        60,
        || {
            let lines = std::fs::read_to_string(&ledger).map_or(0, |t| t.lines().count());
            let begun = std::fs::metadata(&partial).map_or(0, |m| m.len());
            lines >= 2 && begun > 0
        },
    );
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept < genome.len() as u64);
    let before = mirror.seen().len();
    let out_text = ok(&fetch_args(&recipe, &out, &mirror, &[]));
    assert!(out_text.contains("3 of 3 files verified"), "{out_text}");
    let again = &mirror.seen()[before..];
    assert!(
        again.iter().all(|s| !s.path.contains("@@download")),
        "finished files fetched again: {again:?}"
    );
    let resumed: Vec<_> = again.iter().filter(|s| s.path == HG19).collect();
    assert_eq!(resumed.len(), 1, "{again:?}");
    assert_eq!(resumed[0].range_from, Some(kept), "{resumed:?}");
    assert_eq!(std::fs::read(out.join("hg19/hg19.fa.gz")).unwrap(), genome);
    assert!(partials(&out).is_empty());
}

#[test]
fn a_whole_partial_file_left_by_a_kill_is_verified_not_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::start();
    let acc = "ENCFF011GSD";
    let recipe = write_recipe(dir.path(), &[acc], &[]);
    let body = peaks(acc);
    // Only the metadata is served: the file must come from the disk.
    mirror.put(
        &json_path(acc),
        encode_json(acc, &body, "hg19", "CTCF"),
        Fault::None,
    );
    let out = dir.path().join("sources");
    std::fs::create_dir_all(out.join("chromatin")).unwrap();
    std::fs::write(out.join(format!("chromatin/{acc}.bed.gz.partial")), &body).unwrap();
    let done = fetch(&recipe, &out, &mirror, &["--only", "chromatin"]);
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{err}");
    assert!(mirror.requests(&file_path(acc)).is_empty());
    assert_eq!(
        std::fs::read(out.join(format!("chromatin/{acc}.bed.gz"))).unwrap(),
        body
    );
    assert!(partials(&out).is_empty());
}
