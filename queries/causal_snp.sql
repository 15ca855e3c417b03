-- Causal SNPs (GTEx fine-mapping): is this SNV causal for expression in a
-- tissue? Positives have a posterior inclusion probability above
-- positive_pip in the tissue, negatives below negative_pip, neg_ratio
-- negatives per positive drawn at random within each tissue; SNVs only.
-- The input is the reference and the alternative 1000 bp centred on the
-- SNV (the SNV at offset window/2). context is the tissue. Split at random
-- 70/10/20 by variant, so a variant is in one split in every tissue.
-- @param window 1000 Window width in bp
-- @param positive_pip 0.9 Positives have a PIP above this
-- @param negative_pip 0.01 Negatives have a PIP below this
-- @param neg_ratio 2 Negatives per positive in each tissue
-- @param valid_fraction 0.1 Fraction of variants in the validation split
-- @param test_fraction 0.2 Fraction of variants in the test split
-- @param seed 42 Seed of the negative sample and the split
CREATE OR REPLACE VIEW causal_snp_scored AS
SELECT q.tissue, q.variant_id, max(q.pip) AS pip
FROM eqtl q JOIN variants v ON v.variant_id = q.variant_id
WHERE length(v.ref) = 1 AND length(v.alt) = 1
GROUP BY q.tissue, q.variant_id;

CREATE OR REPLACE VIEW causal_snp_labelled AS
SELECT tissue, variant_id, 1.0 AS label FROM causal_snp_scored WHERE pip > $positive_pip
UNION ALL
SELECT n.tissue, n.variant_id, 0.0 AS label
FROM (SELECT tissue, variant_id,
             row_number() OVER (PARTITION BY tissue ORDER BY hash_uniform(variant_id, $seed), variant_id) AS k
      FROM causal_snp_scored WHERE pip < $negative_pip) n
JOIN (SELECT tissue, count(*) AS positives FROM causal_snp_scored WHERE pip > $positive_pip GROUP BY tissue) c
  ON c.tissue = n.tissue
WHERE n.k <= c.positives * $neg_ratio;

SELECT 'causal_snp' AS task, l.tissue || ':' || l.variant_id AS example_id,
       CASE WHEN hash_uniform(l.variant_id, $seed + 1) < 1 - $valid_fraction - $test_fraction THEN 'train'
            WHEN hash_uniform(l.variant_id, $seed + 1) < 1 - $test_fraction THEN 'valid'
            ELSE 'test' END AS split,
       v.chrom, v.pos - $window / 2 AS start, v.pos - $window / 2 + $window AS "end", '+' AS strand,
       l.tissue AS context, v.variant_id, v.pos, v.ref, v.alt,
       CAST(l.label AS FLOAT) AS label
FROM causal_snp_labelled l JOIN variants v ON v.variant_id = l.variant_id
ORDER BY example_id;
