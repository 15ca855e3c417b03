//! Track manifests: a TSV with a header naming the columns `path` (required),
//! `name`, `assay`, `biosample` and `sample`, one row per file. Relative
//! paths are taken from the manifest's folder. Rows with the same `sample`
//! are one track named by the sample, their files pooled (methylation
//! replicates: reads summed).
//!
//! ```text
//! (columns separated by tabs)
//! name       assay  biosample  path
//! K562_CTCF  TF     K562       peaks/ENCFF001.narrowPeak.gz
//! ```

use std::path::Path;

use super::tracks::TrackSpec;
use crate::error::{Error, Location, Result};
use crate::formats::lines::Fields;
use crate::formats::lines::InputFile;

/// Reads the rows of a manifest.
pub fn read_manifest(path: &Path) -> Result<Vec<TrackSpec>> {
    let mut input = InputFile::open(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut buf = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut specs = Vec::new();
    // Each sample's first row, where its files are pooled.
    let mut samples: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    while let Some((number, line)) = input.read_line(&mut buf)? {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let location = Location::line(path, number);
        let Some(columns) = &header else {
            let names: Vec<String> = line
                .split('\t')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect();
            if !names.iter().any(|c| c == "path") {
                return Err(Error::parse(
                    location,
                    format!(
                        "the header has no 'path' column (found: {}); expected tab-separated columns path, name, assay, biosample",
                        names.join(", ")
                    ),
                ));
            }
            header = Some(names);
            continue;
        };
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let f = Fields::split(line, path, number, &names);
        if f.len() != columns.len() {
            return Err(f.error(format!(
                "{} tab-separated columns, expected {} as in the header",
                f.len(),
                columns.len()
            )));
        }
        let mut spec = TrackSpec::default();
        let mut sample = None;
        for (i, column) in columns.iter().enumerate() {
            let value = f.optional(i)?.map(str::to_string);
            match column.as_str() {
                "path" => {
                    let p = f.required(i)?;
                    spec.path = base.join(p);
                }
                "name" => spec.name = value,
                "assay" => spec.assay = value,
                "biosample" => spec.biosample = value,
                "sample" => sample = value,
                _ => {}
            }
        }
        match sample {
            Some(sample) => match samples.get(&sample) {
                Some(&first) => {
                    let pooled: &mut TrackSpec = &mut specs[first];
                    pooled.pooled.push(spec.path);
                }
                None => {
                    samples.insert(sample.clone(), specs.len());
                    spec.name = Some(sample);
                    specs.push(spec);
                }
            },
            None => specs.push(spec),
        }
    }
    if header.is_none() {
        return Err(Error::parse(
            Location::file(path),
            "the manifest is empty, expected a header line and one row per file",
        ));
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_specs_with_paths_beside_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("tracks.tsv");
        std::fs::write(
            &m,
            "name\tassay\tbiosample\tpath\nctcf\tTF\tK562\tpeaks/a.bed\nx\t.\t.\t/abs/b.bed\n",
        )
        .unwrap();
        let specs = read_manifest(&m).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].path, dir.path().join("peaks/a.bed"));
        assert_eq!(specs[0].assay.as_deref(), Some("TF"));
        assert_eq!(specs[1].path, Path::new("/abs/b.bed"));
        assert_eq!(specs[1].assay, None);

        std::fs::write(
            &m,
            "sample\tpath\tname\nA\ta1.bed\t.\nB\tb1.bed\tb\nA\ta2.bed\tx\n",
        )
        .unwrap();
        let specs = read_manifest(&m).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name.as_deref(), Some("A"));
        assert_eq!(specs[0].pooled, vec![dir.path().join("a2.bed")]);
        assert_eq!(specs[1].name.as_deref(), Some("B"));
        assert!(specs[1].pooled.is_empty());

        std::fs::write(&m, "name\tfile\nctcf\ta.bed\n").unwrap();
        let e = read_manifest(&m).unwrap_err().to_string();
        assert!(
            e.contains("tracks.tsv:1: the header has no 'path' column"),
            "{e}"
        );
        std::fs::write(&m, "name\tpath\nctcf\n").unwrap();
        let e = read_manifest(&m).unwrap_err().to_string();
        assert!(
            e.contains("tracks.tsv:2: 1 tab-separated columns, expected 2"),
            "{e}"
        );
    }
}
