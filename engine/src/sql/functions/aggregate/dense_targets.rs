//! `dense_targets(position, value, width)`: the values of a group laid out
//! as one list of `width` entries, `value` at index `position` and NULL
//! where the group has no row: a sample × site matrix built by one GROUP BY,
//! with no cross join of every site with every sample.
//!
//! ```sql
//! -- one list per CpG, one entry per methylation sample (NULL: no call)
//! SELECT c.chrom, c.cpg, dense_targets(t.position, c.fraction, t.samples) AS targets
//! FROM calls c JOIN sample_positions t ON t.track_id = c.track_id
//! GROUP BY c.chrom, c.cpg;
//! ```
//!
//! A NULL position or value leaves its entry NULL; a position outside
//! `[0, width)` is an error; two rows of one position keep the last read.

use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Float32Type, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

const USAGE: &str = "dense_targets(position, value, width)";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DenseTargetsFunction {
    signature: Signature,
}

impl DenseTargetsFunction {
    pub fn udaf() -> AggregateUDF {
        AggregateUDF::from(DenseTargetsFunction {
            signature: super::any_signature(vec![
                DataType::Int64,
                DataType::Float32,
                DataType::Int64,
            ]),
        })
    }
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Float32, true)))
}

/// What `dnabench sql --functions` and `information_schema` say of it.
pub fn documentation() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        Documentation::builder(
                super::AGGREGATE,
                r#"The values of a group laid out as one list of width entries: value at index position, NULL where the group has no row. A site by sample matrix in one GROUP BY, with no cross join of every site with every sample. A NULL position or value leaves its entry NULL; a position outside [0, width) is an error; two rows of one position keep the last read."#,
                r#"dense_targets(position, value, width)"#,
            )
            .with_argument(r#"position"#, r#"The entry's index, 0-based."#)
            .with_argument(r#"value"#, r#"The entry (Float32)."#)
            .with_argument(r#"width"#, r#"The list's length, the same in every row of the group."#)
            .with_sql_example(r#"SELECT site, dense_targets(sample, value, 3) AS targets FROM (VALUES (1, 0, 0.5), (1, 2, 1.0), (2, 1, 0.0)) AS t(site, sample, value) GROUP BY site ORDER BY site"#)
            .build()
    })
}

impl AggregateUDFImpl for DenseTargetsFunction {
    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation())
    }

    fn name(&self) -> &str {
        "dense_targets"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !(args[0].is_integer() && args[2].is_integer()) {
            return exec_err!(
                "{USAGE}: position and width are integers, got {} and {}",
                args[0],
                args[2]
            );
        }
        Ok(list_type())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(DenseAccumulator { values: Vec::new() }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}_values", args.name),
            list_type(),
            true,
        ))])
    }
}

#[derive(Debug)]
struct DenseAccumulator {
    values: Vec<Option<f32>>,
}

impl DenseAccumulator {
    /// At least `width` entries, the new ones NULL.
    fn widen(&mut self, width: usize) {
        if self.values.len() < width {
            self.values.resize(width, None);
        }
    }

    fn set(&mut self, position: i64, value: Option<f32>, width: usize) -> Result<()> {
        self.widen(width);
        if position < 0 || position as usize >= self.values.len() {
            return exec_err!(
                "{USAGE}: position {position} is outside [0, {})",
                self.values.len()
            );
        }
        if value.is_some() {
            self.values[position as usize] = value;
        }
        Ok(())
    }
}

impl Accumulator for DenseAccumulator {
    fn update_batch(&mut self, args: &[ArrayRef]) -> Result<()> {
        let position = cast(&args[0], &DataType::Int64)?;
        let value = cast(&args[1], &DataType::Float32)?;
        let width = cast(&args[2], &DataType::Int64)?;
        let (position, value, width) = (
            position.as_primitive::<Int64Type>(),
            value.as_primitive::<Float32Type>(),
            width.as_primitive::<Int64Type>(),
        );
        for i in 0..position.len() {
            if width.is_null(i) {
                continue;
            }
            let width = width.value(i).max(0) as usize;
            // A row with no position still gives its group `width` entries.
            if position.is_null(i) {
                self.widen(width);
                continue;
            }
            let v = (!value.is_null(i)).then(|| value.value(i));
            self.set(position.value(i), v, width)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for row in 0..lists.len() {
            if lists.is_null(row) {
                continue;
            }
            let list = lists.value(row);
            let entries = list.as_primitive::<Float32Type>();
            for (i, v) in entries.iter().enumerate() {
                self.set(i as i64, v, entries.len())?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let values: Float32Array = self.values.iter().copied().collect();
        let field = Arc::new(Field::new("item", DataType::Float32, true));
        let offsets = OffsetBuffer::from_lengths([values.len()]);
        Ok(ScalarValue::List(Arc::new(ListArray::new(
            field,
            offsets,
            Arc::new(values),
            None,
        ))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * std::mem::size_of::<Option<f32>>()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    use crate::sql::functions::pretty_sql;

    #[tokio::test]
    async fn values_land_at_their_positions_and_gaps_are_null() {
        let ctx = SessionContext::new();
        ctx.register_udaf(super::DenseTargetsFunction::udaf());
        let out = pretty_sql(
            &ctx,
            "SELECT site, dense_targets(p, v, 4) AS t FROM (VALUES \
             ('a', 0, 0.5), ('a', 3, 1.0), ('b', 1, 0.25), ('b', 2, NULL)) AS x(site, p, v) \
             GROUP BY site ORDER BY site",
        )
        .await
        .unwrap();
        assert!(out.contains("| a    | [0.5, , , 1.0] |"), "{out}");
        assert!(out.contains("| b    | [, 0.25, , ]   |"), "{out}");
        let err = pretty_sql(
            &ctx,
            "SELECT dense_targets(p, 1.0, 2) FROM (VALUES (5)) AS x(p)",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("position 5 is outside [0, 2)"), "{err}");
    }
}
