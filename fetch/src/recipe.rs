//! A recipe: a benchmark's public sources as data (`recipes/paper.toml`).
//! Each `[[source]]` names where its files come from (one URL, or a URL
//! pattern filled from the rows of a list), their assembly and format, which
//! ingest makes them a table, and how each file's checksum and names are
//! found. `recipes/README.md` describes every key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// A parsed recipe, its lists resolved against the recipe's folder.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub path: PathBuf,
    pub name: String,
    /// The assembly the store is built on; a source on another one needs a
    /// liftover.
    pub assembly: String,
    pub sources: Vec<Source>,
    /// The tasks `dnabench build` materializes (default: all six).
    pub tasks: Vec<String>,
    /// More datasets `dnabench build` materializes: variants of the tasks.
    pub datasets: Vec<Dataset>,
}

/// A dataset variant a build materializes after the tasks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    pub name: String,
    pub task: String,
    /// A bundled variant query (`queries/variants/NAME.sql`), or the task's own.
    pub variant: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Parameters that name files of the recipe's own (the paper's fixed
    /// sets, say), relative to the recipe; given to the query as full paths.
    #[serde(default)]
    pub files: BTreeMap<String, PathBuf>,
}

/// How a list's rows name their sample, where several files (replicates)
/// are one sample: the column's value less its last `drop_last` characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleKey {
    pub column: String,
    #[serde(default)]
    pub drop_last: usize,
}

/// One source of the recipe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Also the folder its files are fetched into.
    pub name: String,
    /// The ingest that makes its files a table (`genome`, `peaks`,
    /// `methylation`, `genes`, `expression`, `eqtl`, `mpra`, `examples`).
    pub ingest: String,
    /// The files' format as that ingest names it (`fasta`, `narrowpeak`, ...).
    pub format: String,
    pub assembly: String,
    /// One URL, or a pattern with `{column}` placeholders filled from `list`.
    pub url: String,
    /// The same file at other addresses (a publisher that moved it), tried
    /// in order when `url` does not give it; patterns as `url`.
    #[serde(default)]
    pub alternates: Vec<String>,
    /// A list of rows (tab-separated, `#` comments), relative to the recipe.
    pub list: Option<PathBuf>,
    /// The names of the list's columns; the first one keys each file.
    #[serde(default = "default_columns")]
    pub columns: Vec<String>,
    /// Where each file's checksum, size, assembly and labels come from.
    pub metadata: Option<Metadata>,
    /// The file's md5 or size, where its publisher states them (one-URL
    /// sources; metadata gives them for a list's files).
    pub md5: Option<String>,
    pub size: Option<u64>,
    /// What the built table should hold (tracks, samples, genes, ...): a
    /// different count is reported against this.
    pub expect: Option<u64>,
    /// The source (`ingest = "chain"`) whose chain file lifts this one's
    /// coordinates to the recipe's assembly.
    pub liftover: Option<String>,
    /// Files of one sample pooled into one track (methylation replicates).
    pub sample: Option<SampleKey>,
    /// Files taken out of the fetched archive (tar, optionally gzipped) by
    /// file name, at any depth; the first is the one ingested.
    #[serde(default)]
    pub unpack: Vec<String>,
    /// An expression matrix's gene annotation (id, symbol, chrom, strand,
    /// TSS), relative to the recipe.
    pub genes: Option<PathBuf>,
    /// The `feature` a genes ingest gives a BED's rows (default `gene`), so
    /// a task can tell one gene source from another.
    pub feature: Option<String>,
    /// What the source is, in a sentence.
    #[serde(default)]
    pub about: String,
}

/// Per-file metadata: a document fetched beside each file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// `encode`: the ENCODE portal's file JSON (`md5sum`, `file_size`,
    /// `assembly`, `assay_term_name`, `target`, `biosample_ontology`).
    pub kind: MetadataKind,
    /// A pattern like the source's `url`.
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataKind {
    Encode,
}

fn default_columns() -> Vec<String> {
    vec!["accession".to_string()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipeFile {
    recipe: Header,
    #[serde(default)]
    source: Vec<Source>,
    #[serde(default)]
    dataset: Vec<Dataset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    assembly: String,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    #[serde(default)]
    tasks: Vec<String>,
}

const INGESTS: &[&str] = &[
    "genome",
    "peaks",
    "methylation",
    "genes",
    "expression",
    "eqtl",
    "mpra",
    "examples",
    "chain",
];

/// The ingests that lift rows over to the recipe's assembly.
const LIFTABLE: &[&str] = &["peaks", "methylation", "genes", "eqtl"];

impl Recipe {
    pub fn read(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: RecipeFile = toml::from_str(&text).map_err(|e| Error::Recipe {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let bad = |message: String| Error::Recipe {
            path: path.to_path_buf(),
            message,
        };
        let mut names = HashSet::new();
        for s in &file.source {
            if !names.insert(s.name.as_str()) {
                return Err(bad(format!("two sources are named '{}'", s.name)));
            }
            if !safe_name(&s.name) {
                return Err(bad(format!(
                    "source name '{}': expected letters, digits, '.', '_' or '-' (it names a folder)",
                    s.name
                )));
            }
            if !INGESTS.contains(&s.ingest.as_str()) {
                return Err(bad(format!(
                    "source '{}': ingest '{}' is not one of {}",
                    s.name,
                    s.ingest,
                    INGESTS.join(", ")
                )));
            }
            if s.columns.is_empty() {
                return Err(bad(format!("source '{}': columns is empty", s.name)));
            }
            let patterns = std::iter::once(&s.url)
                .chain(&s.alternates)
                .chain(s.metadata.as_ref().map(|m| &m.url));
            for pattern in patterns {
                for placeholder in placeholders(pattern) {
                    if s.list.is_none() || !s.columns.iter().any(|c| c == placeholder) {
                        return Err(bad(format!(
                            "source '{}': the URL {pattern} names {{{placeholder}}}, which is not a column of its list ({})",
                            s.name,
                            if s.list.is_some() { s.columns.join(", ") } else { "it has no list".to_string() }
                        )));
                    }
                }
            }
            if let Some(chain) = &s.liftover {
                if !LIFTABLE.contains(&s.ingest.as_str()) {
                    return Err(bad(format!(
                        "source '{}': the {} ingest takes no liftover (only {} do)",
                        s.name,
                        s.ingest,
                        LIFTABLE.join(", ")
                    )));
                }
                let by = file.source.iter().find(|c| &c.name == chain);
                if by.is_none_or(|c| c.ingest != "chain") {
                    return Err(bad(format!(
                        "source '{}': liftover names '{chain}', which is not a source with ingest = \"chain\"",
                        s.name
                    )));
                }
            } else if s.assembly != file.recipe.assembly && s.ingest != "chain" {
                return Err(bad(format!(
                    "source '{}' is on {}, the recipe on {}: give it a liftover (a source with ingest = \"chain\")",
                    s.name, s.assembly, file.recipe.assembly
                )));
            }
            if let Some(key) = &s.sample {
                if s.list.is_none() || !s.columns.contains(&key.column) {
                    return Err(bad(format!(
                        "source '{}': sample names column '{}', which is not a column of its list",
                        s.name, key.column
                    )));
                }
            }
            if let Some(member) = s.unpack.iter().find(|m| !safe_name(m)) {
                return Err(bad(format!(
                    "source '{}': unpack names '{member}'; expected a file name (letters, digits, '.', '_' or '-')",
                    s.name
                )));
            }
            if s.list.is_some() && (s.md5.is_some() || s.size.is_some()) {
                return Err(bad(format!(
                    "source '{}': md5 and size are for one-URL sources; a list's files get theirs from metadata",
                    s.name
                )));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let sources = file
            .source
            .into_iter()
            .map(|mut s| {
                s.list = s.list.map(|l| base.join(l));
                s.genes = s.genes.map(|g| base.join(g));
                s
            })
            .collect();
        Ok(Recipe {
            path: path.to_path_buf(),
            name: file.recipe.name,
            assembly: file.recipe.assembly,
            sources,
            tasks: file.recipe.tasks,
            datasets: file.dataset,
        })
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
}

/// The `{name}` placeholders of a URL pattern.
pub(crate) fn placeholders(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    out
}

/// A name that is safe as one path component and in a URL: it cannot climb
/// out of the output folder.
pub(crate) fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Recipe> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, text).unwrap();
        Recipe::read(&path)
    }

    const HEADER: &str = "[recipe]\nname = \"t\"\nassembly = \"hg19\"\n";

    #[test]
    fn a_source_and_its_list_are_read() {
        let r = read(&format!(
            "{HEADER}[[source]]\nname = \"peaks\"\ningest = \"peaks\"\nformat = \"narrowpeak\"\nassembly = \"hg19\"\nurl = \"https://x.org/{{accession}}.bed.gz\"\nlist = \"acc.txt\"\nmetadata = {{ kind = \"encode\", url = \"https://x.org/{{accession}}/?format=json\" }}\nexpect = 3\n"
        ))
        .unwrap();
        let s = r.source("peaks").unwrap();
        assert_eq!(s.columns, ["accession"]);
        assert!(s.list.as_ref().unwrap().ends_with("acc.txt"));
        assert_eq!(s.metadata.as_ref().unwrap().kind, MetadataKind::Encode);
    }

    #[test]
    fn mistakes_are_named() {
        let source = |extra: &str| {
            format!("{HEADER}[[source]]\nname = \"s\"\ningest = \"genome\"\nformat = \"fasta\"\nassembly = \"hg19\"\n{extra}")
        };
        let cases = [
            (
                source("url = \"https://x/{acc}.fa\"\n"),
                "names {acc}, which is not a column",
            ),
            (
                source("url = \"https://x/a.fa\"\nmd6 = \"x\"\n"),
                "unknown field `md6`",
            ),
            (
                source("url = \"https://x/a.fa\"\n").replace("\"genome\"", "\"genomes\""),
                "ingest 'genomes' is not one of",
            ),
            (
                source("url = \"https://x/a.fa\"\n").replace("name = \"s\"", "name = \"../s\""),
                "source name '../s'",
            ),
            (
                source("url = \"https://x/a.fa\"\n").replace("\"hg19\"\nurl", "\"hg38\"\nurl"),
                "source 's' is on hg38, the recipe on hg19: give it a liftover",
            ),
            (
                source("url = \"https://x/a.fa\"\nliftover = \"s\"\n")
                    .replace("\"genome\"", "\"genes\""),
                "liftover names 's', which is not a source with ingest = \"chain\"",
            ),
            (
                source("url = \"https://x/a.fa\"\nliftover = \"s\"\n"),
                "the genome ingest takes no liftover",
            ),
            (
                source("url = \"https://x/a.tar\"\nunpack = [\"../x\"]\n"),
                "unpack names '../x'",
            ),
            (
                source("url = \"https://x/a.fa\"\nsample = { column = \"code\" }\n"),
                "sample names column 'code'",
            ),
        ];
        for (text, want) in cases {
            let e = read(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert!(e.contains("r.toml"), "{e}");
        }
    }

    #[test]
    fn names_that_could_leave_the_folder_are_not_safe() {
        for bad in ["", ".", "..", "a/b", "a\\b", "a b", "%2e%2e"] {
            assert!(!safe_name(bad), "{bad}");
        }
        assert!(safe_name("ENCFF001TOL.bed.gz"));
    }
}
