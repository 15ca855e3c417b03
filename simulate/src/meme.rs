//! MEME motif files (`MEME version 4`, as JASPAR exports them): each
//! `MOTIF id name` is followed by a `letter-probability matrix` of `w` rows
//! of A, C, G, T probabilities.

use std::path::Path;

use dnabench_engine::error::{Error, Location, Result};
use dnabench_engine::formats::lines::InputFile;

/// A position probability matrix over A, C, G, T.
#[derive(Debug, Clone, PartialEq)]
pub struct Motif {
    pub id: String,
    pub name: String,
    pub probabilities: Vec<[f64; 4]>,
}

impl Motif {
    pub fn width(&self) -> usize {
        self.probabilities.len()
    }

    /// The most likely base at each position.
    pub fn consensus(&self) -> String {
        self.probabilities
            .iter()
            .map(|p| {
                let best = (0..4).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
                b"ACGT"[best] as char
            })
            .collect()
    }
}

/// Reads every motif of a MEME file.
pub fn read_meme(path: &Path) -> Result<Vec<Motif>> {
    let mut input = InputFile::open(path)?;
    let mut buf = Vec::new();
    let mut motifs: Vec<Motif> = Vec::new();
    // Rows still expected for the last motif, and where its matrix began.
    let mut expected: Option<(usize, u64)> = None;
    let mut seen_header = false;
    while let Some((number, line)) = input.read_line(&mut buf)? {
        let line = line.trim();
        let here = || Location::line(path, number);
        if !seen_header {
            if line.is_empty() {
                continue;
            }
            if !line.starts_with("MEME version") {
                return Err(Error::parse(
                    here(),
                    format!("expected 'MEME version 4' on the first line, found '{line}'"),
                ));
            }
            seen_header = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("MOTIF") {
            check_complete(path, &motifs, expected)?;
            let mut words = rest.split_whitespace();
            let Some(id) = words.next() else {
                return Err(Error::parse(here(), "MOTIF line without an identifier"));
            };
            motifs.push(Motif {
                id: id.to_string(),
                name: words.next().unwrap_or(id).to_string(),
                probabilities: Vec::new(),
            });
            expected = None;
        } else if line.starts_with("letter-probability matrix") {
            let Some(motif) = motifs.last() else {
                return Err(Error::parse(here(), "matrix before any MOTIF line"));
            };
            let width = line
                .split_whitespace()
                .skip_while(|w| *w != "w=")
                .nth(1)
                .and_then(|w| w.parse::<usize>().ok())
                .ok_or_else(|| {
                    Error::parse(
                        here().with_record(motif.id.clone()),
                        "the matrix line has no 'w= WIDTH'",
                    )
                })?;
            expected = Some((width, number));
        } else if let Some((width, _)) = expected {
            let motif = motifs.last_mut().expect("a matrix follows a MOTIF line");
            if motif.probabilities.len() == width || line.is_empty() {
                continue;
            }
            let values: Vec<f64> = line
                .split_whitespace()
                .map(str::parse::<f64>)
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    Error::parse(
                        here().with_record(motif.id.clone()),
                        format!("expected 4 probabilities, found '{line}'"),
                    )
                })?;
            let row: [f64; 4] = values.try_into().map_err(|v: Vec<f64>| {
                Error::parse(
                    here().with_record(motif.id.clone()),
                    format!("expected 4 probabilities (A C G T), found {}", v.len()),
                )
            })?;
            let sum: f64 = row.iter().sum();
            if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 0.02 {
                return Err(Error::parse(
                    here().with_record(motif.id.clone()),
                    format!("probabilities must lie in [0, 1] and sum to 1, found '{line}'"),
                ));
            }
            motif.probabilities.push(row);
        }
    }
    check_complete(path, &motifs, expected)?;
    if motifs.is_empty() {
        return Err(Error::parse(Location::file(path), "no MOTIF found"));
    }
    Ok(motifs)
}

fn check_complete(path: &Path, motifs: &[Motif], expected: Option<(usize, u64)>) -> Result<()> {
    match (motifs.last(), expected) {
        (Some(m), Some((width, line))) if m.probabilities.len() != width => Err(Error::parse(
            Location::line(path, line).with_record(m.id.clone()),
            format!(
                "the matrix declares w= {width} but has {} rows",
                m.probabilities.len()
            ),
        )),
        (Some(m), None) if m.probabilities.is_empty() => Err(Error::parse(
            Location::file(path).with_record(m.id.clone()),
            "the motif has no letter-probability matrix",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundled_jaspar_file() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/motifs/jaspar_2024_consensus.meme");
        let motifs = read_meme(&path).unwrap();
        assert_eq!(motifs.len(), 182);
        assert_eq!(motifs[0].id, "C001:HES_SREBF:bHLH");
        assert_eq!(motifs[0].consensus(), "CACGTG");
        let ctcf = motifs.iter().find(|m| m.id.contains(":CTCF:")).unwrap();
        assert!(ctcf.width() > 10);
    }

    #[test]
    fn bad_matrices_name_the_line_and_motif() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.meme");
        std::fs::write(
            &path,
            "MEME version 4\n\nMOTIF M1 x\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n0.5 0.5\n",
        )
        .unwrap();
        let err = read_meme(&path).unwrap_err().to_string();
        assert!(
            err.contains("m.meme:6 (record 'M1')") && err.contains("found 2"),
            "{err}"
        );
        std::fs::write(
            &path,
            "MEME version 4\nMOTIF M1 x\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n",
        )
        .unwrap();
        let err = read_meme(&path).unwrap_err().to_string();
        assert!(err.contains("w= 2 but has 1 rows"), "{err}");
    }
}
