-- Schema version 14: municipal formations of the OKTMO classifier the config loads, so that a
-- figure's `municipality` dimension (the code of its series) has a name, a kind and a subject in
-- SQL; `observation_municipal` is the latest figures by municipal formation with those.
CREATE TABLE municipality (
    code            VARCHAR NOT NULL,  -- 8-digit OKTMO code (79605000)
    series          VARCHAR NOT NULL,  -- the code figures land on: its own, or an earlier edition's
                                       -- for a formation renamed since (a district become an okrug)
    subject_oktmo   VARCHAR NOT NULL,  -- the subject's two OKTMO digits
    region_code     VARCHAR,           -- the subject's s_OKATO code, as observation.region_code
    name            VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,  -- municipal_district, municipal_okrug, city_okrug, ...
    centre          VARCHAR,
    classifier_file VARCHAR NOT NULL
);

CREATE VIEW observation_municipal AS
SELECT o.*, json_extract_string(o.dimensions, '$.municipality') AS municipality_series,
       m.name AS municipality_name, m.kind AS municipality_kind
FROM observation_latest o
LEFT JOIN (SELECT * FROM municipality WHERE code = series) m
       ON m.series = json_extract_string(o.dimensions, '$.municipality')
WHERE json_extract_string(o.dimensions, '$.municipality') IS NOT NULL;
