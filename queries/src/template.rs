//! Named parameters (`$name`) in SQL text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A parameter a query declares with `-- @param NAME DEFAULT [DESCRIPTION]`;
/// a DEFAULT in single quotes is a string (`''` is the empty one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub default: String,
    pub description: String,
}

/// A query's text with the parameters it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTemplate {
    /// Where the text came from (a file path or a task name), for errors.
    pub origin: String,
    pub text: String,
    pub params: Vec<ParamSpec>,
    /// The splits declared with `-- @splits NAME...`: those the query must
    /// give rows to, where not every split (a dataset of fixed evaluation
    /// sets, say, with no training split).
    pub splits: Option<Vec<String>>,
}

/// Why parameters could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// `--param NAME=…` names a parameter the query neither declares nor uses.
    Unknown {
        origin: String,
        name: String,
        known: Vec<String>,
    },
    /// The query uses `$NAME` but no value and no default was given.
    Missing { origin: String, name: String },
    /// A `-- @param` line is malformed.
    BadDeclaration {
        origin: String,
        line: usize,
        text: String,
    },
    /// `--param` was not of the form `name=value`.
    BadAssignment(String),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown {
                origin,
                name,
                known,
            } => {
                write!(f, "{origin}: unknown parameter '{name}'")?;
                if known.is_empty() {
                    write!(f, " (the query takes no parameters)")
                } else {
                    write!(f, " (it takes: {})", known.join(", "))
                }
            }
            ParamError::Missing { origin, name } => write!(
                f,
                "{origin}: the query uses ${name} but no value was given (add --param {name}=VALUE)"
            ),
            ParamError::BadDeclaration { origin, line, text } => write!(
                f,
                "{origin}:{line}: malformed declaration '{text}', expected '-- @param NAME DEFAULT [DESCRIPTION]' or '-- @splits NAME...'"
            ),
            ParamError::BadAssignment(text) => {
                write!(f, "parameter '{text}' is not of the form name=value")
            }
        }
    }
}

impl std::error::Error for ParamError {}

impl SqlTemplate {
    /// Reads the `-- @param` declarations of `text`.
    pub fn parse(origin: impl Into<String>, text: impl Into<String>) -> Result<Self, ParamError> {
        let origin = origin.into();
        let text = text.into();
        let mut params = Vec::new();
        let mut splits = None;
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("--") else {
                continue;
            };
            if let Some(names) = rest.trim_start().strip_prefix("@splits") {
                let names: Vec<String> = names
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect();
                if names.is_empty() || !names.iter().all(|n| is_identifier(n)) {
                    return Err(ParamError::BadDeclaration {
                        origin,
                        line: i + 1,
                        text: line.trim().to_string(),
                    });
                }
                splits = Some(names);
                continue;
            }
            let Some(decl) = rest.trim_start().strip_prefix("@param") else {
                continue;
            };
            let mut parts = decl.split_whitespace();
            let (Some(name), Some(default)) = (parts.next(), parts.next()) else {
                return Err(ParamError::BadDeclaration {
                    origin,
                    line: i + 1,
                    text: line.trim().to_string(),
                });
            };
            if !is_identifier(name) {
                return Err(ParamError::BadDeclaration {
                    origin,
                    line: i + 1,
                    text: line.trim().to_string(),
                });
            }
            // A quoted default ('12,13', '') is the text inside the quotes.
            let default = match default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
            {
                Some(inner) if default.len() >= 2 => inner.replace("''", "'"),
                _ => default.to_string(),
            };
            params.push(ParamSpec {
                name: name.to_string(),
                default,
                description: parts.collect::<Vec<_>>().join(" "),
            });
        }
        Ok(SqlTemplate {
            origin,
            text,
            params,
            splits,
        })
    }

    /// The text with every `$name` replaced by a SQL literal: the value given
    /// in `values`, else the declared default.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, ParamError> {
        let used = placeholders(&self.text);
        let declared: BTreeSet<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        for name in values.keys() {
            if !declared.contains(name.as_str()) && !used.contains(name.as_str()) {
                let mut known: Vec<String> = declared.iter().map(|s| s.to_string()).collect();
                known.extend(used.iter().map(|s| s.to_string()));
                known.sort();
                known.dedup();
                return Err(ParamError::Unknown {
                    origin: self.origin.clone(),
                    name: name.clone(),
                    known,
                });
            }
        }
        let mut filled = BTreeMap::new();
        for p in &self.params {
            filled.insert(p.name.clone(), p.default.clone());
        }
        filled.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
        substitute(&self.text, |name| {
            filled
                .get(name)
                .map(|v| sql_literal(v))
                .ok_or_else(|| ParamError::Missing {
                    origin: self.origin.clone(),
                    name: name.to_string(),
                })
        })
    }
}

/// Fills `$name` placeholders of ad-hoc SQL (no declarations) from `values`.
pub fn render(
    origin: &str,
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, ParamError> {
    SqlTemplate::parse(origin, text)?.render(values)
}

/// Splits `name=value` as given on the command line.
pub fn parse_assignment(text: &str) -> Result<(String, String), ParamError> {
    match text.split_once('=') {
        Some((name, value)) if is_identifier(name.trim()) => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(ParamError::BadAssignment(text.to_string())),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Numbers and booleans go in as they are; anything else becomes a quoted
/// string, so a value can never inject SQL.
fn sql_literal(value: &str) -> String {
    let v = value.trim();
    let is_number = !v.is_empty()
        && v.parse::<f64>().is_ok()
        && v.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if is_number || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        v.to_string()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// The placeholder names used in `text`, outside quotes and comments.
fn placeholders(text: &str) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    scan(text, |_, token| {
        if let Token::Placeholder(name) = token {
            names.insert(name);
        }
    });
    names
}

fn substitute<F>(text: &str, mut value_of: F) -> Result<String, ParamError>
where
    F: FnMut(&str) -> Result<String, ParamError>,
{
    let mut out = String::with_capacity(text.len());
    let mut error = None;
    scan(text, |raw, token| match token {
        Token::Placeholder(name) if error.is_none() => match value_of(name) {
            Ok(v) => out.push_str(&v),
            Err(e) => error = Some(e),
        },
        _ => out.push_str(raw),
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

enum Token<'a> {
    Placeholder(&'a str),
    Other,
}

/// Walks `text` in pieces: placeholders, and everything else verbatim
/// (string literals, quoted identifiers and comments are never searched).
fn scan<'a, F>(text: &'a str, mut visit: F)
where
    F: FnMut(&'a str, Token<'a>),
{
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut plain_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'$' if bytes
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                if plain_from < i {
                    visit(&text[plain_from..i], Token::Other);
                }
                visit(&text[i..end], Token::Placeholder(&text[start..end]));
                i = end;
                plain_from = end;
            }
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    if plain_from < i {
        visit(&text[plain_from..i], Token::Other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn declared_defaults_fill_placeholders_and_given_values_override_them() {
        let t = SqlTemplate::parse(
            "tiles.sql",
            "-- @param width 500 Window width\n-- @param split train\nSELECT $width, '$width', $split -- $width\n",
        )
        .unwrap();
        assert_eq!(t.params.len(), 2);
        assert_eq!(t.params[0].description, "Window width");
        let sql = t.render(&values(&[])).unwrap();
        assert!(
            sql.ends_with("SELECT 500, '$width', 'train' -- $width\n"),
            "{sql}"
        );
        let sql = t.render(&values(&[("width", "1000")])).unwrap();
        assert!(sql.contains("SELECT 1000, '$width', 'train'"), "{sql}");
    }

    #[test]
    fn strings_are_quoted_so_values_cannot_inject_sql() {
        let sql = render("q", "SELECT $x", &values(&[("x", "a'; DROP TABLE t; --")])).unwrap();
        assert_eq!(sql, "SELECT 'a''; DROP TABLE t; --'");
        assert_eq!(
            render("q", "SELECT $x", &values(&[("x", "-1.5e3")])).unwrap(),
            "SELECT -1.5e3"
        );
        assert_eq!(
            render("q", "SELECT $x", &values(&[("x", "TRUE")])).unwrap(),
            "SELECT TRUE"
        );
        assert_eq!(
            render("q", "SELECT $x", &values(&[("x", "12abc")])).unwrap(),
            "SELECT '12abc'"
        );
    }

    #[test]
    fn unknown_and_missing_parameters_name_the_query_and_the_parameter() {
        let t = SqlTemplate::parse("promoter.sql", "-- @param window 500\nSELECT $window").unwrap();
        let err = t.render(&values(&[("widht", "3")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "promoter.sql: unknown parameter 'widht' (it takes: window)"
        );
        let err = render("my.sql", "SELECT $seed", &values(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "my.sql: the query uses $seed but no value was given (add --param seed=VALUE)"
        );
        let err = SqlTemplate::parse("bad.sql", "-- @param onlyname\n").unwrap_err();
        assert!(err.to_string().starts_with("bad.sql:1: malformed"), "{err}");
    }

    #[test]
    fn a_query_may_declare_the_splits_it_gives_rows_to() {
        let t = SqlTemplate::parse("q.sql", "-- @splits valid, test\nSELECT 1").unwrap();
        assert_eq!(
            t.splits,
            Some(vec!["valid".to_string(), "test".to_string()])
        );
        assert_eq!(
            SqlTemplate::parse("q.sql", "SELECT 1").unwrap().splits,
            None
        );
        let err = SqlTemplate::parse("q.sql", "SELECT 1\n-- @splits\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("q.sql:2: malformed declaration"),
            "{err}"
        );
    }

    #[test]
    fn assignments_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_assignment("expr=a=b").unwrap(),
            ("expr".to_string(), "a=b".to_string())
        );
        assert!(parse_assignment("novalue").is_err());
        assert!(parse_assignment("1x=3").is_err());
    }
}
