//! PostgreSQL: the first planner statistics of tables that have rows but none yet.
//!
//! A pooled connection keeps the plan PostgreSQL chose for a prepared statement until the
//! statistics of its tables change. On a new database the plans are made while the tables
//! hold a few rows and have no statistics, and some look an order up by its store alone
//! and then filter every order the store has: each payment then costs more the more orders
//! there are (BENCHMARKS.md, 2026-11-25). Autovacuum's first ANALYZE replaces them, but
//! only at its next round (`autovacuum_naptime`, a minute by default); this gets there
//! within seconds of the first orders. Tables with statistics are autovacuum's alone.

use super::{Db, Store, StoreResult};

impl Store {
    /// PostgreSQL: ANALYZEs the tables of the current schema that were never analyzed,
    /// by hand or by autovacuum, and now hold at least `min_rows` rows; returns their
    /// names. Nothing on SQLite.
    pub async fn analyze_tables_without_statistics(
        &self,
        min_rows: i64,
    ) -> StoreResult<Vec<String>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Vec::new());
        };
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT quote_ident(relname) FROM pg_stat_user_tables
             WHERE schemaname = current_schema() AND last_analyze IS NULL
               AND last_autoanalyze IS NULL AND n_live_tup >= $1
             ORDER BY relname",
        )
        .bind(min_rows)
        .fetch_all(pool)
        .await?;
        if !tables.is_empty() {
            // The names come quoted from the catalog itself.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ANALYZE {}",
                tables.join(", ")
            )))
            .execute(pool)
            .await?;
        }
        Ok(tables)
    }
}
