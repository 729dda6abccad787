-- Every fetch a run made (the list pages and each document), whatever became of it: a truncated or
-- timed-out download leaves no document, but its attempt is here with its error.
CREATE TABLE fetch_attempt (
    run_id       BIGINT NOT NULL,
    source_id    VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,     -- the URL's file name, percent-decoded
    attempted_at TIMESTAMP NOT NULL,
    outcome      VARCHAR NOT NULL,     -- fetched, unchanged (304 or same bytes), failed
    http_status  INTEGER,
    sha256       VARCHAR,              -- the document stored or kept, if any
    bytes        BIGINT,
    error        VARCHAR,              -- why it failed, after the configured retries
    detail       VARCHAR               -- what was asked for: EMISS values asked/offered per field
);
