//! Customer passwords: the rules a new password must meet, and how one is kept at rest.
//!
//! # Rules (what the storefront's checkout settings advertise to the Checkout SDK)
//! - [`MIN_CHARS`] to [`MAX_CHARS`] characters, counted as the shopper typed them (no
//!   trimming: spaces are part of a password);
//! - at least one letter and at least one digit.
//!
//! # At rest
//! PBKDF2 with HMAC-SHA-256 (RFC 8018), a random 16-byte salt per password and
//! [`ITERATIONS`] rounds, stored as `pbkdf2-sha256$<rounds>$<salt hex>$<key hex>`. The
//! rounds are part of the stored string, so raising [`ITERATIONS`] later keeps older
//! hashes verifiable. Verification compares in constant time.

use super::DomainError;
use sha2::{Digest, Sha256};

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;
/// PBKDF2-HMAC-SHA256 rounds for new hashes (OWASP's 2023 recommendation).
pub const ITERATIONS: u32 = 600_000;
const SCHEME: &str = "pbkdf2-sha256";
const KEY_BYTES: usize = 32;
const BLOCK: usize = 64;

/// Checks a password a customer is given (`field` names it in the error).
pub fn validate_new_password(field: &str, password: &str) -> Result<(), DomainError> {
    let n = password.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&n) {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` must be {MIN_CHARS} to {MAX_CHARS} characters."),
        ));
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(DomainError::field(
            field,
            format!("The field `{field}` must contain both letters and digits."),
        ));
    }
    Ok(())
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The state after absorbing one 64-byte block.
fn absorb(state: [u32; 8], block: &[u8; BLOCK]) -> [u32; 8] {
    let mut s = state;
    sha2::compress256(&mut s, &[(*block).into()]);
    s
}

/// HMAC-SHA-256 (RFC 2104) with the key's inner and outer states absorbed once, so each
/// MAC of a 32-byte message costs two compressions; PBKDF2's loop is nothing else.
struct Hmac {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Hmac {
    fn new(key: &[u8]) -> Self {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        Hmac {
            inner: absorb(SHA256_IV, &k.map(|b| b ^ 0x36)),
            outer: absorb(SHA256_IV, &k.map(|b| b ^ 0x5c)),
        }
    }

    /// The MAC of any message (used once per PBKDF2 block, for the salt).
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut msg = Vec::new();
        for p in parts {
            msg.extend_from_slice(p);
        }
        // The message follows the 64 key bytes already absorbed.
        let inner = finish(self.inner, BLOCK, &msg);
        finish(self.outer, BLOCK, &inner)
    }

    /// The MAC of a 32-byte message, from and to state words.
    fn mac_words(&self, msg: &[u32; 8], pad: &mut [u8; BLOCK]) -> [u32; 8] {
        put_words(pad, msg);
        let inner = absorb(self.inner, pad);
        put_words(pad, &inner);
        absorb(self.outer, pad)
    }
}

/// The first 32 bytes of `pad` set to these words, big-endian.
fn put_words(pad: &mut [u8; BLOCK], words: &[u32; 8]) {
    for (chunk, w) in pad.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}

fn bytes_of(words: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// SHA-256 of (`done` bytes already absorbed into `state`) + `msg`: pads and finishes.
fn finish(state: [u32; 8], done: usize, msg: &[u8]) -> [u8; 32] {
    let mut data = msg.to_vec();
    data.push(0x80);
    while data.len() % BLOCK != BLOCK - 8 {
        data.push(0);
    }
    let bits = ((done + msg.len()) as u64).wrapping_mul(8);
    data.extend_from_slice(&bits.to_be_bytes());
    let mut s = state;
    for block in data.chunks_exact(BLOCK) {
        let mut b = [0u8; BLOCK];
        b.copy_from_slice(block);
        s = absorb(s, &b);
    }
    bytes_of(&s)
}

/// PBKDF2-HMAC-SHA256 for a 32-byte key (one block: `T_1`).
fn pbkdf2(password: &[u8], salt: &[u8], rounds: u32) -> [u8; KEY_BYTES] {
    let prf = Hmac::new(password);
    let first = prf.mac(&[salt, &1u32.to_be_bytes()]);
    let mut u = [0u32; 8];
    for (w, chunk) in u.iter_mut().zip(first.chunks_exact(4)) {
        *w = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let mut t = u;
    // A 32-byte message after the 64-byte key block, padded: 0x80, zeros, 768 bits.
    let mut pad = [0u8; BLOCK];
    pad[32] = 0x80;
    pad[56..].copy_from_slice(&(((BLOCK + 32) * 8) as u64).to_be_bytes());
    for _ in 1..rounds {
        u = prf.mac_words(&u, &mut pad);
        for (a, b) in t.iter_mut().zip(u) {
            *a ^= b;
        }
    }
    bytes_of(&t)
}

/// The stored form of `password` with this salt (the caller draws a random one).
pub fn hash_password(password: &str, salt: &[u8; 16]) -> String {
    hash_with(password, salt, ITERATIONS)
}

fn hash_with(password: &str, salt: &[u8], rounds: u32) -> String {
    let key = pbkdf2(password.as_bytes(), salt, rounds);
    format!(
        "{SCHEME}${rounds}${}${}",
        hex::encode(salt),
        hex::encode(key)
    )
}

/// True when `password` is the one `stored` was made from. A malformed or empty
/// `stored` (a customer without a password) matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(rounds), Some(salt), Some(key), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(key)) =
        (rounds.parse::<u32>(), hex::decode(salt), hex::decode(key))
    else {
        return false;
    };
    if rounds == 0 || key.len() != KEY_BYTES {
        return false;
    }
    let got = pbkdf2(password.as_bytes(), &salt, rounds);
    got.iter().zip(&key).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A stored hash that no password matches, verified against when an email is unknown
/// so that the answer takes as long as for a known one.
pub fn decoy_hash() -> String {
    // The key is all zeros: PBKDF2 output that no input is known to produce.
    format!(
        "{SCHEME}${ITERATIONS}${}${}",
        "00".repeat(16),
        "00".repeat(KEY_BYTES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7914 section 11's PBKDF2-HMAC-SHA256 vector (first 32 bytes), and the
    /// commonly published `password`/`salt` ones.
    #[test]
    fn pbkdf2_matches_published_vectors() {
        assert_eq!(
            hex::encode(pbkdf2(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        assert_eq!(
            hex::encode(pbkdf2(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex::encode(pbkdf2(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn hmac_long_keys_are_hashed_first() {
        // RFC 4231 test case 6: a 131-byte key.
        let key = [0xaau8; 131];
        let mac = Hmac::new(&key).mac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn verify_round_trips_and_refuses_others() {
        let stored = hash_with("s3cret-pass", b"0123456789abcdef", 10);
        assert!(stored.starts_with("pbkdf2-sha256$10$"));
        assert!(verify_password("s3cret-pass", &stored));
        assert!(!verify_password("s3cret-pasS", &stored));
        assert!(!verify_password("", &stored));
        assert!(!verify_password("s3cret-pass", ""));
        assert!(!verify_password("s3cret-pass", "pbkdf2-sha256$0$00$00"));
        assert!(!verify_password(
            "anything",
            &decoy_hash().replace("600000", "2")
        ));
    }

    #[test]
    fn new_passwords_need_length_letters_and_digits() {
        assert!(validate_new_password("p", "abcdefg1").is_ok());
        assert!(validate_new_password("p", "abcdef1").is_err());
        assert!(validate_new_password("p", "abcdefgh").is_err());
        assert!(validate_new_password("p", "12345678").is_err());
        assert!(validate_new_password("p", &format!("a1{}", "x".repeat(127))).is_err());
    }
}
