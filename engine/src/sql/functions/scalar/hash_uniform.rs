//! `hash_uniform(key, seed)`: a deterministic number in [0, 1) from a key and a seed.
//!
//! ```sql
//! -- a random 80/10/10 split that every machine computes the same way
//! SELECT gene_id,
//!        CASE WHEN hash_uniform(gene_id, 42) < 0.8 THEN 'train'
//!             WHEN hash_uniform(gene_id, 42) < 0.9 THEN 'valid' ELSE 'test' END AS split
//! FROM genes;
//! ```
//!
//! The key may be a string or an integer; the value depends only on the key's
//! bytes (UTF-8, or the integer as 8 little-endian bytes) and the seed: FNV-1a
//! over them, then the SplitMix64 finalizer, top 53 bits as a fraction. NULL
//! key or seed gives NULL.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, AsArray, Float64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::hash::hash_uniform;
use crate::sql::functions::args::{finish, to_arrays};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct HashUniformFunction {
    signature: Signature,
}

impl HashUniformFunction {
    pub fn new() -> Self {
        HashUniformFunction {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for HashUniformFunction {
    fn default() -> Self {
        Self::new()
    }
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::SCALAR,
                r#"A number in [0, 1) that depends only on the key's bytes (UTF-8, or an integer as 8 little-endian bytes) and the seed: FNV-1a, then the SplitMix64 finalizer, top 53 bits as a fraction. Every split and random choice of dnabench is drawn from it, so every machine computes the same rows. A NULL key or seed gives NULL."#,
                r#"hash_uniform(key, seed)"#,
            )
            .with_argument(r#"key"#, r#"A string or an integer."#)
            .with_argument(r#"seed"#, r#"An integer."#)
            .with_sql_example(r#"SELECT k, CASE WHEN hash_uniform(k, 42) < 0.8 THEN 'train' WHEN hash_uniform(k, 42) < 0.9 THEN 'valid' ELSE 'test' END AS split FROM (VALUES ('gene1'), ('gene2'), ('gene3')) AS t(k)"#)
            .build()
    })
}

impl ScalarUDFImpl for HashUniformFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "hash_uniform"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [key, seed] = arg_types else {
            return plan_err!(
                "hash_uniform() takes 2 arguments: hash_uniform(key, seed), got {}",
                arg_types.len()
            );
        };
        let key = if key.is_integer() {
            DataType::Int64
        } else if matches!(
            key,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        ) {
            DataType::Utf8
        } else {
            return plan_err!("hash_uniform(): the key must be a string or an integer, got {key}");
        };
        if !seed.is_integer() && *seed != DataType::Null {
            return plan_err!("hash_uniform(): the seed must be an integer, got {seed}");
        }
        Ok(vec![key, DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = to_arrays(&args.args, args.number_rows)?;
        let seed = arrays[1].as_primitive::<Int64Type>();
        let out: Float64Array = match arrays[0].data_type() {
            DataType::Int64 => {
                let key = arrays[0].as_primitive::<Int64Type>();
                (0..key.len())
                    .map(|i| {
                        (!key.is_null(i) && !seed.is_null(i))
                            .then(|| hash_uniform(&key.value(i).to_le_bytes(), seed.value(i)))
                    })
                    .collect()
            }
            _ => {
                let key = arrays[0].as_string::<i32>();
                (0..key.len())
                    .map(|i| {
                        (!key.is_null(i) && !seed.is_null(i))
                            .then(|| hash_uniform(key.value(i).as_bytes(), seed.value(i)))
                    })
                    .collect()
            }
        };
        finish(Arc::new(out), all_scalar)
    }
}
