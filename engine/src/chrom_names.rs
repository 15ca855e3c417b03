//! Reconciling chromosome names of an input file with the genome's:
//! `22` ↔ `chr22`, `MT` ↔ `chrM`, and checking intervals against lengths.

use std::collections::HashMap;

/// How a name of an input file maps onto the genome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The genome's spelling of the name, and the chromosome's length.
    Known { name: &'a str, length: u64 },
    /// The store has no genome: the name is taken as it is, unchecked.
    Unchecked,
    /// No spelling of the name is in the genome.
    Unknown,
}

/// The chromosome names and lengths of a store's genome (empty: no genome).
#[derive(Debug, Clone, Default)]
pub struct ChromNames {
    lengths: HashMap<String, u64>,
    ordered: Vec<String>,
}

impl ChromNames {
    pub fn new(chroms: impl IntoIterator<Item = (String, u64)>) -> Self {
        let mut names = ChromNames::default();
        for (name, length) in chroms {
            names.ordered.push(name.clone());
            names.lengths.insert(name, length);
        }
        names
    }

    /// True when the store has a genome to check against.
    pub fn is_checked(&self) -> bool {
        !self.lengths.is_empty()
    }

    /// The genome's names, in FASTA order.
    pub fn names(&self) -> &[String] {
        &self.ordered
    }

    /// Resolves `name` to the genome's spelling.
    pub fn resolve(&self, name: &str) -> Resolved<'_> {
        if !self.is_checked() {
            return Resolved::Unchecked;
        }
        for candidate in spellings(name) {
            if let Some((k, &length)) = self.lengths.get_key_value(candidate.as_str()) {
                return Resolved::Known { name: k, length };
            }
        }
        Resolved::Unknown
    }
}

/// `name` itself first, then the other conventional spellings of it.
fn spellings(name: &str) -> Vec<String> {
    let bare = name
        .strip_prefix("chr")
        .or_else(|| name.strip_prefix("Chr"))
        .unwrap_or(name);
    let mut out = vec![name.to_string(), bare.to_string(), format!("chr{bare}")];
    match bare {
        "M" => out.extend(["MT".to_string(), "chrMT".to_string()]),
        "MT" => out.extend(["M".to_string(), "chrM".to_string()]),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucsc_and_ensembl_spellings_meet() {
        let g = ChromNames::new([("chr22".to_string(), 100), ("MT".to_string(), 16)]);
        assert_eq!(
            g.resolve("22"),
            Resolved::Known {
                name: "chr22",
                length: 100
            }
        );
        assert_eq!(
            g.resolve("chr22"),
            Resolved::Known {
                name: "chr22",
                length: 100
            }
        );
        assert_eq!(
            g.resolve("chrM"),
            Resolved::Known {
                name: "MT",
                length: 16
            }
        );
        assert_eq!(g.resolve("chr1"), Resolved::Unknown);
        assert_eq!(ChromNames::default().resolve("chr1"), Resolved::Unchecked);
    }
}
