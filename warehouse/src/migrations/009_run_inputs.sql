-- What a run's estimates and published files derive from (a sha256 of the figures and of the
-- designs and outputs configured): a run whose inputs equal the last published run's skips both.
ALTER TABLE run ADD COLUMN inputs VARCHAR;
