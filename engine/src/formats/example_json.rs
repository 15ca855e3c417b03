//! Examples as JSON lines, the layout the benchmark paper's code ships its
//! fixed validation and test sets in: one object a line,
//! `{"index": [chrom, start, end, strand], "tss": offset or -1, "label": [values]}`,
//! a 0-based half-open window and its labels.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Location, Result};
use crate::formats::lines::{InputFile, LineReader};

/// One example: a window, the offset of its TSS in it (if any), its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleRecord {
    pub chrom: String,
    pub start: i64,
    pub end: i64,
    /// `+`, `-`, or `None` for a window with no strand.
    pub strand: Option<&'static str>,
    /// The TSS's offset in the window; `None` where the file gives -1 or nothing.
    pub tss: Option<i64>,
    pub label: Vec<f32>,
}

/// Reads example JSON lines record by record; blank lines are skipped.
pub struct ExampleJsonReader<R = Box<dyn BufRead + Send>> {
    input: LineReader<R>,
    buf: Vec<u8>,
}

impl ExampleJsonReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(ExampleJsonReader {
            input: InputFile::open(path)?,
            buf: Vec::new(),
        })
    }
}

impl<R: BufRead> ExampleJsonReader<R> {
    /// Records of `inner`, which errors call `name`.
    pub fn new(inner: R, name: impl Into<PathBuf>) -> Self {
        ExampleJsonReader {
            input: LineReader::new(inner, name),
            buf: Vec::new(),
        }
    }

    /// The next record and its line number, or `None` at the end.
    pub fn read_record(&mut self) -> Result<Option<(u64, ExampleRecord)>> {
        loop {
            let Some((number, line)) = self.input.read_line(&mut self.buf)? else {
                return Ok(None);
            };
            if line.trim().is_empty() {
                continue;
            }
            let at = Location::line(&self.input.path, number);
            return parse(line, at).map(|r| Some((number, r)));
        }
    }
}

records_iterator!(ExampleJsonReader<R>, ExampleRecord);

const LAYOUT: &str =
    r#"{"index": [chrom, start, end, strand], "tss": offset or -1, "label": [values]}"#;

fn parse(line: &str, at: Location) -> Result<ExampleRecord> {
    let bad = |message: String| Error::parse(at.clone(), format!("{message}; expected {LAYOUT}"));
    let value: Value =
        serde_json::from_str(line).map_err(|e| bad(format!("not a JSON object ({e})")))?;
    let index = match value.get("index") {
        Some(Value::Array(index)) if index.len() == 3 || index.len() == 4 => index,
        Some(other) => return Err(bad(format!("\"index\" is {other}"))),
        None => return Err(bad("no \"index\"".into())),
    };
    let chrom = match &index[0] {
        Value::String(s) if !s.is_empty() => s.clone(),
        other => return Err(bad(format!("the chromosome in \"index\" is {other}"))),
    };
    let coordinate = |i: usize, what: &str| {
        index[i]
            .as_i64()
            .filter(|v| *v >= 0)
            .ok_or_else(|| bad(format!("the {what} in \"index\" is {}", index[i])))
    };
    let (start, end) = (coordinate(1, "start")?, coordinate(2, "end")?);
    if end <= start {
        return Err(bad(format!("the window [{start}, {end}) is empty")));
    }
    let strand = match index.get(3) {
        None => None,
        Some(Value::String(s)) if s == "+" => Some("+"),
        Some(Value::String(s)) if s == "-" => Some("-"),
        Some(Value::String(s)) if s == "." => None,
        Some(other) => return Err(bad(format!("the strand in \"index\" is {other}"))),
    };
    let tss = match value.get("tss") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(-1) => None,
            Some(offset) if offset >= 0 && offset < end - start => Some(offset),
            _ => {
                return Err(bad(format!(
                    "\"tss\" is {v}, not an offset in the window or -1"
                )))
            }
        },
    };
    let label = match value.get("label") {
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_f64().map(|x| x as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| bad("\"label\" holds a value that is not a number".into()))?,
        Some(v) if v.is_number() => vec![v.as_f64().unwrap_or_default() as f32],
        Some(other) => return Err(bad(format!("\"label\" is {other}"))),
        None => return Err(bad("no \"label\"".into())),
    };
    Ok(ExampleRecord {
        chrom,
        start,
        end,
        strand,
        tss,
        label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_papers_promoter_test_set() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes/paper/promoter_test.jsonl");
        let records: Vec<ExampleRecord> = ExampleJsonReader::open(&path)
            .unwrap()
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(records.len(), 11_770);
        assert_eq!(
            records[0],
            ExampleRecord {
                chrom: "chr12".into(),
                start: 24948621,
                end: 24949121,
                strand: Some("-"),
                tss: Some(431),
                label: vec![1.0],
            }
        );
        assert!(records.iter().all(|r| r.end - r.start == 500));
        // Positives are the windows with a TSS in them.
        let positives = records.iter().filter(|r| r.label == [1.0]).count();
        assert_eq!(
            positives,
            records.iter().filter(|r| r.tss.is_some()).count()
        );
        assert!((positives as f64 / records.len() as f64 - 0.25).abs() < 0.01);
    }

    #[test]
    fn names_the_line_and_what_is_wrong() {
        let text = concat!(
            "{\"index\": [\"chr1\", 10, 20, \"+\"], \"tss\": -1, \"label\": [0]}\n",
            "\n",
            "{\"index\": [\"chr1\", 30, 20, \"+\"], \"label\": [1]}\n",
        );
        let mut r = ExampleJsonReader::new(text.as_bytes(), "sets.jsonl");
        assert_eq!(r.read_record().unwrap().unwrap().0, 1);
        let e = r.read_record().unwrap_err().to_string();
        assert!(
            e.starts_with("sets.jsonl:3: the window [30, 20) is empty; expected"),
            "{e}"
        );
        for (line, message) in [
            ("[1, 2]", "no \"index\""),
            ("{\"index\": [\"chr1\", 1]}", "\"index\" is [\"chr1\",1]"),
            (
                "{\"index\": [\"chr1\", -1, 5], \"label\": 1}",
                "the start in \"index\" is -1",
            ),
            (
                "{\"index\": [\"chr1\", 1, 5, \"x\"], \"label\": 1}",
                "the strand in \"index\" is \"x\"",
            ),
            (
                "{\"index\": [\"chr1\", 1, 5], \"tss\": 9, \"label\": 1}",
                "\"tss\" is 9",
            ),
            (
                "{\"index\": [\"chr1\", 1, 5], \"label\": [\"a\"]}",
                "is not a number",
            ),
            ("{\"index\": [\"chr1\", 1, 5]", "not a JSON object"),
        ] {
            let e = ExampleJsonReader::new(line.as_bytes(), "x.jsonl")
                .read_record()
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("x.jsonl:1: ") && e.contains(message),
                "{line}: {e}"
            );
        }
    }
}
