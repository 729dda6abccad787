-- Schema version 11: lists are LIST columns, tests have their own table, placebo effects are kept
-- per region code.

-- Lists were comma-separated text; region codes and ids never contain a comma.
ALTER TABLE cluster ALTER treated TYPE VARCHAR[]
    USING CASE WHEN coalesce(treated, '') = '' THEN []::VARCHAR[] ELSE string_split(treated, ',') END;
ALTER TABLE cluster ALTER control TYPE VARCHAR[]
    USING CASE WHEN coalesce(control, '') = '' THEN []::VARCHAR[] ELSE string_split(control, ',') END;
ALTER TABLE cluster ALTER indicators TYPE VARCHAR[]
    USING CASE WHEN coalesce(indicators, '') = '' THEN []::VARCHAR[] ELSE string_split(indicators, ',') END;
ALTER TABLE estimate ALTER pre_years TYPE INTEGER[]
    USING CASE WHEN coalesce(pre_years, '') = '' THEN []::INTEGER[] ELSE string_split(pre_years, ',')::INTEGER[] END;
ALTER TABLE estimate ALTER post_years TYPE INTEGER[]
    USING CASE WHEN coalesce(post_years, '') = '' THEN []::INTEGER[] ELSE string_split(post_years, ',')::INTEGER[] END;

-- A test is not an estimate: its statistic, degrees of freedom and p-value in their own columns.
CREATE TABLE estimate_test (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    method       VARCHAR NOT NULL,     -- the design tested: event-study
    test         VARCHAR NOT NULL,     -- pretrend_wald: all leads zero
    statistic    DOUBLE,               -- F
    df1          INTEGER,              -- numerator degrees of freedom (rank of the leads' covariance)
    df2          DOUBLE,               -- denominator degrees of freedom (G - 1 with CR1); NULL for a chi-square
    p_value      DOUBLE,
    tested       INTEGER,              -- how many coefficients the hypothesis names
    description  VARCHAR,              -- how it was computed
    PRIMARY KEY (run_id, cluster_id, indicator_id, method, test)
);
INSERT INTO estimate_test
SELECT run_id, cluster_id, indicator_id, method, term, t_stat, CAST(df AS INTEGER), NULL, p_value,
       CAST(df AS INTEGER), vcov
FROM estimate WHERE term = 'pretrend_wald';
DELETE FROM estimate WHERE term = 'pretrend_wald';

-- Each region's placebo: the effect (and, for SC, the post/pre RMSPE ratio) when it pretends to be
-- treated. The p-values of the `:placebo` rows in `estimate` rank the real effect among these.
CREATE TABLE estimate_placebo (
    run_id       BIGINT NOT NULL,
    cluster_id   VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    method       VARCHAR NOT NULL,     -- did2x2, sc
    term         VARCHAR NOT NULL,     -- the effect's term: treated_x_post, treated_x_post[<region>], att
    region_code  VARCHAR NOT NULL,     -- the region that pretends to be treated
    effect       DOUBLE,
    rmspe_ratio  DOUBLE,               -- SC: post/pre root mean squared prediction error
    PRIMARY KEY (run_id, cluster_id, indicator_id, method, term, region_code)
);
