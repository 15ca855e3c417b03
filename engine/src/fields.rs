//! Splitting a tab-separated line into fields and parsing them, with errors
//! that name the file, the line, the column and what was expected.

use std::path::Path;

use crate::error::{Error, Location};

/// The fields of one line of a tab-separated file, and where it came from.
pub struct Fields<'a> {
    path: &'a Path,
    line: u64,
    fields: Vec<&'a str>,
    names: &'a [&'a str],
}

impl<'a> Fields<'a> {
    /// Splits `text`, line `line` of `path`, on tabs; `names` names the
    /// columns for error messages.
    pub fn split(text: &'a str, path: &'a Path, line: u64, names: &'a [&'a str]) -> Self {
        Fields {
            path,
            line,
            fields: text.split('\t').collect(),
            names,
        }
    }

    /// Where the line is (built only when an error needs it).
    pub fn location(&self) -> Location {
        Location::line(self.path, self.line)
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(n) => format!("column {} ({n})", i + 1),
            None => format!("column {}", i + 1),
        }
    }

    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(self.location(), message)
    }

    fn bad(&self, i: usize, expected: &str) -> Error {
        self.error(format!(
            "{}: expected {expected}, found '{}'",
            self.name(i),
            self.fields.get(i).copied().unwrap_or("")
        ))
    }

    /// The raw text of field `i`.
    pub fn str(&self, i: usize) -> crate::Result<&'a str> {
        self.fields
            .get(i)
            .copied()
            .ok_or_else(|| self.error(format!("{} is missing", self.name(i))))
    }

    /// A non-empty string.
    pub fn required(&self, i: usize) -> crate::Result<&'a str> {
        let s = self.str(i)?;
        if s.is_empty() {
            return Err(self.bad(i, "a value"));
        }
        Ok(s)
    }

    /// A string, `None` for an empty field or `.`.
    pub fn optional(&self, i: usize) -> crate::Result<Option<&'a str>> {
        let s = self.str(i)?;
        Ok((!s.is_empty() && s != ".").then_some(s))
    }

    /// A non-negative integer coordinate.
    pub fn coordinate(&self, i: usize) -> crate::Result<i64> {
        let s = self.str(i)?;
        match s.trim().parse::<i64>() {
            Ok(v) if v >= 0 => Ok(v),
            _ => Err(self.bad(i, "a non-negative integer")),
        }
    }

    /// An integer.
    pub fn int(&self, i: usize) -> crate::Result<i64> {
        self.str(i)?
            .trim()
            .parse::<i64>()
            .map_err(|_| self.bad(i, "an integer"))
    }

    /// A finite or infinite number (not NaN).
    pub fn float(&self, i: usize) -> crate::Result<f64> {
        match self.str(i)?.trim().parse::<f64>() {
            Ok(v) if !v.is_nan() => Ok(v),
            _ => Err(self.bad(i, "a number")),
        }
    }

    /// A number, `None` for `.`, an empty field or `NA`.
    pub fn optional_float(&self, i: usize) -> crate::Result<Option<f64>> {
        let s = self.str(i)?.trim();
        if s.is_empty() || s == "." || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("nan")
        {
            return Ok(None);
        }
        self.float(i).map(Some)
    }

    /// `+` or `-`; `None` for `.`.
    pub fn strand(&self, i: usize) -> crate::Result<Option<&'static str>> {
        match self.str(i)?.trim() {
            "+" => Ok(Some("+")),
            "-" => Ok(Some("-")),
            "." | "" => Ok(None),
            _ => Err(self.bad(i, "a strand: '+', '-' or '.'")),
        }
    }

    /// A comma-separated list of integers (a trailing comma is allowed, as UCSC writes it).
    pub fn int_list(&self, i: usize) -> crate::Result<Vec<i64>> {
        let s = self.str(i)?.trim().trim_end_matches(',');
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|v| v.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| self.bad(i, "a comma-separated list of integers"))
    }
}

/// The columns of a header line, found by any of their accepted names.
pub struct Header {
    pub location: Location,
    /// As written, for sample names.
    names: Vec<String>,
    /// Lower-cased, for matching.
    keys: Vec<String>,
}

impl Header {
    /// Splits a tab- or comma-separated header; names compare case-insensitively.
    pub fn parse(line: &str, separator: char, location: Location) -> Header {
        let names: Vec<String> = line
            .split(separator)
            .map(|n| n.trim().trim_matches('"').to_string())
            .collect();
        Header {
            location,
            keys: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            names,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of the first column called any of `accepted`.
    pub fn find(&self, accepted: &[&str]) -> Option<usize> {
        accepted
            .iter()
            .find_map(|a| self.keys.iter().position(|n| n == a))
    }

    /// Like [`Header::find`], but a missing column is an error naming what was expected.
    pub fn require(&self, what: &str, accepted: &[&str]) -> crate::Result<usize> {
        self.find(accepted).ok_or_else(|| {
            Error::parse(
                self.location.clone(),
                format!(
                    "the header has no {what} column (expected one named {}; found {})",
                    accepted.join(" or "),
                    self.names.join(", ")
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_bad_field_names_line_column_and_expectation() {
        let names = ["chrom", "start", "end", "name", "score", "strand"];
        let f = Fields::split("chr1\t-5\tx\t.\tNA\t*", Path::new("p.bed"), 7, &names);
        assert_eq!(
            f.coordinate(1).unwrap_err().to_string(),
            "p.bed:7: column 2 (start): expected a non-negative integer, found '-5'"
        );
        assert!(f
            .coordinate(2)
            .unwrap_err()
            .to_string()
            .contains("found 'x'"));
        assert_eq!(f.optional(3).unwrap(), None);
        assert_eq!(f.optional_float(4).unwrap(), None);
        assert!(f
            .strand(5)
            .unwrap_err()
            .to_string()
            .contains("expected a strand"));
        assert!(f
            .str(9)
            .unwrap_err()
            .to_string()
            .contains("column 10 is missing"));
        let f = Fields::split("10,20,\t1,x", Path::new("p.bed"), 1, &[]);
        assert_eq!(f.int_list(0).unwrap(), vec![10, 20]);
        assert!(f.int_list(1).is_err());
    }
}
