//! A small migrator: the SQL files are compiled into the binary, applied in order,
//! each in its own transaction, and recorded in `kassa_migrations`. On PostgreSQL an
//! advisory lock keeps nodes that start together from racing.

use super::{Db, StoreError, StoreResult};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "0002_config_docs",
        sqlite: include_str!("../../migrations/sqlite/0002_config_docs.sql"),
        postgres: include_str!("../../migrations/postgres/0002_config_docs.sql"),
    },
    Migration {
        version: 3,
        name: "0003_checkout_tokens",
        sqlite: include_str!("../../migrations/sqlite/0003_checkout_tokens.sql"),
        postgres: include_str!("../../migrations/postgres/0003_checkout_tokens.sql"),
    },
    Migration {
        version: 4,
        name: "0004_promotions_orders",
        sqlite: include_str!("../../migrations/sqlite/0004_promotions_orders.sql"),
        postgres: include_str!("../../migrations/postgres/0004_promotions_orders.sql"),
    },
    Migration {
        version: 5,
        name: "0005_payments",
        sqlite: include_str!("../../migrations/sqlite/0005_payments.sql"),
        postgres: include_str!("../../migrations/postgres/0005_payments.sql"),
    },
    Migration {
        version: 6,
        name: "0006_order_lifecycle",
        sqlite: include_str!("../../migrations/sqlite/0006_order_lifecycle.sql"),
        postgres: include_str!("../../migrations/postgres/0006_order_lifecycle.sql"),
    },
    Migration {
        version: 7,
        name: "0007_idempotency",
        sqlite: include_str!("../../migrations/sqlite/0007_idempotency.sql"),
        postgres: include_str!("../../migrations/postgres/0007_idempotency.sql"),
    },
    Migration {
        version: 8,
        name: "0008_webhooks",
        sqlite: include_str!("../../migrations/sqlite/0008_webhooks.sql"),
        postgres: include_str!("../../migrations/postgres/0008_webhooks.sql"),
    },
    Migration {
        version: 9,
        name: "0009_order_admin",
        sqlite: include_str!("../../migrations/sqlite/0009_order_admin.sql"),
        postgres: include_str!("../../migrations/postgres/0009_order_admin.sql"),
    },
    Migration {
        version: 10,
        name: "0010_abandoned_carts",
        sqlite: include_str!("../../migrations/sqlite/0010_abandoned_carts.sql"),
        postgres: include_str!("../../migrations/postgres/0010_abandoned_carts.sql"),
    },
    Migration {
        version: 11,
        name: "0011_payment_instruments",
        sqlite: include_str!("../../migrations/sqlite/0011_payment_instruments.sql"),
        postgres: include_str!("../../migrations/postgres/0011_payment_instruments.sql"),
    },
    Migration {
        version: 12,
        name: "0012_order_metafields",
        sqlite: include_str!("../../migrations/sqlite/0012_order_metafields.sql"),
        postgres: include_str!("../../migrations/postgres/0012_order_metafields.sql"),
    },
    Migration {
        version: 13,
        name: "0013_transaction_numbers",
        sqlite: include_str!("../../migrations/sqlite/0013_transaction_numbers.sql"),
        postgres: include_str!("../../migrations/postgres/0013_transaction_numbers.sql"),
    },
    Migration {
        version: 14,
        name: "0014_shopper_sessions",
        sqlite: include_str!("../../migrations/sqlite/0014_shopper_sessions.sql"),
        postgres: include_str!("../../migrations/postgres/0014_shopper_sessions.sql"),
    },
    Migration {
        version: 15,
        name: "0015_pending_refunds",
        sqlite: include_str!("../../migrations/sqlite/0015_pending_refunds.sql"),
        postgres: include_str!("../../migrations/postgres/0015_pending_refunds.sql"),
    },
    Migration {
        version: 16,
        name: "0016_owner_client_ids",
        sqlite: include_str!("../../migrations/sqlite/0016_owner_client_ids.sql"),
        postgres: include_str!("../../migrations/postgres/0016_owner_client_ids.sql"),
    },
    Migration {
        version: 17,
        name: "0017_customer_passwords",
        sqlite: include_str!("../../migrations/sqlite/0017_customer_passwords.sql"),
        postgres: include_str!("../../migrations/postgres/0017_customer_passwords.sql"),
    },
    Migration {
        version: 18,
        name: "0018_discount_codes",
        sqlite: include_str!("../../migrations/sqlite/0018_discount_codes.sql"),
        postgres: include_str!("../../migrations/postgres/0018_discount_codes.sql"),
    },
    Migration {
        version: 19,
        name: "0019_customer_addresses",
        sqlite: include_str!("../../migrations/sqlite/0019_customer_addresses.sql"),
        postgres: include_str!("../../migrations/postgres/0019_customer_addresses.sql"),
    },
    Migration {
        version: 20,
        name: "0020_hosted_page_carts",
        sqlite: include_str!("../../migrations/sqlite/0020_hosted_page_carts.sql"),
        postgres: include_str!("../../migrations/postgres/0020_hosted_page_carts.sql"),
    },
    Migration {
        version: KEYED_IN_RUST,
        name: "0021_coupon_names",
        sqlite: include_str!("../../migrations/sqlite/0021_coupon_names.sql"),
        postgres: include_str!("../../migrations/postgres/0021_coupon_names.sql"),
    },
    Migration {
        version: 23,
        name: "0023_query_plans",
        sqlite: include_str!("../../migrations/sqlite/0023_query_plans.sql"),
        postgres: include_str!("../../migrations/postgres/0023_query_plans.sql"),
    },
    Migration {
        version: 26,
        name: "0026_document_compression",
        sqlite: include_str!("../../migrations/sqlite/0026_document_compression.sql"),
        postgres: include_str!("../../migrations/postgres/0026_document_compression.sql"),
    },
    Migration {
        version: 27,
        name: "0027_cart_product_ids",
        sqlite: include_str!("../../migrations/sqlite/0027_cart_product_ids.sql"),
        postgres: include_str!("../../migrations/postgres/0027_cart_product_ids.sql"),
    },
    Migration {
        version: 28,
        name: "0028_placement_refusal",
        sqlite: include_str!("../../migrations/sqlite/0028_placement_refusal.sql"),
        postgres: include_str!("../../migrations/postgres/0028_placement_refusal.sql"),
    },
    Migration {
        version: 29,
        name: "0029_use_slots",
        sqlite: include_str!("../../migrations/sqlite/0029_use_slots.sql"),
        postgres: include_str!("../../migrations/postgres/0029_use_slots.sql"),
    },
];

/// The migration after whose SQL Kassa keys the stored discount codes and coupon names
/// itself (`config_docs::key_codes_and_names`), in the same transaction.
const KEYED_IN_RUST: i64 = 21;

/// The statements of migration 18 that index the codes already stored (SQLite,
/// PostgreSQL), for a test to run again over documents written without the index.
#[cfg(test)]
pub(super) fn discount_codes_backfill() -> (&'static str, &'static str) {
    let after = |sql: &'static str| {
        sql.find("-- The codes stored so far")
            .map_or(sql, |at| &sql[at..])
    };
    let m = MIGRATIONS
        .iter()
        .find(|m| m.version == 18)
        .unwrap_or_else(|| unreachable!("migration 18 is listed"));
    (after(m.sqlite), after(m.postgres))
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS kassa_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

pub(super) async fn run(db: &Db) -> StoreResult<usize> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut applied = 0;
    match db {
        Db::Sqlite { write, .. } => {
            // Before serving, straight on the pool: migrations are not batched.
            let write = write.pool();
            sqlx::raw_sql(CREATE_TABLE).execute(write).await?;
            for m in MIGRATIONS {
                let mut tx = write.begin().await?;
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM kassa_migrations WHERE version = $1")
                        .bind(m.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_some() {
                    continue;
                }
                sqlx::raw_sql(m.sqlite)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::Migration(m.name.into(), e))?;
                if m.version == KEYED_IN_RUST {
                    super::config_docs::key_codes_and_names(&mut *tx)
                        .await
                        .map_err(|e| StoreError::Migration(m.name.into(), e))?;
                }
                sqlx::query(
                    "INSERT INTO kassa_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                applied += 1;
            }
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(7243110)")
                .execute(&mut *conn)
                .await?;
            let result: StoreResult<usize> = async {
                sqlx::raw_sql(CREATE_TABLE).execute(&mut *conn).await?;
                let mut n = 0;
                for m in MIGRATIONS {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    let done: Option<i64> = sqlx::query_scalar(
                        "SELECT version FROM kassa_migrations WHERE version = $1",
                    )
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if done.is_some() {
                        continue;
                    }
                    sqlx::raw_sql(m.postgres)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| StoreError::Migration(m.name.into(), e))?;
                    if m.version == KEYED_IN_RUST {
                        super::config_docs::key_codes_and_names(&mut *tx)
                            .await
                            .map_err(|e| StoreError::Migration(m.name.into(), e))?;
                    }
                    sqlx::query("INSERT INTO kassa_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(m.version)
                        .bind(m.name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    n += 1;
                }
                Ok(n)
            }
            .await;
            sqlx::query("SELECT pg_advisory_unlock(7243110)")
                .execute(&mut *conn)
                .await?;
            applied = result?;
        }
    }
    Ok(applied)
}
