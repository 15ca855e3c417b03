#!/usr/bin/env bash
# materialize on one process against the same on two local workers
# (`dnabench worker`), on a store made by the scale bench (`cargo bench
# --profile dev --bench scale -- --fractions 0.1 --keep DIR`): wall time and
# each process's peak RSS from /usr/bin/time -v. On one machine the point is
# that the rows match and what each process holds, not speed-up.
#   bash benches/distributed.sh STORE [TASK] [MEMORY_LIMIT]
set -euo pipefail
store="$1"; task="${2:-chromatin}"; limit="${3:-3GB}"
run="$(date +%s)"  # each run materializes datasets of its own names
bin="${DNABENCH_BIN:-${CARGO_TARGET_DIR:-target}/debug/dnabench}"
out=$(mktemp -d)
trap 'for p in $(jobs -p); do pkill -TERM -P "$p" 2>/dev/null || true; done; rm -rf "$out"' EXIT
rss() { awk -F': ' '/Maximum resident/ {printf "%.2f GB", $2/1048576}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall/ {print $2}' "$1"; }

/usr/bin/time -v "$bin" --memory-limit "$limit" materialize --task "$task" --name "${task}_one_process_$run" \
  --store "$store" >/dev/null 2>"$out/one.time" || { cat "$out/one.time" >&2; exit 1; }
echo "one process:  wall $(wall "$out/one.time"), peak RSS $(rss "$out/one.time")"

for w in 1 2; do
  /usr/bin/time -v "$bin" --memory-limit "$limit" worker --store "$store" --listen 127.0.0.1:0 \
    >"$out/w$w.out" 2>"$out/w$w.time" &
done
for w in 1 2; do
  until grep -q 'listening' "$out/w$w.out" 2>/dev/null; do sleep 0.2; done
done
urls="$(sed 's/worker listening on //' "$out/w1.out"),$(sed 's/worker listening on //' "$out/w2.out")"
/usr/bin/time -v "$bin" --memory-limit "$limit" --workers "$urls" materialize --task "$task" \
  --name "${task}_two_workers_$run" --store "$store" >/dev/null 2>"$out/coord.time" \
  || { cat "$out/coord.time" >&2; exit 1; }
# The workers themselves, so /usr/bin/time around each reports them.
for p in $(jobs -p); do pkill -TERM -P "$p" || true; done
wait 2>/dev/null || true
echo "two workers:  wall $(wall "$out/coord.time"); peak RSS coordinator $(rss "$out/coord.time"), workers $(rss "$out/w1.time") and $(rss "$out/w2.time")"
# The two datasets' rows, sorted (a sort spills; an EXCEPT is a hash
# anti-join, which cannot, and holds gigabytes here).
for d in one_process two_workers; do
  "$bin" --memory-limit "$limit" sql --store "$store" --format csv "SELECT example_id, split,
    md5(array_to_string(positive_tracks, ';')) AS tracks FROM examples
    WHERE dataset = '${task}_${d}_$run' ORDER BY example_id" >"$out/$d.csv"
done
if cmp -s "$out/one_process.csv" "$out/two_workers.csv"; then
  echo "rows: the same $(($(wc -l <"$out/one_process.csv") - 1)) on both"
else
  echo "rows DIFFER between one process and two workers" >&2; exit 1
fi
