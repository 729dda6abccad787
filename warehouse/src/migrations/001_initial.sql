-- regstat warehouse, schema version 1.
CREATE TABLE region (
    code        VARCHAR PRIMARY KEY,   -- EMISS s_OKATO code; NR_* for rows that are not regions
    kind        VARCHAR NOT NULL,      -- country, federal_district, subject, subject_part, ...
    parent_code VARCHAR,
    iso         VARCHAR,               -- ISO 3166-2
    oktmo       VARCHAR,
    name        VARCHAR NOT NULL
);

CREATE TABLE indicator (
    id             VARCHAR PRIMARY KEY,
    name           VARCHAR NOT NULL,
    unit           VARCHAR,
    rosstat_tables VARCHAR             -- comma-separated table codes that publish it
);

CREATE TABLE run (
    run_id       BIGINT PRIMARY KEY,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,     -- running, succeeded, failed
    documents    INTEGER,
    observations BIGINT,
    failures     INTEGER,
    summary      VARCHAR
);

CREATE TABLE source_document (
    sha256        VARCHAR PRIMARY KEY,
    source_id     VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    file_name     VARCHAR NOT NULL,
    fetched_at    TIMESTAMP NOT NULL,  -- the vintage of every observation it holds
    http_status   INTEGER,
    etag          VARCHAR,
    last_modified VARCHAR,
    content_type  VARCHAR,
    bytes         BIGINT,
    run_id        BIGINT,
    loaded_at     TIMESTAMP NOT NULL,
    load_status   VARCHAR NOT NULL,    -- loaded, loaded_with_problems, failed
    error         VARCHAR,             -- why it failed, with file, sheet and cell
    observations  BIGINT NOT NULL
);

-- Problems inside a document that did not stop it from loading (an unknown region label, say).
CREATE TABLE document_problem (
    document_sha256 VARCHAR NOT NULL,
    sheet           VARCHAR,
    cell            VARCHAR,
    expected        VARCHAR NOT NULL,
    found           VARCHAR NOT NULL
);

-- Every vintage: a figure is keyed by the document it came from and its cell.
CREATE TABLE observation (
    indicator_id    VARCHAR NOT NULL,
    region_code     VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,  -- 2005, 2020-Q1, 2020-03 or an ISO date
    period_type     VARCHAR NOT NULL,  -- year, quarter, month, date
    year            INTEGER NOT NULL,
    value           DOUBLE,            -- NULL when status says why
    unit            VARCHAR,
    status          VARCHAR NOT NULL,  -- ok, not_available, no_activity, not_applicable, ratio_times
    footnotes       VARCHAR,           -- footnote texts, one per line
    region_label    VARCHAR NOT NULL,  -- the label as printed
    document_sha256 VARCHAR NOT NULL,
    sheet           VARCHAR NOT NULL,
    cell            VARCHAR NOT NULL,
    table_code      VARCHAR,
    table_title     VARCHAR,
    vintage         TIMESTAMP NOT NULL,
    run_id          BIGINT,
    PRIMARY KEY (document_sha256, sheet, cell)
);

-- The latest vintage of every figure: the most recently fetched document that publishes it wins.
CREATE VIEW observation_latest AS
SELECT * EXCLUDE (vintage_rank)
FROM (
    SELECT o.*,
           row_number() OVER (PARTITION BY indicator_id, region_code, period
                              ORDER BY vintage DESC, document_sha256) AS vintage_rank
    FROM observation o
)
WHERE vintage_rank = 1;

CREATE TABLE cluster (
    id              VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    treated         VARCHAR NOT NULL,  -- comma-separated region codes
    control         VARCHAR NOT NULL,
    treatment_start INTEGER NOT NULL,
    indicators      VARCHAR NOT NULL
);

CREATE TABLE estimate (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    method       VARCHAR NOT NULL,     -- did2x2
    term         VARCHAR NOT NULL,     -- treated_x_post
    estimate     DOUBLE,
    std_error    DOUBLE,
    t_stat       DOUBLE,
    p_value      DOUBLE,
    ci_low       DOUBLE,
    ci_high      DOUBLE,
    df           DOUBLE,
    n_obs        INTEGER,
    n_treated    INTEGER,
    n_control    INTEGER,
    pre_years    VARCHAR,
    post_years   VARCHAR,
    log_outcome  BOOLEAN,
    vcov         VARCHAR,              -- how the standard error was computed
    means        VARCHAR,              -- JSON: the four cell means of the 2x2
    estimated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, cluster_id, indicator_id, method, term)
);
