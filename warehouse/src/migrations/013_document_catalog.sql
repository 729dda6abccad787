-- Schema version 13: what publishers list, fetched and parsed or not. `document_listing` keeps what
-- the list pages said; the `document_catalog` view adds what became of each document.
CREATE TABLE document_listing (
    source_id    VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    title        VARCHAR,
    found_on     VARCHAR NOT NULL,     -- the list page it was listed on
    published_on DATE,                 -- the date the list gives
    size         VARCHAR,              -- the size as listed («45.1 Кб»)
    doc_type     VARCHAR NOT NULL,     -- the file's extension: xlsx, xls, rar, zip, docx, doc, pdf ('' if none)
    first_seen   TIMESTAMP NOT NULL,
    last_seen    TIMESTAMP NOT NULL,
    last_run_id  BIGINT,
    PRIMARY KEY (source_id, url)
);

CREATE VIEW document_catalog AS
WITH latest_document AS (
    SELECT url, sha256, fetched_at, load_status, error
    FROM source_document
    QUALIFY row_number() OVER (PARTITION BY url ORDER BY fetched_at DESC) = 1
), latest_attempt AS (
    SELECT url, outcome, error
    FROM fetch_attempt
    QUALIFY row_number() OVER (PARTITION BY url ORDER BY attempted_at DESC) = 1
)
SELECT l.source_id, l.url, l.title, l.found_on, l.published_on, l.size, l.doc_type,
       l.first_seen, l.last_seen, d.sha256, d.fetched_at,
       CASE
           WHEN d.load_status = 'loaded' THEN 'parsed'
           WHEN d.load_status = 'loaded_with_problems' THEN 'parsed_with_problems'
           WHEN d.load_status IS NOT NULL THEN 'failed'
           WHEN a.outcome = 'failed' THEN 'fetch_failed'
           WHEN l.doc_type IN ('xlsx', 'xls', 'zip', 'rar', 'xml', 'docx', 'htm', 'html') THEN 'not_fetched'
           ELSE 'unsupported_type'
       END AS status,
       coalesce(d.error, a.error) AS error
FROM document_listing l
LEFT JOIN latest_document d ON d.url = l.url
LEFT JOIN latest_attempt a ON a.url = l.url;
