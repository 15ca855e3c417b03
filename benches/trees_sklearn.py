"""Baselines of benches/trees.rs: the same tree models on the same features,
one thread each. Prints `forest SECONDS`, `boosted_exact SECONDS` and
`boosted_hist SECONDS` (xgboost's exact and histogram tree methods)."""

import sys
import time

import pyarrow.parquet as pq
from sklearn.ensemble import RandomForestRegressor
from xgboost import XGBRegressor

import numpy as np

table = pq.read_table(sys.argv[1])
y = table.column("y").to_numpy()
label = table.column("label").to_numpy()
x = np.column_stack(
    [table.column(n).to_numpy() for n in table.column_names if n.startswith("f")]
)

start = time.perf_counter()
RandomForestRegressor(n_estimators=100, max_features="sqrt", n_jobs=1, random_state=0).fit(x, label)
print("forest", time.perf_counter() - start)

for method in ["exact", "hist"]:
    start = time.perf_counter()
    XGBRegressor(
        n_estimators=100, max_depth=4, learning_rate=0.1, subsample=0.8, reg_lambda=1.0,
        tree_method=method, max_bin=256, n_jobs=1, random_state=0,
    ).fit(x, y)
    print(f"boosted_{method}", time.perf_counter() - start)
