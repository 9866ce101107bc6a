//! The quick version of the `cargo fuzz` targets, on stable, in every `cargo test`: each
//! target's property (`fuzz/checks/`) over its committed seeds, over a local corpus when
//! one exists (`fuzz/corpus/<target>`, left by `scripts/fuzz-parsers.sh`), and over
//! random and mutated inputs. The coverage-guided runs are by command (RELIABILITY.md).

use proptest::prelude::*;
use std::path::Path;
use std::sync::LazyLock;

mod money {
    include!("../fuzz/checks/money.rs");
}

mod request_bodies {
    include!("../fuzz/checks/request_bodies.rs");
}

/// Every file under `fuzz/<dir>/<target>` (none when the directory is absent).
fn inputs(dir: &str, target: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect()
}

#[test]
fn money_holds_for_its_seeds_and_local_corpus() {
    let seeds = inputs("seeds", "money");
    assert!(seeds.len() >= 5, "the money seeds are missing");
    for input in seeds.iter().chain(&inputs("corpus", "money")) {
        money::check(input);
    }
}

#[test]
fn request_bodies_hold_for_their_seeds_and_local_corpus() {
    let seeds = inputs("seeds", "request_bodies");
    assert!(seeds.len() >= 7, "the request body seeds are missing");
    for input in seeds.iter().chain(&inputs("corpus", "request_bodies")) {
        request_bodies::check(input);
    }
}

/// Read once for all the mutation cases.
static REQUEST_BODY_SEEDS: LazyLock<Vec<Vec<u8>>> =
    LazyLock::new(|| inputs("seeds", "request_bodies"));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn money_holds_for_decimal_like_text(
        text in r#"[ "]?-?[0-9]{0,32}(\.[0-9]{0,32})?([eE][-+]?[0-9]{1,3})?[ "]?"#,
    ) {
        money::check(text.as_bytes());
    }

    #[test]
    fn money_holds_for_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        money::check(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn request_bodies_hold_for_mutated_seeds(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let seeds = &*REQUEST_BODY_SEEDS;
        let mut data = seeds[pick.index(seeds.len())].clone();
        for (at, byte) in edits {
            if data.is_empty() {
                data.push(byte);
            } else {
                let i = at.index(data.len());
                data[i] = byte;
            }
        }
        request_bodies::check(&data);
    }

    #[test]
    fn request_bodies_hold_for_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        request_bodies::check(&data);
    }
}
