-- Examples made outside dnabench, from files, as a dataset beside
-- dnabench's own: the benchmark paper ships its promoter validation and
-- test windows (recipes/paper/, JSON lines), so a model can be scored on
-- the paper's fixed sets and dnabench's splits compared with them. The
-- files' rows are taken as they are. There is no training split (the
-- paper's is not public); train on the task's own dataset.
--   dnabench materialize --task promoter --variant example_files \
--     --param valid=recipes/paper/promoter_valid.jsonl \
--     --param test=recipes/paper/promoter_test.jsonl --name promoter_paper
-- @splits valid test
-- @param valid 'recipes/paper/promoter_valid.jsonl' The validation examples (read_examples' layout)
-- @param test 'recipes/paper/promoter_test.jsonl' The test examples
-- (A file of several labels an example gives them as `labels`: select
-- `labels AS targets` in a query of your own.)
SELECT example_id, 'valid' AS split, chrom, start, "end", strand, label FROM read_examples($valid)
UNION ALL
SELECT example_id, 'test' AS split, chrom, start, "end", strand, label FROM read_examples($test)
