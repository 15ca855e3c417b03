"""Baseline of benches/metrics.rs: scikit-learn's roc_auc_score and scipy's
spearmanr on the Parquet file it writes. Prints `metric value seconds`;
reading the file is not timed.

Run: python3 benches/metrics_sklearn.py FILE.parquet  (pyarrow, scikit-learn, scipy)
"""
import sys
import time

import pyarrow.parquet as pq
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

table = pq.read_table(sys.argv[1])
score = table["score"].to_numpy()
label = table["label"].to_numpy()
y = table["y"].to_numpy()

started = time.perf_counter()
value = roc_auc_score(label, score)
print(f"auroc {value} {time.perf_counter() - started}")
started = time.perf_counter()
value = spearmanr(score, y).statistic
print(f"spearman {value} {time.perf_counter() - started}")
