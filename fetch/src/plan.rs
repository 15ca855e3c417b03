//! A recipe's sources as the files to fetch: each list row fills the URL
//! pattern, and its file lands in `OUT/SOURCE/NAME`, where NAME is the URL's
//! last segment, refused unless it is a plain file name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::recipe::{placeholders, safe_name, MetadataKind, Recipe, Source};

/// One file to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTask {
    pub source: String,
    /// The list row's first value (an accession), or the file name.
    pub key: String,
    /// The list row's values by column.
    pub row: HashMap<String, String>,
    pub url: String,
    /// Other addresses of the same file, tried in order after `url`.
    pub alternates: Vec<String>,
    /// Relative to the output folder.
    pub dest: PathBuf,
    pub md5: Option<String>,
    pub size: Option<u64>,
    pub assembly: String,
    pub metadata: Option<MetadataTask>,
}

/// The metadata document fetched before its file.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataTask {
    pub kind: MetadataKind,
    pub url: String,
    /// Relative to the output folder.
    pub dest: PathBuf,
}

/// Every file of `recipe`, or of the sources named in `only`.
pub fn plan(recipe: &Recipe, only: &[String]) -> Result<Vec<FileTask>> {
    for name in only {
        if recipe.source(name).is_none() {
            return Err(Error::Recipe {
                path: recipe.path.clone(),
                message: format!(
                    "no source is named '{name}'; the recipe has {}",
                    recipe
                        .sources
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    let mut tasks = Vec::new();
    for source in &recipe.sources {
        if only.is_empty() || only.contains(&source.name) {
            tasks.extend(source_files(source)?);
        }
    }
    Ok(tasks)
}

fn source_files(source: &Source) -> Result<Vec<FileTask>> {
    let Some(list) = &source.list else {
        let dest = file_name(&source.url)
            .map(|n| Path::new(&source.name).join(n))
            .ok_or_else(|| unsafe_url(source, &source.url, None))?;
        let key = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![FileTask {
            source: source.name.clone(),
            key,
            row: HashMap::new(),
            url: source.url.clone(),
            alternates: source.alternates.clone(),
            dest,
            md5: source.md5.clone(),
            size: source.size,
            assembly: source.assembly.clone(),
            metadata: None,
        }]);
    };
    let mut tasks = Vec::new();
    for (line, row) in read_list(list, &source.columns)? {
        let fill = |pattern: &str| -> String {
            let mut url = pattern.to_string();
            for p in placeholders(pattern) {
                url = url.replace(&format!("{{{p}}}"), &row[p]);
            }
            url
        };
        let key = row[&source.columns[0]].clone();
        let url = fill(&source.url);
        let dest = file_name(&url)
            .map(|n| Path::new(&source.name).join(n))
            .ok_or_else(|| unsafe_url(source, &url, Some((list, line))))?;
        let metadata = source.metadata.as_ref().map(|m| MetadataTask {
            kind: m.kind,
            url: fill(&m.url),
            dest: Path::new(&source.name)
                .join("metadata")
                .join(format!("{key}.json")),
        });
        tasks.push(FileTask {
            source: source.name.clone(),
            key,
            alternates: source.alternates.iter().map(|a| fill(a)).collect(),
            row,
            url,
            dest,
            md5: None,
            size: None,
            assembly: source.assembly.clone(),
            metadata,
        });
    }
    Ok(tasks)
}

/// The rows of a list: tab-separated values, one per column, each safe in
/// a URL and as a file name.
fn read_list(path: &Path, columns: &[String]) -> Result<Vec<(usize, HashMap<String, String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let values: Vec<&str> = line.split('\t').map(str::trim).collect();
        let bad = |message: String| Error::List {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        if values.len() != columns.len() {
            return Err(bad(format!(
                "{} tab-separated values, expected {} ({})",
                values.len(),
                columns.len(),
                columns.join(", ")
            )));
        }
        if let Some(v) = values.iter().find(|v| !safe_name(v)) {
            return Err(bad(format!(
                "'{v}': expected letters, digits, '.', '_' or '-' (it goes into a URL and a file name)"
            )));
        }
        let row = columns
            .iter()
            .cloned()
            .zip(values.iter().map(|v| v.to_string()))
            .collect();
        rows.push((i + 1, row));
    }
    Ok(rows)
}

/// The URL's last path segment, if it is a plain file name.
fn file_name(url: &str) -> Option<&str> {
    let path = url.split(['?', '#']).next()?;
    let after_scheme = path.split_once("://").map_or(path, |(_, rest)| rest);
    let (_, path) = after_scheme.split_once('/')?;
    let name = path.rsplit('/').next()?;
    safe_name(name).then_some(name)
}

fn unsafe_url(source: &Source, url: &str, at: Option<(&Path, usize)>) -> Error {
    let message = format!(
        "source '{}': the URL {url} does not end in a plain file name (letters, digits, '.', '_', '-'), so it has no safe place in the output folder",
        source.name
    );
    match at {
        Some((path, line)) => Error::List {
            path: path.to_path_buf(),
            line,
            message,
        },
        None => Error::Recipe {
            path: PathBuf::from(&source.name),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_last_segment_and_never_climb() {
        assert_eq!(
            file_name("https://e.org/files/ENCFF1/@@download/ENCFF1.bed.gz"),
            Some("ENCFF1.bed.gz")
        );
        assert_eq!(file_name("https://e.org/a/b.tar?x=1"), Some("b.tar"));
        for bad in [
            "https://e.org/",
            "https://e.org",
            "https://e.org/a/..",
            "https://e.org/a/%2e%2e",
            "https://e.org/files/x/?format=json",
        ] {
            assert_eq!(file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn list_rows_fill_the_url_and_bad_rows_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("l.tsv");
        std::fs::write(
            &list,
            "# accession, code\nENCFF001TOL\t00\nENCFF001TOM\t01\n",
        )
        .unwrap();
        let columns = vec!["accession".to_string(), "code".to_string()];
        let rows = read_list(&list, &columns).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 3);
        assert_eq!(rows[1].1["code"], "01");

        std::fs::write(&list, "ENCFF001TOL\t00\n../../etc/passwd\t01\n").unwrap();
        let e = read_list(&list, &columns).unwrap_err().to_string();
        assert!(e.contains("l.tsv:2: '../../etc/passwd'"), "{e}");
        std::fs::write(&list, "ENCFF001TOL\n").unwrap();
        let e = read_list(&list, &columns).unwrap_err().to_string();
        assert!(
            e.contains("l.tsv:1: 1 tab-separated values, expected 2"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod paper_recipe {
    use super::*;

    #[test]
    fn the_paper_recipe_plans_every_file_inside_its_source_folder() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/paper.toml");
        let recipe = Recipe::read(&path).unwrap();
        let tasks = plan(&recipe, &[]).unwrap();
        let count = |s: &str| tasks.iter().filter(|t| t.source == s).count();
        assert_eq!(count("chromatin"), 7_879);
        assert_eq!(count("methylation"), 201);
        for single in ["hg19", "promoters", "expression", "causal_snp"] {
            assert_eq!(count(single), 1, "{single}");
        }
        for t in &tasks {
            let parts: Vec<_> = t.dest.components().collect();
            assert_eq!(parts.len(), 2, "{}", t.dest.display());
            assert_eq!(parts[0].as_os_str(), t.source.as_str());
        }
        let one = tasks.iter().find(|t| t.key == "ENCFF001TOL").unwrap();
        assert_eq!(one.row["code"], "00");
        assert_eq!(
            one.metadata.as_ref().unwrap().url,
            "https://www.encodeproject.org/files/ENCFF001TOL/?format=json"
        );
    }
}
