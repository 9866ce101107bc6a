//! Idempotency keys (`Idempotency-Key` on POSTs): claiming a key, saving the response
//! it produced, and what a handler's own transaction recorded it did (`outcome`).
//!
//! A key is claimed with one `INSERT … ON CONFLICT DO NOTHING`; only when that inserts
//! nothing is the existing row read to decide what the request gets (a replay, a 409 or
//! a 422). The response is saved with one `UPDATE` that holds the claim's `lock_token`,
//! so a request whose claim was taken over (abandoned after a crash) can never overwrite
//! the newer attempt's answer.

use super::{Store, StoreResult, on_pool};

/// fingerprint, state, lock_token, response_status, response_headers, response_body,
/// outcome, created_at, locked_at.
type KeyRow = (
    String,
    i64,
    String,
    i64,
    String,
    Option<Vec<u8>>,
    Option<String>,
    i64,
    i64,
);

/// The key a request holds while it runs, handed to handlers in the request's
/// extensions. Pass it to [`record_idempotency_outcome!`] inside the transaction that
/// makes the request's side effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// `store:{store_hash}` or `host:{host}`.
    pub scope: String,
    pub key: String,
    /// What an earlier attempt with this key recorded before it died (`order:123`), when
    /// this request took an abandoned claim over; `None` for a first attempt.
    pub outcome: Option<String>,
}

/// A response as saved for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedResponse {
    pub status: u16,
    /// The headers a client needs (content type, location, retry-after …), in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The request now holds the key: run it. `lock_token` proves the hold when the
    /// response is saved or the claim released; `outcome` is an abandoned attempt's.
    Started {
        lock_token: String,
        outcome: Option<String>,
    },
    /// The key already answered this same request: replay it.
    Done(SavedResponse),
    /// The same request is still running under this key.
    InFlight,
    /// The key was used with a different request.
    Mismatch,
}

/// The moments that decide whether an existing claim still counts.
#[derive(Clone, Copy, Debug)]
pub struct ClaimClock {
    pub now: i64,
    /// An in-flight claim locked at or before this is abandoned and may be taken over.
    pub abandoned_before: i64,
    /// A key created at or before this has expired and may be used afresh.
    pub expired_before: i64,
}

/// Records `$outcome` (`&str`, e.g. `"order:123"`) on `$claim` (an
/// `Option<&IdempotencyClaim>`) through `$exec` (a transaction), so the outcome is
/// committed exactly when the side effects are. Evaluates to `true` when recorded (or
/// when there is no claim), `false` when the claim already holds a *different* outcome
/// (an earlier attempt finished the job: roll back and answer with that one) or has
/// gone. Use inside a function whose error type converts from `sqlx::Error`.
macro_rules! record_idempotency_outcome {
    ($exec:expr, $claim:expr, $outcome:expr) => {{
        let claim: Option<&$crate::store::IdempotencyClaim> = $claim;
        match claim {
            None => true,
            Some(c) => {
                let outcome: &str = $outcome;
                $crate::store::statement::stmt(
                    "UPDATE idempotency_keys SET outcome = $3
                     WHERE scope = $1 AND idem_key = $2 AND (outcome IS NULL OR outcome = $3)",
                )
                .bind(&c.scope)
                .bind(&c.key)
                .bind(outcome)
                .execute(&mut *$exec)
                .await?
                .rows_affected()
                    == 1
            }
        }
    }};
}
pub(crate) use record_idempotency_outcome;

fn new_lock_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Store {
    /// Claims `(scope, key)` for a request with this fingerprint, or says why not.
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        clock: ClaimClock,
    ) -> StoreResult<Claimed> {
        // A row can change between the failed insert and the read (saved, released,
        // taken over): look again a few times before calling it in flight.
        for _ in 0..4 {
            let token = new_lock_token();
            let inserted = on_pool!(self, write, |p| {
                sqlx::query(
                    "INSERT INTO idempotency_keys
                        (scope, idem_key, fingerprint, state, lock_token, created_at, locked_at)
                     VALUES ($1, $2, $3, 0, $4, $5, $5)
                     ON CONFLICT DO NOTHING",
                )
                .bind(scope)
                .bind(key)
                .bind(fingerprint)
                .bind(&token)
                .bind(clock.now)
                .execute(p)
                .await?
                .rows_affected()
            });
            if inserted == 1 {
                return Ok(Claimed::Started {
                    lock_token: token,
                    outcome: None,
                });
            }
            let row: Option<KeyRow> = on_pool!(self, read, |p| {
                sqlx::query_as(
                    "SELECT fingerprint, state, lock_token, response_status, response_headers,
                            response_body, outcome, created_at, locked_at
                     FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
                )
                .bind(scope)
                .bind(key)
                .fetch_optional(p)
                .await?
            });
            let Some((
                stored_fingerprint,
                state,
                old_token,
                status,
                headers,
                body,
                outcome,
                created_at,
                locked_at,
            )) = row
            else {
                continue;
            };
            if created_at <= clock.expired_before {
                // Expired: the key starts a new life with this request.
                let n = on_pool!(self, write, |p| {
                    sqlx::query(
                        "UPDATE idempotency_keys SET fingerprint = $3, state = 0, lock_token = $4,
                            response_status = 0, response_headers = '[]', response_body = NULL,
                            outcome = NULL, created_at = $5, locked_at = $5
                         WHERE scope = $1 AND idem_key = $2 AND lock_token = $6 AND created_at = $7",
                    )
                    .bind(scope)
                    .bind(key)
                    .bind(fingerprint)
                    .bind(&token)
                    .bind(clock.now)
                    .bind(&old_token)
                    .bind(created_at)
                    .execute(p)
                    .await?
                    .rows_affected()
                });
                if n == 1 {
                    return Ok(Claimed::Started {
                        lock_token: token,
                        outcome: None,
                    });
                }
                continue;
            }
            if stored_fingerprint != fingerprint {
                return Ok(Claimed::Mismatch);
            }
            if state == 1 {
                return Ok(Claimed::Done(SavedResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    headers: serde_json::from_str(&headers)?,
                    body: body.unwrap_or_default(),
                }));
            }
            if locked_at > clock.abandoned_before {
                return Ok(Claimed::InFlight);
            }
            // Abandoned (the request that held it died): take it over, keeping what it
            // recorded it had done.
            let n = on_pool!(self, write, |p| {
                sqlx::query(
                    "UPDATE idempotency_keys SET lock_token = $3, locked_at = $4
                     WHERE scope = $1 AND idem_key = $2 AND state = 0 AND lock_token = $5",
                )
                .bind(scope)
                .bind(key)
                .bind(&token)
                .bind(clock.now)
                .bind(&old_token)
                .execute(p)
                .await?
                .rows_affected()
            });
            if n == 1 {
                // Read the outcome again: the dying attempt may have committed it since.
                let outcome = match self.idempotency_outcome(scope, key).await? {
                    Some(o) => Some(o),
                    None => outcome,
                };
                return Ok(Claimed::Started {
                    lock_token: token,
                    outcome,
                });
            }
        }
        Ok(Claimed::InFlight)
    }

    /// Saves the response of the request holding the claim. False when the claim is no
    /// longer this request's (taken over, or gone).
    pub async fn save_idempotent_response(
        &self,
        scope: &str,
        key: &str,
        lock_token: &str,
        response: &SavedResponse,
        now: i64,
    ) -> StoreResult<bool> {
        let headers = serde_json::to_string(&response.headers)?;
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE idempotency_keys SET state = 1, response_status = $4,
                    response_headers = $5, response_body = $6, locked_at = $7
                 WHERE scope = $1 AND idem_key = $2 AND lock_token = $3 AND state = 0",
            )
            .bind(scope)
            .bind(key)
            .bind(lock_token)
            .bind(i64::from(response.status))
            .bind(&headers)
            .bind(&response.body)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Lets go of a claim whose response is not to be replayed (401, 409, 5xx …), so a
    /// retry runs afresh. A claim that recorded an outcome is kept, unlocked, so the
    /// retry still learns what was done.
    pub async fn release_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        lock_token: &str,
    ) -> StoreResult<()> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "DELETE FROM idempotency_keys
                 WHERE scope = $1 AND idem_key = $2 AND lock_token = $3 AND state = 0
                   AND outcome IS NULL",
            )
            .bind(scope)
            .bind(key)
            .bind(lock_token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                sqlx::query(
                    "UPDATE idempotency_keys SET locked_at = 0
                     WHERE scope = $1 AND idem_key = $2 AND lock_token = $3 AND state = 0",
                )
                .bind(scope)
                .bind(key)
                .bind(lock_token)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// What a handler recorded for this key (`order:123`), if anything.
    pub async fn idempotency_outcome(&self, scope: &str, key: &str) -> StoreResult<Option<String>> {
        let outcome: Option<Option<String>> = on_pool!(self, read, |p| {
            sqlx::query_scalar(
                "SELECT outcome FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
            )
            .bind(scope)
            .bind(key)
            .fetch_optional(p)
            .await?
        });
        Ok(outcome.flatten())
    }

    /// Deletes keys created at or before `before`, at most `limit` at a time; returns
    /// how many went.
    pub async fn purge_idempotency_keys(&self, before: i64, limit: i64) -> StoreResult<u64> {
        let n = on_pool!(self, write, |p| {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE (scope, idem_key) IN
                   (SELECT scope, idem_key FROM idempotency_keys
                    WHERE created_at <= $1 ORDER BY created_at LIMIT $2)",
            )
            .bind(before)
            .bind(limit)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOCK: ClaimClock = ClaimClock {
        now: 1_000_000,
        abandoned_before: 1_000_000 - 60,
        expired_before: 1_000_000 - 86_400,
    };

    /// What the order-placement transaction will do: record the outcome in its own
    /// transaction.
    async fn record(store: &Store, claim: &IdempotencyClaim, outcome: &str) -> bool {
        let r: Result<bool, sqlx::Error> = on_pool!(store, write, |p| {
            async {
                let mut tx = p.begin().await?;
                let ok = record_idempotency_outcome!(tx, Some(claim), outcome);
                tx.commit().await?;
                Ok(ok)
            }
            .await
        });
        r.unwrap()
    }

    fn token(c: Claimed) -> (String, Option<String>) {
        match c {
            Claimed::Started {
                lock_token,
                outcome,
            } => (lock_token, outcome),
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn outcomes_survive_a_released_claim_and_reach_the_retry() {
        for store in crate::store::test_stores("idem").await {
            let claim = IdempotencyClaim {
                scope: "store:unit".into(),
                key: "k".into(),
                outcome: None,
            };
            let (lock, outcome) = token(
                store
                    .claim_idempotency_key("store:unit", "k", "fp", CLOCK)
                    .await
                    .unwrap(),
            );
            assert_eq!(outcome, None);
            assert_eq!(
                store
                    .claim_idempotency_key("store:unit", "k", "fp", CLOCK)
                    .await
                    .unwrap(),
                Claimed::InFlight
            );
            assert!(record(&store, &claim, "order:7").await);
            assert!(
                record(&store, &claim, "order:7").await,
                "same outcome again"
            );
            assert!(!record(&store, &claim, "order:8").await, "another outcome");
            assert_eq!(
                store.idempotency_outcome("store:unit", "k").await.unwrap(),
                Some("order:7".into())
            );
            // The attempt fails after its commit (a 5xx): the claim stays, unlocked.
            store
                .release_idempotency_key("store:unit", "k", &lock)
                .await
                .unwrap();
            assert_eq!(
                store
                    .claim_idempotency_key("store:unit", "k", "other", CLOCK)
                    .await
                    .unwrap(),
                Claimed::Mismatch
            );
            let (lock2, outcome) = token(
                store
                    .claim_idempotency_key("store:unit", "k", "fp", CLOCK)
                    .await
                    .unwrap(),
            );
            assert_eq!(outcome.as_deref(), Some("order:7"));
            // The old holder can no longer save; the new one can, and that is replayed.
            let saved = SavedResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: b"{\"data\":{\"id\":7}}".to_vec(),
            };
            assert!(
                !store
                    .save_idempotent_response("store:unit", "k", &lock, &saved, CLOCK.now)
                    .await
                    .unwrap()
            );
            assert!(
                store
                    .save_idempotent_response("store:unit", "k", &lock2, &saved, CLOCK.now)
                    .await
                    .unwrap()
            );
            assert_eq!(
                store
                    .claim_idempotency_key("store:unit", "k", "fp", CLOCK)
                    .await
                    .unwrap(),
                Claimed::Done(saved)
            );

            // Without an outcome, releasing forgets the key entirely.
            let (lock, _) = token(
                store
                    .claim_idempotency_key("store:unit", "k2", "fp", CLOCK)
                    .await
                    .unwrap(),
            );
            store
                .release_idempotency_key("store:unit", "k2", &lock)
                .await
                .unwrap();
            token(
                store
                    .claim_idempotency_key("store:unit", "k2", "another body", CLOCK)
                    .await
                    .unwrap(),
            );
            // No claim, nothing to record: the macro lets the transaction go on.
            let none: Result<bool, sqlx::Error> = on_pool!(store, write, |p| {
                async {
                    let mut tx = p.begin().await?;
                    let ok = record_idempotency_outcome!(tx, None, "order:1");
                    tx.commit().await?;
                    Ok(ok)
                }
                .await
            });
            assert!(none.unwrap());
            store.close().await;
        }
    }
}
