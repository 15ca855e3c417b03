//! The ENCODE portal's JSON for one file (`/files/ACC/?format=json`): its
//! checksum and size, checked before the file is used, its assembly,
//! checked against the recipe's, and the labels a track manifest needs.

use serde_json::Value;

/// What a file's metadata says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileMetadata {
    pub accession: String,
    pub md5: String,
    pub size: u64,
    pub assembly: String,
    /// `DNase-seq`, `ChIP-seq`, ...
    pub assay: String,
    /// The ChIP target (`CTCF`, `H3K4me3`), if any.
    pub target: Option<String>,
    pub biosample: String,
}

impl FileMetadata {
    /// The paper's three classes of chromatin track.
    pub fn assay_class(&self) -> &'static str {
        match (&*self.assay, self.target.as_deref()) {
            ("DNase-seq", _) => "DNase",
            (_, Some(t)) if is_histone(t) => "histone",
            _ => "TF",
        }
    }
}

fn is_histone(target: &str) -> bool {
    let t = target.to_ascii_uppercase();
    t.starts_with("H2A") || t.starts_with("H2B") || t.starts_with("H3") || t.starts_with("H4")
}

/// Parses the JSON; the error says which field is missing or mistyped.
pub fn parse(text: &str) -> Result<FileMetadata, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| -> Result<&Value, String> {
        v.get(name)
            .ok_or_else(|| format!("no field '{name}' (is this an ENCODE file's JSON?)"))
    };
    let text_of = |name: &str| -> Result<String, String> {
        field(name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("field '{name}' is not a string"))
    };
    let md5 = text_of("md5sum")?;
    if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("md5sum '{md5}' is not 32 hex digits"));
    }
    let size = field("file_size")?
        .as_u64()
        .ok_or("field 'file_size' is not a whole number")?;
    Ok(FileMetadata {
        accession: text_of("accession")?,
        md5,
        size,
        assembly: text_of("assembly")?,
        assay: text_of("assay_term_name")?,
        target: v.get("target").and_then(|t| label(t, "label")),
        biosample: field("biosample_ontology")
            .ok()
            .and_then(|b| label(b, "term_name"))
            .unwrap_or_default(),
    })
}

/// An embedded object's `key`, or the name in a link such as `/targets/CTCF-human/`.
fn label(v: &Value, key: &str) -> Option<String> {
    if let Some(s) = v.get(key).and_then(Value::as_str) {
        return Some(s.to_string());
    }
    let link = v.as_str()?;
    let last = link.trim_end_matches('/').rsplit('/').next()?;
    Some(last.trim_end_matches("-human").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_and_linked_labels_are_read() {
        let m = parse(
            r#"{"accession":"ENCFF1","md5sum":"0123456789abcdef0123456789abcdef","file_size":12,
            "assembly":"hg19","assay_term_name":"ChIP-seq","target":{"label":"H3K4me3"},
            "biosample_ontology":{"term_name":"K562"}}"#,
        )
        .unwrap();
        assert_eq!(m.assay_class(), "histone");
        assert_eq!(m.biosample, "K562");
        let m = parse(
            r#"{"accession":"ENCFF2","md5sum":"0123456789abcdef0123456789abcdef","file_size":12,
            "assembly":"hg19","assay_term_name":"ChIP-seq","target":"/targets/CTCF-human/",
            "biosample_ontology":"/biosample-types/cell_line_EFO_0002067/"}"#,
        )
        .unwrap();
        assert_eq!(m.target.as_deref(), Some("CTCF"));
        assert_eq!(m.assay_class(), "TF");
    }

    #[test]
    fn a_missing_checksum_is_named() {
        let e = parse(r#"{"accession":"E","file_size":1}"#).unwrap_err();
        assert!(e.contains("no field 'md5sum'"), "{e}");
        let e = parse(r#"{"accession":"E","md5sum":"x","file_size":1}"#).unwrap_err();
        assert!(e.contains("not 32 hex digits"), "{e}");
    }
}
