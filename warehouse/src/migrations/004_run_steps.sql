-- Schema version 4: the steps of each run (a source's fetch and loads, the estimates, the publish),
-- with their times, outcome, counts and error.
CREATE TABLE run_step (
    run_id       BIGINT NOT NULL,
    step         VARCHAR NOT NULL,     -- source, estimate, publish
    source_id    VARCHAR,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    status       VARCHAR NOT NULL,     -- succeeded, failed, cancelled
    documents    INTEGER,
    observations BIGINT,
    error        VARCHAR
);
