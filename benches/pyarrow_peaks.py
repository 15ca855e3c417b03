"""Peer baseline for benches/ingest.rs: read a narrowPeak with pyarrow's CSV
reader and write it as Parquet. Prints rows and seconds as JSON."""
import json
import sys
import time

import pyarrow.csv as csv
import pyarrow.parquet as pq

NAMES = ["chrom", "start", "end", "name", "score", "strand",
         "signal_value", "p_value", "q_value", "peak"]

path, out = sys.argv[1], sys.argv[2]
started = time.perf_counter()
table = csv.read_csv(
    path,
    read_options=csv.ReadOptions(column_names=NAMES),
    parse_options=csv.ParseOptions(delimiter="\t"),
)
pq.write_table(table, out)
print(json.dumps({"rows": table.num_rows, "seconds": time.perf_counter() - started}))
