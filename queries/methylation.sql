-- CpG methylation: the methylated fraction of a CpG in each sample, from
-- the 501 bp centred on its C. Calls on the two strands of a CpG are
-- merged (the '-' call sits one base to the right); a sample covering the
-- CpG with fewer than min_coverage reads gives NULL, and a CpG that no
-- sample covers well enough is dropped. targets lists the samples (the
-- tracks with calls) in track_id order. Split by chromosome (names compared without 'chr').
-- @param window 501 Window width in bp (odd, centred on the C)
-- @param min_coverage 10 Reads a sample needs at a CpG (both strands together)
-- @param valid_chroms '12,13' Chromosomes of the validation split
-- @param test_chroms '10,11,X,Y' Chromosomes of the test split
-- @param train_fraction 1.0 Fraction of training CpGs kept (0.01 for the few-shot variant)
-- @param seed 42 Seed of the few-shot sample
-- cpg_matrix() merges every sample's calls, sorted by position at ingest,
-- into one row per CpG as it streams: no GROUP BY holds (or spills) a
-- group per call, and its (chrom, cpg) order leaves the ORDER BY no sort.
CREATE OR REPLACE VIEW methylation_examples AS
SELECT chrom, cpg, methylation_levels(methylated, coverage, $min_coverage) AS targets
FROM cpg_matrix('methylation')
WHERE array_max(coverage) >= $min_coverage;

SELECT * FROM (
  SELECT 'methylation' AS task, chrom || ':' || CAST(cpg AS VARCHAR) AS example_id,
         CASE WHEN array_has(string_to_array(CAST($valid_chroms AS VARCHAR), ','), regexp_replace(chrom, '^chr', '')) THEN 'valid'
              WHEN array_has(string_to_array(CAST($test_chroms AS VARCHAR), ','), regexp_replace(chrom, '^chr', '')) THEN 'test'
              ELSE 'train' END AS split,
         chrom, cpg - ($window - 1) / 2 AS start, cpg - ($window - 1) / 2 + $window AS "end", '+' AS strand, targets
  FROM methylation_examples
) e
WHERE split <> 'train' OR hash_uniform(example_id, $seed) < $train_fraction
ORDER BY chrom, start;
