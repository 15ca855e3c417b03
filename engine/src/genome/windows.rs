//! The sequences of example windows, cut from the genome when a batch is
//! read: `examples` holds each window's place (chrom, start, end, strand,
//! and for a variant its pos, ref and alt), not its bases.
//!
//! ```sql
//! -- the same bases in SQL
//! SELECT example_id, seq(chrom, start, "end", strand) AS seq FROM examples LIMIT 3;
//! ```

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::Int64Type;

use super::Genome;
use crate::error::{Error, Result};

/// How one batch's windows are moved and turned, row by row; `None` leaves
/// them where the table puts them.
#[derive(Debug, Default, Clone, Copy)]
pub struct WindowDraw<'a> {
    /// Bases to move each window by (both ends alike).
    pub shifts: Option<&'a [i64]>,
    /// Rows to read on the strand opposite to their `strand`.
    pub flips: Option<&'a [bool]>,
}

/// The reference sequence of every row of `batch` (columns chrom, start,
/// end and optional strand), and with `alt` the sequence with each row's
/// variant (pos, alt and ref: `ref` bases at `pos` become `alt`) applied.
/// A variant's window moves at most as far as keeps the variant inside it.
pub fn window_sequences(
    genome: &Genome,
    batch: &RecordBatch,
    draw: WindowDraw<'_>,
    alt: bool,
) -> Result<(ArrayRef, Option<ArrayRef>)> {
    let column = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| {
            Error::Invalid(format!(
                "the batch has no column '{name}' to cut its windows' sequences by"
            ))
        })
    };
    let chrom = column("chrom")?.as_string::<i32>();
    let start = column("start")?.as_primitive::<Int64Type>();
    let end = column("end")?.as_primitive::<Int64Type>();
    let strand = batch.column_by_name("strand").map(|c| c.as_string::<i32>());
    let variant = if alt {
        Some((
            column("pos")?.as_primitive::<Int64Type>(),
            column("ref")?.as_string::<i32>(),
            column("alt")?.as_string::<i32>(),
        ))
    } else {
        None
    };
    let rows = batch.num_rows();
    let width: usize = (0..rows)
        .map(|i| (end.value(i) - start.value(i)).max(0) as usize)
        .sum();
    let mut refs = StringBuilder::with_capacity(rows, width);
    let mut alts = StringBuilder::with_capacity(if alt { rows } else { 0 }, width);
    let mut bases = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    for i in 0..rows {
        let name = chrom.value(i);
        let index = match last {
            Some((n, idx)) if n == name => idx,
            _ => {
                let idx = genome.index(name).ok_or_else(|| {
                    Error::Invalid(format!(
                        "an example's chromosome '{name}' is not in the store's genome"
                    ))
                })?;
                last = Some((name, idx));
                idx
            }
        };
        let (s, e) = (start.value(i), end.value(i));
        let mut shift = draw.shifts.map_or(0, |d| d[i]);
        let reverse = strand.is_some_and(|st| !st.is_null(i) && st.value(i) == "-")
            ^ draw.flips.is_some_and(|f| f[i]);
        let mut variant_at = None;
        if let Some((pos, reference, alternative)) = variant {
            if !pos.is_null(i) && !alternative.is_null(i) {
                let ref_len = if reference.is_null(i) {
                    1
                } else {
                    reference.value(i).len() as i64
                };
                // Keep [pos, pos + ref_len) inside the moved window.
                shift = shift.clamp(pos.value(i) + ref_len - e, pos.value(i) - s);
                variant_at = Some((pos.value(i), ref_len, alternative.value(i)));
            }
        }
        let (s, e) = (s + shift, e + shift);
        bases.clear();
        genome.window_into(index, s, e, false, &mut bases);
        if reverse {
            refs.append_value(reversed(&bases));
        } else {
            refs.append_value(ascii(&bases));
        }
        if alt {
            match variant_at {
                Some((pos, ref_len, alternative)) => {
                    let offset = (pos - s) as usize;
                    let end_of_ref = (offset + ref_len as usize).min(bases.len());
                    bases.splice(offset..end_of_ref, alternative.bytes());
                    if reverse {
                        alts.append_value(reversed(&bases));
                    } else {
                        alts.append_value(ascii(&bases));
                    }
                }
                None => alts.append_null(),
            }
        }
    }
    let refs: StringArray = refs.finish();
    let alts = alt.then(|| Arc::new(alts.finish()) as ArrayRef);
    Ok((Arc::new(refs), alts))
}

fn ascii(bases: &[u8]) -> &str {
    // The genome holds ACGTN only, and alt alleles were checked at ingest.
    std::str::from_utf8(bases).unwrap_or("")
}

fn reversed(bases: &[u8]) -> String {
    let mut out = bases.to_vec();
    super::reverse_complement_in_place(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// chrom, start, end, strand and an optional (pos, ref, alt).
    type Row<'a> = (&'a str, i64, i64, &'a str, Option<(i64, &'a str, &'a str)>);

    fn batch(rows: &[Row]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("chrom", DataType::Utf8, false),
            Field::new("start", DataType::Int64, false),
            Field::new("end", DataType::Int64, false),
            Field::new("strand", DataType::Utf8, true),
            Field::new("pos", DataType::Int64, true),
            Field::new("ref", DataType::Utf8, true),
            Field::new("alt", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.3))),
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.4.map(|v| v.0)))),
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.4.map(|v| v.1)),
                )),
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.4.map(|v| v.2)),
                )),
            ],
        )
        .unwrap()
    }

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        let a = a.as_string::<i32>();
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn windows_strands_shifts_and_variants() {
        let genome = Genome::from_sequences([("chr1".to_string(), b"ACGTTGCAAC".to_vec())]);
        let b = batch(&[
            ("chr1", 0, 4, "+", None),
            ("chr1", 2, 6, "-", None),
            ("chr1", 8, 12, "+", None),
            ("chr1", 2, 6, "+", Some((3, "T", "G"))),
        ]);
        let (refs, alts) = window_sequences(&genome, &b, WindowDraw::default(), true).unwrap();
        let some = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        assert_eq!(strings(&refs), some(&["ACGT", "CAAC", "ACNN", "GTTG"]));
        assert_eq!(
            strings(&alts.unwrap()),
            vec![None, None, None, Some("GGTG".to_string())]
        );

        // Shifted, and flipped in rows 0, 1 and 3 (row 1 is on '-', so read forward).
        let shifts = [1, 1, -9, 5];
        let flips = [true, true, false, true];
        let draw = WindowDraw {
            shifts: Some(&shifts),
            flips: Some(&flips),
        };
        let (refs, alts) = window_sequences(&genome, &b, draw, true).unwrap();
        // Row 3 moves by at most pos - start = 1: window [3, 7) = TTGC, alt GTGC.
        assert_eq!(strings(&refs), some(&["AACG", "TTGC", "NACG", "GCAA"]));
        assert_eq!(strings(&alts.unwrap())[3].as_deref(), Some("GCAC"));
    }

    #[test]
    fn an_unknown_chromosome_is_named() {
        let genome = Genome::from_sequences([("chr1".to_string(), b"ACGT".to_vec())]);
        let err = window_sequences(
            &genome,
            &batch(&[("chr9", 0, 2, "+", None)]),
            WindowDraw::default(),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("'chr9' is not in the store's genome"), "{err}");
    }
}
