-- Gene expression (ExPecto): log RPKM of a gene in every sample from the
-- 40 kb centred on its TSS, read on the gene's strand. targets lists the
-- samples in track_id order (NULL where a sample has no value). Split by
-- chromosome (names compared without 'chr').
-- @param window 40000 Window width in bp
-- @param valid_chroms 'X,Y' Chromosomes of the validation split
-- @param test_chroms '8' Chromosomes of the test split
CREATE OR REPLACE VIEW expression_genes AS
SELECT g.gene_id, g.chrom, g.tss, g.strand
FROM genes g
WHERE g.feature = 'gene' AND g.gene_id IN (SELECT gene_id FROM expression);

CREATE OR REPLACE VIEW expression_examples AS
SELECT g.gene_id, g.chrom, g.tss, g.strand,
       array_agg(CAST(e.value AS FLOAT) ORDER BY t.track_id) AS targets
FROM expression_genes g
CROSS JOIN (SELECT track_id FROM tracks WHERE kind = 'expression') t
LEFT JOIN expression e ON e.gene_id = g.gene_id AND e.track_id = t.track_id
GROUP BY g.gene_id, g.chrom, g.tss, g.strand;

SELECT 'expression' AS task, gene_id AS example_id,
       CASE WHEN array_has(string_to_array(CAST($valid_chroms AS VARCHAR), ','), regexp_replace(chrom, '^chr', '')) THEN 'valid'
            WHEN array_has(string_to_array(CAST($test_chroms AS VARCHAR), ','), regexp_replace(chrom, '^chr', '')) THEN 'test'
            ELSE 'train' END AS split,
       chrom, first AS start, first + $window AS "end", strand, targets
FROM (SELECT *,
             -- On '-' the mirror image around the TSS base: the TSS sits at
             -- offset window/2 of the sequence read on the gene's strand.
             tss - $window / 2 + CASE WHEN strand = '-' THEN 1 ELSE 0 END AS first
      FROM expression_examples)
ORDER BY gene_id;
