-- Chromatin features: AUROC and AUPRC per label (track) on the test split,
-- summarised by assay group (DNase, TF, histone, from `tracks.assay`) and
-- over all labels, as mean and median. A label with one class only in the
-- split has no value and is left out of the summaries (the paper's
-- NaN-skipping mean). Output i of a run is the i-th track, in id order,
-- among the tracks positive in some example of its dataset (the run's head).
-- `_paper`: probabilities cast to fp16, trapezoidal AUPR.
-- Rows: metric, "group", value.
-- @param run '' The run whose predictions are scored
-- @param split 'test' The split scored
CREATE OR REPLACE VIEW chromatin_outputs AS
SELECT track_id, row_number() OVER (ORDER BY track_id) - 1 AS i
FROM (SELECT DISTINCT unnest(positive_tracks) AS track_id FROM examples
      WHERE dataset = (SELECT min(dataset) FROM predictions WHERE run_id = $run));

CREATE OR REPLACE VIEW chromatin_scores AS
SELECT p.dataset, p.example_id, unnest(range(cardinality(p.output))) AS i,
       unnest(p.output) AS logit
FROM predictions p WHERE p.run_id = $run AND p.split = $split;

CREATE OR REPLACE VIEW chromatin_labels AS
SELECT o.track_id,
       CASE WHEN t.assay ILIKE '%dnase%' OR t.assay ILIKE '%atac%' THEN 'DNase'
            WHEN t.assay ILIKE '%histone%' OR t.name SIMILAR TO '%H[234][ABZ.0-9]*K[0-9]+%' THEN 'histone'
            ELSE 'TF' END AS assay_group,
       1 / (1 + exp(-s.logit)) AS probability,
       CASE WHEN array_has(e.positive_tracks, CAST(o.track_id AS INT)) THEN 1.0 ELSE 0.0 END AS label
FROM chromatin_scores s
JOIN chromatin_outputs o ON o.i = s.i
JOIN examples e ON e.dataset = s.dataset AND e.example_id = s.example_id
JOIN tracks t ON t.track_id = o.track_id;

CREATE OR REPLACE VIEW chromatin_per_label AS
SELECT track_id, assay_group, auroc(probability, label) AS auroc, auprc(probability, label) AS auprc,
       auroc(arrow_cast(probability, 'Float16'), label) AS auroc_paper,
       auprc_trapz(arrow_cast(probability, 'Float16'), label) AS auprc_paper
FROM chromatin_labels GROUP BY track_id, assay_group;

CREATE OR REPLACE VIEW chromatin_groups AS
SELECT 'all' AS "group", * FROM chromatin_per_label
UNION ALL SELECT assay_group AS "group", * FROM chromatin_per_label;

SELECT 'auroc_mean' AS metric, "group", avg(auroc) AS value FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'auroc_median', "group", median(auroc) FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'auprc_mean', "group", avg(auprc) FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'auprc_median', "group", median(auprc) FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'auroc_paper_mean', "group", avg(auroc_paper) FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'auprc_paper_mean', "group", avg(auprc_paper) FROM chromatin_groups GROUP BY "group"
UNION ALL SELECT 'labels_scored', "group", CAST(count(auroc) AS DOUBLE) FROM chromatin_groups GROUP BY "group";
