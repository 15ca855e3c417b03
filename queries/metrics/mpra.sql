-- In-silico MPRA: Spearman (the paper's metric), Pearson and MSE of the
-- predicted effect f(alt) − f(ref) against the measured log2 effect, on the
-- test split, over every element and per element (`context`).
-- `spearman_paper`: predictions cast to fp16 first, as the paper's code does.
-- Rows: metric, "group", value.
-- @param run '' The run whose predictions are scored
-- @param split 'test' The split scored
CREATE OR REPLACE VIEW mpra_scored AS
SELECT e.context AS element, p.output[1] AS predicted, e.label AS measured
FROM predictions p JOIN examples e ON e.dataset = p.dataset AND e.example_id = p.example_id
WHERE p.run_id = $run AND p.split = $split;

CREATE OR REPLACE VIEW mpra_groups AS
SELECT 'all' AS "group", predicted, measured FROM mpra_scored
UNION ALL SELECT element, predicted, measured FROM mpra_scored;

SELECT 'spearman' AS metric, "group", spearman(predicted, measured) AS value FROM mpra_groups GROUP BY "group"
UNION ALL SELECT 'spearman_paper', "group", spearman(arrow_cast(predicted, 'Float16'), measured) FROM mpra_groups GROUP BY "group"
UNION ALL SELECT 'pearson', "group", pearson(predicted, measured) FROM mpra_groups GROUP BY "group"
UNION ALL SELECT 'mse', "group", mse(predicted, measured) FROM mpra_groups GROUP BY "group";
