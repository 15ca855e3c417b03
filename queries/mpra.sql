-- In-silico MPRA (Kircher et al. 2019 saturation mutagenesis): the log2
-- effect of one SNV on an element's activity, from the reference and the
-- mutated 1400 bp centred on the element (the span of its measured
-- positions). context is the element. SNVs only. Split 80/10/10 by
-- position: every change at one position of an element is in one split.
-- @param window 1400 Window width in bp
-- @param valid_fraction 0.1 Fraction of positions in the validation split
-- @param test_fraction 0.1 Fraction of positions in the test split
-- @param seed 42 Seed of the split
CREATE OR REPLACE VIEW mpra_elements AS
SELECT element, chrom, (min(pos) + max(pos) + 1) / 2 - $window / 2 AS start
FROM mpra GROUP BY element, chrom;

SELECT 'mpra' AS task,
       m.element || ':' || CAST(m.pos AS VARCHAR) || ':' || m.ref || '>' || m.alt AS example_id,
       CASE WHEN hash_uniform(m.element || ':' || CAST(m.pos AS VARCHAR), $seed) < 1 - $valid_fraction - $test_fraction THEN 'train'
            WHEN hash_uniform(m.element || ':' || CAST(m.pos AS VARCHAR), $seed) < 1 - $test_fraction THEN 'valid'
            ELSE 'test' END AS split,
       m.chrom, e.start, e.start + $window AS "end", '+' AS strand, m.element AS context,
       m.pos, m.ref, m.alt,
       CAST(m.log2_effect AS FLOAT) AS label
FROM mpra m JOIN mpra_elements e ON e.element = m.element AND e.chrom = m.chrom
WHERE length(m.ref) = 1 AND length(m.alt) = 1
ORDER BY example_id;
