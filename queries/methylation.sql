-- CpG methylation: the methylated fraction of a CpG in each sample, from
-- the 501 bp centred on its C. Calls on the two strands of a CpG are
-- merged (the '-' call sits one base to the right); a sample covering the
-- CpG with fewer than min_coverage reads gives NULL, and a CpG that no
-- sample covers well enough is dropped. targets lists the samples in
-- track_id order. Split by chromosome (names compared without 'chr').
-- @param window 501 Window width in bp (odd, centred on the C)
-- @param min_coverage 10 Reads a sample needs at a CpG (both strands together)
-- @param valid_chroms '12,13' Chromosomes of the validation split
-- @param test_chroms '10,11,X,Y' Chromosomes of the test split
-- @param train_fraction 1.0 Fraction of training CpGs kept (0.01 for the few-shot variant)
-- @param seed 42 Seed of the few-shot sample
CREATE OR REPLACE VIEW methylation_calls AS
SELECT track_id, chrom, CASE WHEN strand = '-' THEN start - 1 ELSE start END AS cpg,
       sum(coverage) AS coverage, sum(methylated) AS methylated
FROM methylation
GROUP BY 1, 2, 3;

-- Each sample's place in targets; one GROUP BY of the calls then lays a
-- CpG's samples out with dense_targets(), without the CpGs x samples
-- cross join (270 M rows at a tenth of hg19 with 96 samples).
CREATE OR REPLACE VIEW methylation_samples AS
SELECT track_id, CAST(row_number() OVER (ORDER BY track_id) - 1 AS BIGINT) AS position,
       count(*) OVER () AS samples
FROM tracks WHERE kind = 'methylation';

CREATE OR REPLACE VIEW methylation_examples AS
SELECT c.chrom, c.cpg,
       dense_targets(t.position,
                     CASE WHEN c.coverage >= $min_coverage
                          THEN CAST(CAST(c.methylated AS DOUBLE) / c.coverage AS FLOAT) END,
                     t.samples) AS targets
FROM methylation_calls c JOIN methylation_samples t ON t.track_id = c.track_id
GROUP BY c.chrom, c.cpg
HAVING max(c.coverage) >= $min_coverage;

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
