//! The accumulator every metric aggregate shares: it keeps the (x, y)
//! pairs of its group (NULL and NaN left out), merges partial states as two
//! lists, and computes the metric once at the end.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

/// A metric of paired values: None when it is undefined for them.
pub type PairMetric = fn(&[f64], &[f64]) -> Option<f64>;

/// One metric aggregate (`auroc`, `spearman`, …): its name, the metric over
/// the group's pairs, and its documentation.
#[derive(Debug)]
pub struct PairMetricFunction {
    name: &'static str,
    metric: PairMetric,
    documentation: &'static Documentation,
    signature: Signature,
}

// Two aggregates are the same when their names are: each name has one metric.
impl PartialEq for PairMetricFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PairMetricFunction {}

impl std::hash::Hash for PairMetricFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl PairMetricFunction {
    pub fn udaf(
        name: &'static str,
        metric: PairMetric,
        documentation: &'static Documentation,
    ) -> AggregateUDF {
        AggregateUDF::from(PairMetricFunction {
            name,
            metric,
            documentation,
            signature: super::any_signature(vec![DataType::Float64, DataType::Float64]),
        })
    }
}

impl AggregateUDFImpl for PairMetricFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.documentation)
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        for t in args {
            if !(t.is_numeric() || matches!(t, DataType::Boolean | DataType::Null)) {
                return exec_err!(
                    "{}(x, y) takes numbers or booleans, not {t}; unnest list columns first",
                    self.name
                );
            }
        }
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PairAccumulator {
            metric: self.metric,
            name: self.name,
            xs: Vec::new(),
            ys: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Float64, true)));
        Ok(vec![
            Arc::new(Field::new(format!("{}_x", args.name), list.clone(), true)),
            Arc::new(Field::new(format!("{}_y", args.name), list, true)),
        ])
    }
}

#[derive(Debug)]
struct PairAccumulator {
    metric: PairMetric,
    name: &'static str,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

fn as_f64(name: &str, array: &ArrayRef) -> Result<Float64Array> {
    match cast(array, &DataType::Float64) {
        Ok(a) => Ok(a.as_primitive::<Float64Type>().clone()),
        Err(e) => exec_err!("{name}: cannot read {} as numbers: {e}", array.data_type()),
    }
}

impl PairAccumulator {
    fn extend(&mut self, x: &Float64Array, y: &Float64Array) {
        for i in 0..x.len() {
            if x.is_null(i) || y.is_null(i) {
                continue;
            }
            let (a, b) = (x.value(i), y.value(i));
            if a.is_nan() || b.is_nan() {
                continue;
            }
            self.xs.push(a);
            self.ys.push(b);
        }
    }
}

impl Accumulator for PairAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let x = as_f64(self.name, &values[0])?;
        let y = as_f64(self.name, &values[1])?;
        self.extend(&x, &y);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64((self.metric)(&self.xs, &self.ys)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + 8 * (self.xs.capacity() + self.ys.capacity())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // One list per column, built as arrays: a ScalarValue per row would
        // cost more than the metric itself on millions of rows.
        let list = |v: Vec<f64>| {
            let values = Float64Array::from(v);
            let field = Arc::new(Field::new("item", DataType::Float64, true));
            let offsets = OffsetBuffer::from_lengths([values.len()]);
            ScalarValue::List(Arc::new(ListArray::new(
                field,
                offsets,
                Arc::new(values),
                None,
            )))
        };
        Ok(vec![
            list(std::mem::take(&mut self.xs)),
            list(std::mem::take(&mut self.ys)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (xs, ys) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..xs.len() {
            if xs.is_null(row) || ys.is_null(row) {
                continue;
            }
            let x = xs.value(row);
            let y = ys.value(row);
            self.extend(
                x.as_primitive::<Float64Type>(),
                y.as_primitive::<Float64Type>(),
            );
        }
        Ok(())
    }
}
