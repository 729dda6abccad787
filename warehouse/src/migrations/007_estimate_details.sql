-- Schema version 7: what a design estimates beyond its headline row, for dashboards and plots:
-- effects by relative time (event study, CS dynamic aggregation, Sun-Abraham), CS group-time effects,
-- and SC/SDID donor and period weights.
CREATE TABLE estimate_event_time (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    method       VARCHAR NOT NULL,     -- event-study, cs, sunab
    rel_time     INTEGER NOT NULL,     -- years relative to adoption
    estimate     DOUBLE,
    std_error    DOUBLE,
    ci_low       DOUBLE,
    ci_high      DOUBLE,
    band_low     DOUBLE,               -- uniform band (CS); the pointwise interval otherwise
    band_high    DOUBLE,
    is_reference BOOLEAN NOT NULL,     -- the normalised period (0 by construction)
    PRIMARY KEY (run_id, cluster_id, indicator_id, method, rel_time)
);
CREATE TABLE estimate_group_time (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    cohort       INTEGER NOT NULL,
    year         INTEGER NOT NULL,
    estimate     DOUBLE,
    std_error    DOUBLE,
    ci_low       DOUBLE,
    ci_high      DOUBLE,
    band_low     DOUBLE,
    band_high    DOUBLE,
    post         BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, cluster_id, indicator_id, cohort, year)
);
CREATE TABLE estimate_weight (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    method       VARCHAR NOT NULL,     -- sc, sdid
    kind         VARCHAR NOT NULL,     -- unit (a donor region) or year (a pre-treatment year)
    unit         VARCHAR,
    year         INTEGER,
    weight       DOUBLE NOT NULL
);
