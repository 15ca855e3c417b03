-- Promoter detection, the paper's metrics: AUROC and AUPRC on the test
-- split, plus accuracy and F1 at the threshold that maximises F1 on the
-- validation split (0.5 when there are no validation predictions).
-- Two conventions, labelled: the textbook one (average precision, scores as
-- they are) and the paper code's (`_paper`: probabilities cast to fp16, AUPR
-- as the trapezoidal area under the PR curve).
-- Rows: metric, "group", value.
-- @param run '' The run whose predictions are scored
-- @param split 'test' The split scored
CREATE OR REPLACE VIEW promoter_scored AS
SELECT p.split, 1 / (1 + exp(-p.output[1])) AS probability, e.label
FROM predictions p JOIN examples e ON e.dataset = p.dataset AND e.example_id = p.example_id
WHERE p.run_id = $run;

CREATE OR REPLACE VIEW promoter_f1 AS
SELECT t.threshold,
       2 * sum(CASE WHEN s.probability >= t.threshold AND s.label > 0.5 THEN 1 ELSE 0 END)
         / CAST(sum(CASE WHEN s.probability >= t.threshold THEN 1 ELSE 0 END)
                + sum(CASE WHEN s.label > 0.5 THEN 1 ELSE 0 END) AS DOUBLE) AS f1
FROM (SELECT DISTINCT probability AS threshold FROM promoter_scored WHERE split = 'valid') t
CROSS JOIN promoter_scored s
WHERE s.split = 'valid'
GROUP BY t.threshold;

CREATE OR REPLACE VIEW promoter_threshold AS
SELECT coalesce((SELECT threshold FROM promoter_f1 ORDER BY f1 DESC, threshold LIMIT 1), 0.5) AS threshold;

CREATE OR REPLACE VIEW promoter_test AS
SELECT s.probability, s.label, s.probability >= t.threshold AS called, t.threshold
FROM promoter_scored s CROSS JOIN promoter_threshold t
WHERE s.split = $split;

SELECT 'auroc' AS metric, 'all' AS "group", auroc(probability, label) AS value FROM promoter_test
UNION ALL SELECT 'auprc', 'all', auprc(probability, label) FROM promoter_test
UNION ALL SELECT 'auroc_paper', 'all', auroc(arrow_cast(probability, 'Float16'), label) FROM promoter_test
UNION ALL SELECT 'auprc_paper', 'all', auprc_trapz(arrow_cast(probability, 'Float16'), label) FROM promoter_test
UNION ALL SELECT 'accuracy', 'all', avg(CASE WHEN called = (label > 0.5) THEN 1.0 ELSE 0.0 END) FROM promoter_test
UNION ALL SELECT 'f1', 'all',
       2 * sum(CASE WHEN called AND label > 0.5 THEN 1 ELSE 0 END)
         / CAST(sum(CASE WHEN called THEN 1 ELSE 0 END) + sum(CASE WHEN label > 0.5 THEN 1 ELSE 0 END) AS DOUBLE)
  FROM promoter_test
UNION ALL SELECT 'threshold', 'valid', threshold FROM promoter_threshold;
