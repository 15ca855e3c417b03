//! Genome benches: FASTA ingest (MB/s) next to reading the same file into a
//! sink (`cat FILE > /dev/null`), and random 1 kb `seq()` windows per second
//! next to plain 1 kb memcpy from the same genome.
//!
//! Run: `cargo bench --profile dev --bench genome` (the build tests share).

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};
use dnabench_engine::sql::functions::scalar::seq::SeqFunction;
use dnabench_engine::{ingest, Genome, Store};
use rand::{Rng, SeedableRng};

const FASTA_MB: usize = 64;
const WINDOWS: usize = 10_000;

fn random_bases(rng: &mut impl Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| b"ACGT"[rng.random_range(0..4)]).collect()
}

fn write_fasta(path: &std::path::Path, chroms: usize, len: usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for c in 0..chroms {
        writeln!(out, ">chr{}", c + 1).unwrap();
        for line in random_bases(&mut rng, len).chunks(60) {
            out.write_all(line).unwrap();
            out.write_all(b"\n").unwrap();
        }
    }
}

fn fasta_ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let fasta = dir.path().join("bench.fa");
    write_fasta(&fasta, 4, FASTA_MB * 1_000_000 / 4);
    let bytes = std::fs::metadata(&fasta).unwrap().len();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let mut group = c.benchmark_group("fasta_ingest");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("cat_to_dev_null", |b| {
        b.iter(|| {
            let mut f = std::fs::File::open(&fasta).unwrap();
            std::io::copy(&mut f, &mut std::io::sink()).unwrap()
        })
    });
    group.bench_function("dnabench_ingest_genome", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |store_dir| {
                let store = Store::create(&store_dir.path().join("s")).unwrap();
                runtime
                    .block_on(ingest::ingest_genome(&store, &fasta))
                    .unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn seq_windows(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let chrom_len = 50_000_000;
    let genome = Arc::new(Genome::from_sequences([(
        "chr1".to_string(),
        random_bases(&mut rng, chrom_len),
    )]));
    let starts: Vec<i64> = (0..WINDOWS)
        .map(|_| rng.random_range(0..(chrom_len - 1000) as i64))
        .collect();
    let strands: Vec<&str> = (0..WINDOWS)
        .map(|i| if i % 2 == 0 { "+" } else { "-" })
        .collect();

    let udf = SeqFunction::new(Some(genome.clone()));
    let args: Vec<ColumnarValue> = vec![
        ColumnarValue::Array(Arc::new(StringArray::from(vec!["chr1"; WINDOWS])) as ArrayRef),
        ColumnarValue::Array(Arc::new(Int64Array::from(starts.clone()))),
        ColumnarValue::Array(Arc::new(Int64Array::from(
            starts.iter().map(|s| s + 1000).collect::<Vec<_>>(),
        ))),
        ColumnarValue::Array(Arc::new(StringArray::from(strands))),
    ];
    let arg_fields = vec![
        Arc::new(Field::new("chrom", DataType::Utf8, false)),
        Arc::new(Field::new("start", DataType::Int64, false)),
        Arc::new(Field::new("end", DataType::Int64, false)),
        Arc::new(Field::new("strand", DataType::Utf8, false)),
    ];
    let config = Arc::new(ConfigOptions::default());

    let mut group = c.benchmark_group("seq_1kb_windows");
    group.throughput(Throughput::Elements(WINDOWS as u64));
    group.bench_function("memcpy_1kb", |b| {
        // The peer: a byte a base, unpacked, copied.
        let seq = genome.chrom(0).seq.to_bases();
        let mut out = Vec::with_capacity(WINDOWS * 1000);
        b.iter(|| {
            out.clear();
            for &s in &starts {
                out.extend_from_slice(&seq[s as usize..s as usize + 1000]);
            }
            out.len()
        })
    });
    group.bench_function("seq_udf", |b| {
        b.iter(|| {
            udf.invoke_with_args(ScalarFunctionArgs {
                args: args.clone(),
                arg_fields: arg_fields.clone(),
                number_rows: WINDOWS,
                return_field: Arc::new(Field::new("seq", DataType::Utf8, true)),
                config_options: config.clone(),
            })
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, fasta_ingest, seq_windows);
criterion_main!(benches);
