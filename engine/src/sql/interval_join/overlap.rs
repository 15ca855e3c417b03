//! Recognises the overlap predicate inside a join filter.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema};
use datafusion::common::JoinSide;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{BinaryExpr, CastExpr, Column, TryCastExpr};
use datafusion::physical_expr::split_conjunction;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::joins::utils::JoinFilter;

/// The two comparisons of `left.start < right.end AND right.start < left.end`
/// found in a join filter, as column indices into each side's schema.
/// `<=` counts too (then the interval is treated as closed on that side);
/// so do the mirrored forms `right.end > left.start` and `left.end > right.start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlapPredicate {
    pub left_start: usize,
    pub left_end: usize,
    pub right_start: usize,
    pub right_end: usize,
    /// `left.start <= right.end`
    pub left_start_inclusive: bool,
    /// `right.start <= left.end`
    pub right_start_inclusive: bool,
}

/// A column of one side, seen through integer casts.
fn side_column(
    expr: &Arc<dyn PhysicalExpr>,
    filter: &JoinFilter,
    left: &Schema,
    right: &Schema,
) -> Option<(JoinSide, usize)> {
    if let Some(cast) = expr.downcast_ref::<CastExpr>() {
        return side_column(cast.expr(), filter, left, right);
    }
    if let Some(cast) = expr.downcast_ref::<TryCastExpr>() {
        return side_column(cast.expr(), filter, left, right);
    }
    let column = expr.downcast_ref::<Column>()?;
    let index = filter.column_indices().get(column.index())?;
    let schema = match index.side {
        JoinSide::Left => left,
        JoinSide::Right => right,
        JoinSide::None => return None,
    };
    schema
        .fields()
        .get(index.index)
        .filter(|f| is_integer(f.data_type()))
        .map(|_| (index.side, index.index))
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

impl OverlapPredicate {
    /// The overlap predicate among the conjuncts of `filter`, if it has one.
    pub fn find(filter: &JoinFilter, left: &Schema, right: &Schema) -> Option<Self> {
        let mut left_before = None; // left.start < right.end
        let mut right_before = None; // right.start < left.end
        for conjunct in split_conjunction(filter.expression()) {
            let Some(binary) = conjunct.downcast_ref::<BinaryExpr>() else {
                continue;
            };
            let (smaller, larger, inclusive) = match binary.op() {
                Operator::Lt => (binary.left(), binary.right(), false),
                Operator::LtEq => (binary.left(), binary.right(), true),
                Operator::Gt => (binary.right(), binary.left(), false),
                Operator::GtEq => (binary.right(), binary.left(), true),
                _ => continue,
            };
            let (Some(a), Some(b)) = (
                side_column(smaller, filter, left, right),
                side_column(larger, filter, left, right),
            ) else {
                continue;
            };
            match (a.0, b.0) {
                (JoinSide::Left, JoinSide::Right) if left_before.is_none() => {
                    left_before = Some((a.1, b.1, inclusive))
                }
                (JoinSide::Right, JoinSide::Left) if right_before.is_none() => {
                    right_before = Some((a.1, b.1, inclusive))
                }
                _ => {}
            }
        }
        let (left_start, right_end, left_start_inclusive) = left_before?;
        let (right_start, left_end, right_start_inclusive) = right_before?;
        Some(OverlapPredicate {
            left_start,
            left_end,
            right_start,
            right_end,
            left_start_inclusive,
            right_start_inclusive,
        })
    }

    /// The half-open query range on the left side's intervals for a right
    /// row: every left row that can satisfy the predicate has
    /// `left.start < end` and `left.end > start`.
    pub fn query(&self, right_start: i64, right_end: i64) -> (i64, i64) {
        let start = if self.right_start_inclusive {
            right_start.saturating_sub(1)
        } else {
            right_start
        };
        let end = if self.left_start_inclusive {
            right_end.saturating_add(1)
        } else {
            right_end
        };
        (start, end)
    }
}
