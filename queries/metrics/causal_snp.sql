-- Causal SNPs: AUROC and AUPRC of the siamese score f(alt) − f(ref), on the
-- test split, over every tissue and per tissue (`context`). `_paper`: the
-- paper code's convention (fp16 probabilities, trapezoidal AUPR).
-- Rows: metric, "group", value.
-- @param run '' The run whose predictions are scored
-- @param split 'test' The split scored
CREATE OR REPLACE VIEW causal_scored AS
SELECT e.context AS tissue, 1 / (1 + exp(-p.output[1])) AS probability, e.label
FROM predictions p JOIN examples e ON e.dataset = p.dataset AND e.example_id = p.example_id
WHERE p.run_id = $run AND p.split = $split;

CREATE OR REPLACE VIEW causal_groups AS
SELECT 'all' AS "group", probability, label FROM causal_scored
UNION ALL SELECT tissue, probability, label FROM causal_scored;

SELECT 'auroc' AS metric, "group", auroc(probability, label) AS value FROM causal_groups GROUP BY "group"
UNION ALL SELECT 'auprc', "group", auprc(probability, label) FROM causal_groups GROUP BY "group"
UNION ALL SELECT 'auroc_paper', "group", auroc(arrow_cast(probability, 'Float16'), label) FROM causal_groups GROUP BY "group"
UNION ALL SELECT 'auprc_paper', "group", auprc_trapz(arrow_cast(probability, 'Float16'), label) FROM causal_groups GROUP BY "group";
