-- Chromatin features (DeepSEA): the genome in 200 bp bins; a bin is labelled
-- with every peak track one of whose peaks covers more than half of it, and
-- bins with no label are dropped. The input window (start, end) is the bin
-- with 400 bp of context each side (1000 bp); example_id names the bin. positive_tracks lists the track ids of the
-- positive labels; every other selected track is negative. Split at random
-- 96/1/3.
-- @param bin 200 Bin width in bp
-- @param flank 400 Context added on each side of the bin
-- @param min_overlap 0.5 A peak must cover more than this fraction of the bin
-- @param tracks '' Comma-separated track names to keep (e.g. DeepSEA's 919); empty keeps every peak track
-- @param valid_fraction 0.01 Fraction of bins in the validation split
-- @param test_fraction 0.03 Fraction of bins in the test split
-- @param seed 42 Seed of the split
CREATE OR REPLACE VIEW chromatin_tracks AS
SELECT track_id FROM tracks
WHERE kind = 'peaks' AND (CAST($tracks AS VARCHAR) = '' OR array_has(string_to_array(CAST($tracks AS VARCHAR), ','), name));

-- A peak's bins are found by arithmetic, not by joining tiles(bin): the
-- peaks stream through and only the GROUP BY holds state (and spills), so
-- 118 M peaks of 7878 tracks never sit in memory. Bins are whole, as in
-- tiles(bin): one that runs past its chromosome's end is dropped.
CREATE OR REPLACE VIEW chromatin_hits AS
SELECT h.chrom, h.bin * $bin AS start, h.bin * $bin + $bin AS "end", h.track_id
FROM (SELECT p.chrom, p.start, p."end", p.track_id,
             unnest(range(p.start / $bin, (p."end" + $bin - 1) / $bin)) AS bin
      FROM peaks p
      WHERE p."end" > p.start AND p.track_id IN (SELECT track_id FROM chromatin_tracks)) h
JOIN chroms c ON c.chrom = h.chrom
WHERE h.bin * $bin + $bin <= c.length
  AND overlap_len(h.bin * $bin, h.bin * $bin + $bin, h.start, h."end") > $bin * $min_overlap;

SELECT 'chromatin' AS task, chrom || ':' || CAST(start AS VARCHAR) AS example_id,
       CASE WHEN hash_uniform(chrom || ':' || CAST(start AS VARCHAR), $seed) < 1 - $valid_fraction - $test_fraction THEN 'train'
            WHEN hash_uniform(chrom || ':' || CAST(start AS VARCHAR), $seed) < 1 - $test_fraction THEN 'valid'
            ELSE 'test' END AS split,
       chrom, start - $flank AS start, "end" + $flank AS "end", '+' AS strand,
       array_sort(array_distinct(array_agg(track_id))) AS positive_tracks
FROM chromatin_hits
GROUP BY chrom, start, "end"
ORDER BY chrom, start;
