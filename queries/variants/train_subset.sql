-- A materialized dataset with a seeded sample of its training examples and
-- every validation and test example, read back from `examples`, so the
-- source's own query (a whole-genome merge of methylation calls, say) does
-- not run a second time. Its rows are those the task's query gives with the
-- same train_fraction and seed: the sample is the same hash of the example
-- id. Table 6.3's few-shot methylation is methylation's subset at 0.01:
--   dnabench materialize --task methylation --variant train_subset \
--     --param source=methylation --param train_fraction=0.01 --name methylation_few
-- @param source 'methylation' The materialized dataset to sample (materialize it first)
-- @param train_fraction 0.01 Fraction of the training examples kept
-- @param seed 42 Seed of the sample
SELECT * EXCLUDE (dataset)
FROM examples
WHERE dataset = $source
  AND (split <> 'train' OR hash_uniform(example_id, $seed) < $train_fraction)
