//! Customers signing in and out of a storefront session (the Checkout SDK's
//! `signInCustomer` / `signOutCustomer`), and the passwords that lets them.
//!
//! # Checking credentials (sign-in, and Customers V3 `validate-credentials`)
//! - The email and password are checked against the customer's stored password hash
//!   (see [`crate::domain::password`]); an unknown email, a customer without a
//!   password, a customer not allowed on the storefront's channel and a wrong password
//!   all fail alike ([`Refusal::InvalidCredentials`], one message), and an unknown
//!   email is checked against a decoy hash so it costs the same time.
//! - Failed attempts count per store and email (known or not) with the storefront's
//!   spam-protection limits: after
//!   [`SPAM_FAILURE_LIMIT`](super::storefront::SPAM_FAILURE_LIMIT) failures within
//!   [`SPAM_WINDOW_SECS`], further attempts for that email are refused (429) until the
//!   window has passed, even with the right password. A success clears the count.
//! - On success the shopper's session is **replaced** by a new one (a new token, so a
//!   token planted before sign-in is worthless afterwards) that records the customer;
//!   the shopper's live carts move to it and carry the customer's id from then on
//!   (repriced as that customer, store credit of anyone else removed).
//!
//! # Creating an account
//! The Checkout SDK's `createCustomerAccount` opens an account (email free in any case,
//! names as the Customers API requires, a password of 8–128 characters with letters and
//! digits) and then signs the shopper in exactly as above.
//!
//! Every attempt (opened or refused) counts against the client's network address with
//! the storefront's spam-protection limits: after
//! [`SPAM_FAILURE_LIMIT`](super::storefront::SPAM_FAILURE_LIMIT) attempts within
//! [`SPAM_WINDOW_SECS`], further ones from that address are refused (429) for the rest
//! of the window, unless the request's spam-protection `token` passes the deployment's
//! [`SpamCheck`](super::storefront::SpamCheck) (the default one passes none). Counting
//! refusals too keeps the "email already has an account" answer from serving as a
//! quick way to test which emails have accounts.
//!
//! # Signing out
//! The session is replaced again by a guest one; the carts stay with the shopper but
//! become guest carts again (customer id 0, no store credit applied). Signing out with
//! no one signed in changes nothing.

use super::customers::CUSTOMER_COUNTER;
use super::storefront::{
    SESSION_LIFETIME_SECS, SPAM_WINDOW_SECS, ShopperSession, shopper_principal,
};
use super::{Kassa, Refusal, ServiceError, ServiceResult, hash_secret, random_secret};
use crate::domain::DomainError;
use crate::domain::customer::{Customer, CustomerInput, build_customer, email_key};
use crate::domain::customer_address::CustomerAddress;
use crate::domain::password::validate_new_password;
use crate::domain::password::{decoy_hash, hash_password, verify_password};
use crate::store::{ShopperSessionRow, StoreRecord};
use uuid::Uuid;

/// The one answer to every failed sign-in, so it never tells whether the email exists.
pub const INVALID_CREDENTIALS: &str = "The email address or password you entered is not valid.";

/// The channel the storefront sells in.
const STOREFRONT_CHANNEL: i64 = 1;

/// A signed-in shopper's customer record and saved addresses (the checkout's `customer`).
pub struct ShopperCustomer {
    pub customer: Customer,
    pub addresses: Vec<CustomerAddress>,
}

/// What the Checkout SDK's `createCustomerAccount` sends.
pub struct ShopperAccount {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password: String,
    /// Who asks (the client's network address): accounts opened per client are limited.
    pub client: String,
    /// The token of a human check (the SDK's spam-protection `token`), if the page ran one.
    pub spam_token: Option<String>,
}

/// A session that just changed hands: its token (to set as the cookie) and the row.
pub struct RotatedSession {
    pub token: String,
    pub session: ShopperSession,
}

/// The spam-protection key of an email: the same for every spelling of it.
fn email_lock_key(email: &str) -> Uuid {
    let h = hash_secret(&format!("kassa-sign-in:{}", email_key(email)));
    let bytes = hex::decode(&h[..32]).unwrap_or_default();
    Uuid::from_slice(&bytes).unwrap_or_default()
}

/// The spam-protection key of a client address.
fn client_lock_key(client: &str) -> Uuid {
    let h = hash_secret(&format!("kassa-new-account:{client}"));
    let bytes = hex::decode(&h[..32]).unwrap_or_default();
    Uuid::from_slice(&bytes).unwrap_or_default()
}

/// Hashes a new password off the async runtime (PBKDF2 is deliberately slow).
pub(crate) async fn hash_new_password(password: String) -> String {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let p = password.clone();
    match tokio::task::spawn_blocking(move || hash_password(&p, &salt)).await {
        Ok(h) => h,
        Err(_) => hash_password(&password, &salt),
    }
}

async fn check_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

fn invalid_credentials() -> ServiceError {
    ServiceError::Refused(
        Refusal::InvalidCredentials,
        DomainError::invalid(INVALID_CREDENTIALS),
    )
}

impl Kassa {
    /// The customer a storefront cart or session belongs to, with the addresses they
    /// saved, if any (and still there).
    pub async fn cart_customer(
        &self,
        store: &StoreRecord,
        customer_id: i64,
    ) -> ServiceResult<Option<ShopperCustomer>> {
        if customer_id == 0 {
            return Ok(None);
        }
        let Some(customer) = self.store.customer(store.id, customer_id).await? else {
            return Ok(None);
        };
        let addresses = self
            .store
            .addresses_of_customers(store.id, &[customer_id])
            .await?;
        Ok(Some(ShopperCustomer {
            customer,
            addresses,
        }))
    }

    /// Opens an account for the shopper (the Checkout SDK's `createCustomerAccount`) and
    /// signs it in as sign-in does (see the module docs). The email must be free (any
    /// case); the password follows the Customers API's rules.
    pub async fn create_shopper_account(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        account: &ShopperAccount,
    ) -> ServiceResult<(RotatedSession, ShopperCustomer)> {
        self.count_account_attempt(store, account)?;
        let input = CustomerInput {
            email: Some(account.email.clone()),
            first_name: Some(account.first_name.clone()),
            last_name: Some(account.last_name.clone()),
            ..Default::default()
        };
        let draft = build_customer(None, 0, &input, self.now())?;
        validate_new_password("password", &account.password)?;
        let taken = || {
            ServiceError::from(DomainError::field(
                "email",
                "An account already exists for this email address: sign in instead.",
            ))
        };
        if self
            .store
            .customer_by_email(store.id, &draft.email)
            .await?
            .is_some()
        {
            return Err(taken());
        }
        let hash = hash_new_password(account.password.clone()).await;
        let id = self.store.next_ids(store.id, CUSTOMER_COUNTER, 1).await?;
        let customer = Customer { id, ..draft };
        match self
            .store
            .insert_customers(store.id, std::slice::from_ref(&customer), &[Some(hash)])
            .await
        {
            Ok(()) => {}
            Err(e) if e.unique_violation() => return Err(taken()),
            Err(e) => return Err(e.into()),
        }
        let rotated = self.hand_session_to(store, session, customer.id).await?;
        Ok((
            rotated,
            ShopperCustomer {
                customer,
                addresses: Vec::new(),
            },
        ))
    }

    /// Counts an attempt to open an account towards its client's limit (see the module
    /// docs); refuses it (429) once the client is over the limit, unless the request
    /// carries a token the deployment's human check accepts.
    fn count_account_attempt(
        &self,
        store: &StoreRecord,
        account: &ShopperAccount,
    ) -> ServiceResult<()> {
        let key = client_lock_key(&account.client);
        let now = self.now();
        if self.account_guard.required(store.id, key, now) {
            let human = account
                .spam_token
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty() && self.spam.check.verify(t));
            if !human {
                return Err(ServiceError::RateLimited(
                    "Too many accounts were opened from this address: try again later.".into(),
                    SPAM_WINDOW_SECS,
                ));
            }
        }
        self.account_guard.failed(store.id, key, now);
        Ok(())
    }

    /// The customer these credentials are for, if they are right for this channel (see
    /// the module docs: one refusal for every wrong case, and the per-email lock).
    pub async fn check_customer_credentials(
        &self,
        store: &StoreRecord,
        email: &str,
        password: &str,
        channel_id: i64,
    ) -> ServiceResult<Customer> {
        if email.trim().is_empty() {
            return Err(DomainError::field("email", "The field `email` is required.").into());
        }
        if password.is_empty() {
            return Err(DomainError::field("password", "The field `password` is required.").into());
        }
        let lock = email_lock_key(email);
        let now = self.now();
        if self.sign_in_guard.required(store.id, lock, now) {
            return Err(ServiceError::RateLimited(
                "Too many failed sign-ins for this email address: try again later.".into(),
                SPAM_WINDOW_SECS,
            ));
        }
        let found = self.store.customer_password(store.id, email).await?;
        let stored = found
            .as_ref()
            .map(|(_, h)| h.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(decoy_hash);
        let matches = check_password(password.to_string(), stored).await && found.is_some();
        let customer = match found {
            Some((id, _)) if matches => self.store.customer(store.id, id).await?,
            _ => None,
        }
        .filter(|c| c.can_use_channel(channel_id));
        let Some(customer) = customer else {
            self.sign_in_guard.failed(store.id, lock, now);
            return Err(invalid_credentials());
        };
        self.sign_in_guard.clear(store.id, lock);
        Ok(customer)
    }

    /// Signs a customer into the shopper's session (see the module docs). Returns the
    /// replacement session and the customer.
    pub async fn sign_in_shopper(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        email: &str,
        password: &str,
    ) -> ServiceResult<(RotatedSession, ShopperCustomer)> {
        let customer = self
            .check_customer_credentials(store, email, password, STOREFRONT_CHANNEL)
            .await?;
        let rotated = self.hand_session_to(store, session, customer.id).await?;
        let addresses = self
            .store
            .addresses_of_customers(store.id, &[customer.id])
            .await?;
        Ok((
            rotated,
            ShopperCustomer {
                customer,
                addresses,
            },
        ))
    }

    /// Signs the customer out of the shopper's session (see the module docs). `None`
    /// when no one was signed in (nothing changes).
    pub async fn sign_out_shopper(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
    ) -> ServiceResult<Option<RotatedSession>> {
        match session {
            Some(s) if s.customer_id != 0 => {
                Ok(Some(self.hand_session_to(store, session, 0).await?))
            }
            _ => Ok(None),
        }
    }

    /// Gives the shopper's carts to `customer_id` (0: a guest), then replaces the
    /// session by one for that customer. The carts change first: should replacing the
    /// session fail, a retry finds the same carts and the old session still working.
    async fn hand_session_to(
        &self,
        store: &StoreRecord,
        session: Option<&ShopperSession>,
        customer_id: i64,
    ) -> ServiceResult<RotatedSession> {
        let now = self.now();
        if let Some(s) = session {
            let who = shopper_principal(store);
            for id in self.store.shopper_cart_ids(store.id, s.id, now).await? {
                match self.set_shopper_cart_customer(&who, id, customer_id).await {
                    Ok(()) | Err(ServiceError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let token = random_secret();
        let row = ShopperSessionRow {
            id: Uuid::new_v4(),
            store_id: store.id,
            customer_id,
            expires_at: now + SESSION_LIFETIME_SECS,
        };
        match session {
            Some(s) => {
                self.store
                    .rotate_shopper_session(s.id, &hash_secret(&token), &row, now)
                    .await?
            }
            None => {
                self.store
                    .insert_shopper_session(&hash_secret(&token), &row, now)
                    .await?
            }
        }
        Ok(RotatedSession {
            token,
            session: row,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_key_ignores_case_and_spaces_only() {
        assert_eq!(
            email_lock_key("Sam@Example.com "),
            email_lock_key("sam@example.com")
        );
        assert_ne!(
            email_lock_key("sam@example.com"),
            email_lock_key("kim@example.com")
        );
        assert_ne!(email_lock_key("sam@example.com"), Uuid::nil());
    }
}
