-- Schema version 6: the exact panel each cluster design of a run was estimated on, with every
-- figure's source document and cell, so anyone can rerun `regstat estimate` on it.
CREATE TABLE estimate_panel (
    run_id          BIGINT NOT NULL,
    cluster_id      VARCHAR NOT NULL,
    indicator_id    VARCHAR NOT NULL,
    unit            VARCHAR NOT NULL,     -- region code
    year            INTEGER NOT NULL,
    value           DOUBLE,               -- the published figure
    outcome         DOUBLE,               -- what was estimated: ln(value) when the cluster is on logs
    cohort          INTEGER NOT NULL,     -- adoption year of a treated region, 0 for a control
    document_sha256 VARCHAR,
    sheet           VARCHAR,
    cell            VARCHAR,
    PRIMARY KEY (run_id, cluster_id, indicator_id, unit, year)
);
