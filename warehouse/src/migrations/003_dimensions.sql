-- Schema version 3: series dimensions beyond region and period (EMISS: age, sex, settlement type), as
-- a JSON object; the latest-vintage view keeps one figure per indicator, region, period and dimensions.
ALTER TABLE observation ADD COLUMN dimensions VARCHAR;

CREATE OR REPLACE VIEW observation_latest AS
SELECT * EXCLUDE (vintage_rank)
FROM (
    SELECT o.*,
           row_number() OVER (PARTITION BY indicator_id, region_code, period, coalesce(dimensions, '')
                              ORDER BY vintage DESC, document_sha256) AS vintage_rank
    FROM observation o
)
WHERE vintage_rank = 1;
