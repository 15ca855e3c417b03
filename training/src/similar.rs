//! `dnabench similar`: the examples nearest a query by embedding, through
//! the Lance vector index of an embeddings table. The query is an example
//! already in the table, or a new sequence embedded by the table's backbone.

use anyhow::{bail, Context, Result};
use arrow::array::{AsArray, Float32Array, RecordBatch};
use arrow::datatypes::Float32Type;
use candle_core::Device;
use dnabench_engine::Store;
use futures::TryStreamExt;

use crate::embed::{embed_sequences, SEGMENT_BP};
use crate::predict::load_predictor;
use crate::runs;

/// What to search near.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// An example of the table, by id.
    Example(String),
    /// A sequence as long as the table's examples.
    Seq(String),
}

#[derive(Debug, Clone)]
pub struct SimilarRequest {
    pub table: String,
    pub query: Query,
    pub k: usize,
    pub device: Device,
}

/// One neighbour: rank 1 is the nearest.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub rank: usize,
    pub example_id: String,
    pub split: String,
    /// Squared L2 distance, as Lance reports it.
    pub distance: f32,
}

/// The dataset and backbone run an embeddings table was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOrigin {
    pub dataset: String,
    pub run_id: String,
}

pub async fn table_origin(store: &Store, table: &str) -> Result<TableOrigin> {
    if !store.has_table(table) {
        bail!("no table '{table}' in the store; run dnabench embed first");
    }
    let ds = store.dataset(table).await?;
    let mut scan = ds.scan();
    scan.project(&["dataset", "run_id"])?.limit(Some(1), None)?;
    let batches: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
    let batch = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .with_context(|| format!("table '{table}' is empty"))?;
    let text = |name: &str| -> Result<String> {
        Ok(batch
            .column_by_name(name)
            .with_context(|| format!("table '{table}' has no {name} column"))?
            .as_string::<i32>()
            .value(0)
            .to_string())
    };
    Ok(TableOrigin {
        dataset: text("dataset")?,
        run_id: text("run_id")?,
    })
}

/// The vector of the query.
async fn query_vector(
    store: &Store,
    req: &SimilarRequest,
    origin: &TableOrigin,
) -> Result<Vec<f32>> {
    match &req.query {
        Query::Example(id) => {
            let ds = store.dataset(&req.table).await?;
            let mut scan = ds.scan();
            scan.project(&["vector"])?
                .filter(&format!("example_id = '{}'", id.replace('\'', "''")))?;
            let batches: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
            let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
                bail!(
                    "no example '{id}' in table '{}' (dataset {})",
                    req.table,
                    origin.dataset
                );
            };
            let list = batch.column(0).as_fixed_size_list();
            let v = list.value(0);
            Ok(v.as_primitive::<Float32Type>().values().to_vec())
        }
        Query::Seq(seq) => {
            let config = runs::read_run(store, &origin.run_id).await?;
            let predictor = load_predictor(store, &config, &req.device)?;
            let mut v = embed_sequences(&predictor, &[seq.as_bytes()], SEGMENT_BP, 64)?;
            Ok(v.pop().context("no embedding")?)
        }
    }
}

/// The `k` examples nearest the query, nearest first.
pub async fn similar(store: &Store, req: &SimilarRequest) -> Result<(TableOrigin, Vec<Neighbour>)> {
    let origin = table_origin(store, &req.table).await?;
    let q = query_vector(store, req, &origin).await?;
    let ds = store.dataset(&req.table).await?;
    let dim = match ds.schema().field("vector").map(|f| f.data_type()) {
        Some(arrow::datatypes::DataType::FixedSizeList(_, n)) => n as usize,
        _ => bail!("table '{}' has no fixed-size vector column", req.table),
    };
    if q.len() != dim {
        bail!(
            "the query embeds to {} features, table '{}' holds {dim}: give a sequence as long as the {} examples ({} bp segments)",
            q.len(),
            req.table,
            origin.dataset,
            SEGMENT_BP
        );
    }
    let mut scan = ds.scan();
    scan.nearest("vector", &Float32Array::from(q), req.k.max(1))?
        .project(&["example_id", "split"])?;
    let batches: Vec<RecordBatch> = scan.try_into_stream().await?.try_collect().await?;
    let mut out = Vec::new();
    for batch in &batches {
        let ids = batch
            .column_by_name("example_id")
            .context("no example_id")?
            .as_string::<i32>();
        let splits = batch
            .column_by_name("split")
            .context("no split")?
            .as_string::<i32>();
        let distance = batch
            .column_by_name("_distance")
            .context("the search gave no _distance")?
            .as_primitive::<Float32Type>();
        for i in 0..batch.num_rows() {
            out.push(Neighbour {
                rank: 0,
                example_id: ids.value(i).to_string(),
                split: splits.value(i).to_string(),
                distance: distance.value(i),
            });
        }
    }
    out.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    for (i, n) in out.iter_mut().enumerate() {
        n.rank = i + 1;
    }
    Ok((origin, out))
}
