-- Promoter detection: is this window a promoter? One label, 1 or 0.
-- Positives are 500 bp windows centred 100 bp upstream of each gene's TSS,
-- read on the gene's strand and, by default, shifted at random (the paper's
-- PromUnset; max_shift=0 gives PromSet, the TSS always at the same offset).
-- Negatives are random genome windows away from every TSS, neg_ratio per
-- promoter (1 in the paper's text, 3 in its code), on a random strand.
-- Split at random 80/10/10.
-- @param window 500 Window width in bp
-- @param center -100 Offset of the window centre from the TSS (negative: upstream)
-- @param max_shift 100 Windows move by a random shift in [-max_shift, max_shift] bp; 0 for PromSet
-- @param neg_ratio 1 Negative windows per promoter
-- @param exclude 1000 Negatives keep at least this many bp away from every TSS
-- @param max_negatives 100000 Random windows drawn before the negatives are taken from them
-- @param valid_fraction 0.1 Fraction of examples in the validation split
-- @param test_fraction 0.1 Fraction of examples in the test split
-- @param seed 42 Seed of shifts, negatives and splits
-- @param feature 'gene' The rows of genes whose TSSs are the promoters (tss: a TSS list such as EPD's)
CREATE OR REPLACE VIEW promoter_tss AS
SELECT gene_id, chrom, tss, strand,
       -- On '-' the window is the mirror image around the TSS base, so the
       -- TSS sits at the same offset of the sequence read on either strand.
       tss + CASE WHEN strand = '-' THEN 1 - ($center) ELSE $center END
           + CAST(round((hash_uniform(gene_id, $seed) * 2 - 1) * $max_shift) AS BIGINT) AS centre
FROM genes
WHERE feature = $feature;

CREATE OR REPLACE VIEW promoter_exclude AS
SELECT chrom, tss - $exclude AS start, tss + $exclude AS "end" FROM promoter_tss;

CREATE OR REPLACE VIEW promoter_examples AS
SELECT gene_id AS example_id, chrom, centre - $window / 2 AS start,
       centre - $window / 2 + $window AS "end", strand, CAST(1.0 AS FLOAT) AS label
FROM promoter_tss
UNION ALL
SELECT 'negative_' || CAST(window_id AS VARCHAR) AS example_id, chrom, start, "end",
       CASE WHEN hash_uniform(window_id, $seed + 1) < 0.5 THEN '+' ELSE '-' END AS strand,
       CAST(0.0 AS FLOAT) AS label
FROM random_windows($max_negatives, $window, $seed, 'promoter_exclude')
WHERE window_id < (SELECT count(*) FROM promoter_tss) * $neg_ratio;

SELECT 'promoter' AS task, example_id,
       CASE WHEN hash_uniform(example_id, $seed) < 1 - $valid_fraction - $test_fraction THEN 'train'
            WHEN hash_uniform(example_id, $seed) < 1 - $test_fraction THEN 'valid'
            ELSE 'test' END AS split,
       chrom, start, "end", strand, label
FROM promoter_examples
ORDER BY example_id;
