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
