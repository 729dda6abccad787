//! Versioned schema migrations. Each runs in its own transaction with its version row, so a
//! warehouse is always at exactly one version.

use crate::error::{Context, WarehouseError};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/001_initial.sql")),
    (2, include_str!("migrations/002_indicator_catalogue.sql")),
    (3, include_str!("migrations/003_dimensions.sql")),
    (4, include_str!("migrations/004_run_steps.sql")),
    (5, include_str!("migrations/005_design_roles.sql")),
    (6, include_str!("migrations/006_estimate_panels.sql")),
    (7, include_str!("migrations/007_estimate_details.sql")),
    (8, include_str!("migrations/008_fetch_attempts.sql")),
    (9, include_str!("migrations/009_run_inputs.sql")),
    (10, include_str!("migrations/010_nulls_and_latest.sql")),
    (11, include_str!("migrations/011_lists_tests_placebos.sql")),
    (12, include_str!("migrations/012_unit_basis.sql")),
    (13, include_str!("migrations/013_document_catalog.sql")),
    (14, include_str!("migrations/014_municipality.sql")),
];

pub(crate) fn migrate(conn: &mut duckdb::Connection) -> Result<(), WarehouseError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
        .context("creating schema_migration")?;
    let current = current_version(conn)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction().context("beginning a migration")?;
        tx.execute_batch(sql)
            .context(&format!("migration {version}"))?;
        tx.execute("INSERT INTO schema_migration VALUES (?, now())", [version])
            .context("recording a migration")?;
        tx.commit()
            .context(&format!("committing migration {version}"))?;
        tracing::info!(version, "warehouse migrated");
    }
    Ok(())
}

pub(crate) fn current_version(conn: &duckdb::Connection) -> Result<i64, WarehouseError> {
    conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migration",
        [],
        |r| r.get(0),
    )
    .context("reading the schema version")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13: a warehouse of version 10 keeps its clusters, years and pre-trend tests when lists
    /// become LIST columns and tests move to their own table.
    #[test]
    fn version_11_converts_lists_and_moves_tests() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE schema_migration (version BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)").unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 10) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migration VALUES (?, now())", [version])
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO cluster VALUES ('c', 'C', '42000000000', '14000000000,20000000000', 2012, 'grp');
             INSERT INTO estimate (run_id, cluster_id, indicator_id, method, term, estimate, p_value, pre_years, post_years, estimated_at)
                 VALUES (1, 'c', 'grp', 'did2x2', 'treated_x_post', 0.1, 0.5, '2010,2011', '2012', now());
             INSERT INTO estimate (run_id, cluster_id, indicator_id, method, term, t_stat, p_value, df, vcov, pre_years, post_years, estimated_at)
                 VALUES (1, 'c', 'grp', 'event-study', 'pretrend_wald', 1.5, 0.2, 3, 'joint Wald F test of 3 leads', '', '', now());",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let control: String = conn
            .query_row("SELECT control::VARCHAR FROM cluster", [], |r| r.get(0))
            .unwrap();
        assert_eq!(control, "[14000000000, 20000000000]");
        let years: (i64, i64) = conn
            .query_row(
                "SELECT len(pre_years), post_years[1] FROM estimate WHERE term = 'treated_x_post'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(years, (2, 2012));
        let test: (String, f64, i64, f64) = conn
            .query_row(
                "SELECT test, statistic, df1, p_value FROM estimate_test",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(test, ("pretrend_wald".to_string(), 1.5, 3, 0.2));
        let left: i64 = conn
            .query_row("SELECT count(*) FROM estimate", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "the test row left estimate");
    }

    /// Issue 13: a warehouse of version 11 has its units split as the parser now splits them.
    #[test]
    fn version_12_splits_units_as_the_parser_does() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE schema_migration (version BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)").unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 11) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migration VALUES (?, now())", [version])
                .unwrap();
        }
        let units = [
            "в фактически действовавших ценах; миллионов рублей",
            "в соответствии с ОКОНХ; в фактически действовавших ценах; миллионов рублей",
            "по данным выборочных обследований рабочей силы; в процентах",
            "в сопоставимых ценах; в процентах к предыдущему году",
            "в процентах к предыдущему году",
            "рублей",
            "В текущих ценах",
            "",
        ];
        for (i, unit) in units.iter().enumerate() {
            conn.execute(
                "INSERT INTO observation (indicator_id, region_code, region_label, period, period_type, year, unit, status, document_sha256, sheet, cell, table_code, table_title, vintage, run_id)
                 VALUES ('x', 'r', 'R', ?, 'year', 2000, ?, 'ok', 's', 'S', ?, 't', 'T', now(), 1)",
                duckdb::params![i.to_string(), unit, format!("A{i}")],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        for (i, unit) in units.iter().enumerate() {
            let got: (String, Option<String>) = conn
                .query_row(
                    "SELECT unit, basis FROM observation WHERE period = ?",
                    [i.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                got,
                regstat_transform::unit::split_unit_line(unit),
                "{unit}"
            );
        }
    }
}
