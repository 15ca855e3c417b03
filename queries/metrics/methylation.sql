-- CpG methylation: Spearman between predicted and measured methylation
-- across the test CpGs, per sample (output i is the i-th sample in track
-- order), then the mean over samples (NULL ones, a constant column, left
-- out, as the paper's NaN-skipping mean). `spearman_paper`: predictions
-- cast to fp16 first. CpGs whose coverage was too low (NULL target) are left
-- out of their sample.
-- Rows: metric, "group", value.
-- @param run '' The run whose predictions are scored
-- @param split 'test' The split scored
CREATE OR REPLACE VIEW methylation_values AS
SELECT unnest(range(cardinality(p.output))) AS sample, unnest(p.output) AS predicted,
       unnest(e.targets) AS measured
FROM predictions p JOIN examples e ON e.dataset = p.dataset AND e.example_id = p.example_id
WHERE p.run_id = $run AND p.split = $split;

CREATE OR REPLACE VIEW methylation_per_sample AS
SELECT CAST(sample AS VARCHAR) AS sample, spearman(predicted, measured) AS spearman,
       spearman(arrow_cast(predicted, 'Float16'), measured) AS spearman_paper,
       mse(predicted, measured) AS mse
FROM methylation_values GROUP BY sample;

SELECT 'spearman' AS metric, 'mean' AS "group", avg(spearman) AS value FROM methylation_per_sample
UNION ALL SELECT 'spearman_paper', 'mean', avg(spearman_paper) FROM methylation_per_sample
UNION ALL SELECT 'mse', 'mean', avg(mse) FROM methylation_per_sample
UNION ALL SELECT 'spearman', 'sample ' || sample, spearman FROM methylation_per_sample;
