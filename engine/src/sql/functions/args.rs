//! Argument coercion and unpacking shared by the scalar functions.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::ColumnarValue;

/// What an argument must be, for coercion and error messages.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    String,
    Integer,
}

/// Coerces `arg_types` to `Utf8` / `Int64` by `kinds`, or says which argument is wrong.
pub fn coerce(
    function: &str,
    usage: &str,
    kinds: &[Kind],
    optional_from: usize,
    arg_types: &[DataType],
) -> Result<Vec<DataType>> {
    if arg_types.len() < optional_from || arg_types.len() > kinds.len() {
        return plan_err!(
            "{function}() takes {} arguments: {usage}, got {}",
            if optional_from == kinds.len() {
                kinds.len().to_string()
            } else {
                format!("{} or {}", optional_from, kinds.len())
            },
            arg_types.len()
        );
    }
    arg_types
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(i, (t, kind))| {
            let ok = match kind {
                Kind::String => matches!(
                    t,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                ) || matches!(t, DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)),
                Kind::Integer => t.is_integer() || *t == DataType::Null,
            };
            if !ok {
                return plan_err!(
                    "{function}(): argument {} must be {}, got {t} ({usage})",
                    i + 1,
                    match kind {
                        Kind::String => "a string",
                        Kind::Integer => "an integer",
                    }
                );
            }
            Ok(match kind {
                Kind::String => DataType::Utf8,
                Kind::Integer => DataType::Int64,
            })
        })
        .collect()
}

/// The arguments as arrays of `rows` rows, and whether all were scalars (so
/// the result should be a scalar too).
pub fn to_arrays(args: &[ColumnarValue], rows: usize) -> Result<(Vec<ArrayRef>, bool)> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { rows };
    let arrays = args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<Result<Vec<_>>>()?;
    Ok((arrays, all_scalar))
}

/// Wraps a result array as a scalar when every input was one.
pub fn finish(array: ArrayRef, all_scalar: bool) -> Result<ColumnarValue> {
    if all_scalar && array.len() == 1 {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}
