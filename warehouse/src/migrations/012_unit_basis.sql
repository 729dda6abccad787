-- Schema version 12: the unit is a unit. A Rosstat unit line's qualifiers (price basis,
-- classification, reference point, data source) move from `unit` to `basis`; the rule is
-- regstat_transform::unit::split_unit_line's (a test checks the two agree).
ALTER TABLE observation ADD COLUMN basis VARCHAR;
CREATE TEMP MACRO regstat_is_qualifier(s) AS
    lower(s) LIKE '%ценах%'
    OR starts_with(lower(s), 'в соответствии с') OR starts_with(lower(s), 'по данным')
    OR starts_with(lower(s), 'на конец') OR starts_with(lower(s), 'на начало')
    OR starts_with(lower(s), 'по состоянию на') OR starts_with(lower(s), 'по методологии')
    OR starts_with(lower(s), 'по полному кругу') OR starts_with(lower(s), 'без учета')
    OR starts_with(lower(s), 'без учёта') OR starts_with(lower(s), 'с учетом')
    OR starts_with(lower(s), 'с учётом');
UPDATE observation
SET basis = nullif(array_to_string(list_filter(
        list_filter(list_transform(string_split(unit, ';'), x -> trim(x)), x -> x <> ''),
        x -> regstat_is_qualifier(x)), '; '), ''),
    unit = array_to_string(list_filter(
        list_filter(list_transform(string_split(unit, ';'), x -> trim(x)), x -> x <> ''),
        x -> NOT regstat_is_qualifier(x)), '; ')
WHERE EXISTS (SELECT 1 FROM (SELECT unnest(string_split(unit, ';')) AS part) WHERE regstat_is_qualifier(trim(part)));
DROP MACRO regstat_is_qualifier;

-- The view again, so that it has the new column whatever DuckDB bound `*` to.
CREATE OR REPLACE VIEW observation_latest AS
SELECT * EXCLUDE (vintage_rank)
FROM (
    SELECT o.*,
           row_number() OVER (PARTITION BY indicator_id, region_code, period, coalesce(dimensions, '')
                              ORDER BY vintage DESC, document_sha256) AS vintage_rank
    FROM observation o
)
WHERE vintage_rank = 1;
