-- A materialized dataset split by chromosome instead of at random: every
-- example of a test chromosome is in the test split, of a validation
-- chromosome in the validation split, the rest in training. Its rows are
-- the source's, read back from `examples`, so the task's query does not run
-- again. The chromatin task's random split puts a test bin's 1000 bp window
-- 800 bp over its neighbours' training windows; DeepSEA held out chr8 and
-- chr9 (test) and chr7 (validation), the defaults here:
--   dnabench materialize --task chromatin --variant chrom_split \
--     --param source=chromatin --name chromatin_by_chrom
-- (the mini benchmark has no chr7 or chr9: give it --param valid_chroms=chr12
-- --param test_chroms=chr8).
-- @param source 'chromatin' The materialized dataset to split (materialize it first)
-- @param valid_chroms 'chr7' Comma-separated chromosomes of the validation split
-- @param test_chroms 'chr8,chr9' Comma-separated chromosomes of the test split
SELECT * EXCLUDE (dataset)
  REPLACE (CASE WHEN array_has(string_to_array(CAST($test_chroms AS VARCHAR), ','), chrom) THEN 'test'
                WHEN array_has(string_to_array(CAST($valid_chroms AS VARCHAR), ','), chrom) THEN 'valid'
                ELSE 'train' END AS split)
FROM examples
WHERE dataset = $source
