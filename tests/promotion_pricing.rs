//! Promotions, coupons, manual discounts, gift certificates and store credit priced by
//! hand, on both backends. Each scenario sets up the offers over HTTP (V2 coupons, V3
//! promotions, promotion and tax settings), builds a checkout against the demo store's
//! shipping and tax rules and the fixture catalog, and checks the totals it worked out in
//! its comment to the cent: amounts are compared as exact decimals, never as floats.
//!
//! Every checkout is also checked for the sums that must always hold (see
//! [`invariants`]): the grand total is its parts, the taxes list adds up to the tax
//! total, each line's `discounts` add up to its `discount_amount`, the coupons' amounts
//! are what their lines and shipments show, the base less every line discount is the cart
//! amount, what is outstanding is the grand total less gift certificates and store
//! credit, and no amount anywhere is negative.
//!
//! Demo rules used (src/service/shipping.rs, src/service/tax.rs, src/service/demo.rs):
//! - US zone: "Standard" 7.50 per order, handling 1.00 shown separately, free shipping
//!   (and no handling) from a 100.00 shipment, valued after item discounts; rest of the
//!   world: "International flat rate" 25.00, no handling.
//! - Tax on goods, shipping and handling: CA 7.25 %, NY 8.875 %, EU VAT 20 %, rounded per
//!   line half up. Other places: none.
//! - Currencies: USD (default), JPY at 150 with no decimals.
//! - Gift certificates GIFT-DEMO-50 (50.00) and GIFT-DEMO-10 (10.00).
//! - Fixtures (tests/common): lamp 940 19.99 (3 in stock), jacket 950 on sale 29.99,
//!   e-book 930 9.99 (digital), T-shirt 910 variant 1001 20.00 and variant 1003 24.00, all
//!   in category 1; this file adds a poster 970 at 15.00 in category 2.
//!
//! Engine rules the arithmetic follows (src/domain/discount.rs): promotions run by
//! priority then id, then V2 coupons in the order applied, each taking from what the
//! earlier ones left; a percentage is rounded per line (V2 coupons, `cart_items`) or once
//! for the amount spread (`cart_value`, `as_total`, `per_total_discount`); an amount
//! spread over lines is split in whole cents by value, the leftover cents going to the
//! largest remainders.

mod common;

use common::{Reply, TestApp};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

on_both_backends!(
    v2_per_item_discount_skips_lines_it_does_not_cover,
    v2_percentage_discount_rounds_each_line,
    v2_per_total_discount_spreads_by_value,
    v2_shipping_discount_comes_off_shipping_not_handling,
    v2_free_shipping_keeps_handling,
    v2_min_purchase_one_cent_below_and_at_the_threshold,
    v2_category_coupon_leaves_other_categories_alone,
    v2_country_restriction,
    unusable_codes_are_refused_naming_why,
    one_coupon_store_refuses_a_second_code,
    stacked_coupons_fixed_then_percentage_and_back,
    automatic_percentage_needs_its_minimum_spend,
    automatic_fixed_amount_never_goes_below_zero,
    bxgy_free_lamp_once,
    bxgy_repeats_per_qualifying_item,
    bogo_same_product_discounts_the_second_unit,
    as_total_fixed_amount_spread_over_two_lines,
    least_expensive_unit_gets_half_off,
    discount_cap_limits_a_percentage,
    free_shipping_promotion_only_in_its_zone,
    promotion_and_coupon_stack,
    exclusive_promotion_refuses_company,
    exclusive_and_overriding_coupon_promotions,
    coupon_promotion_stacks_with_automatic,
    stop_flag_ends_the_promotion_list,
    priority_decides_the_order,
    tax_inclusive_prices_tax_the_discounted_amount,
    discount_lowers_california_tax,
    yen_cart_rounds_to_whole_yen,
    manual_discount_replaces_promotions_and_coupons,
    gift_certificate_pays_part,
    gift_certificate_pays_all,
    two_gift_certificates_combine,
    store_credit_after_a_certificate,
    coupon_on_and_off_restores_the_checkout,
    banners_follow_the_promotion,
);

const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";
const COUPONS: &str = "/stores/demo/v2/coupons";
const PROMOTIONS: &str = "/stores/demo/v3/promotions";

const LAMP: i64 = 940;
const JACKET: i64 = 950;
const EBOOK: i64 = 930;
const TSHIRT: i64 = 910;
const POSTER: i64 = 970;
/// T-shirt S/Red, 20.00.
const SMALL: Option<i64> = Some(1001);
/// T-shirt L/Red, 24.00.
const LARGE: Option<i64> = Some(1003);

// ---------- the shop ----------

/// The fixture catalog plus a poster (970, 15.00, 1 kg) in category 2: the one product
/// outside category 1, for coupons and promotions that select by category.
async fn shop(app: TestApp) -> TestApp {
    let app = app.with_fixtures().await;
    let store = app.kassa.find_store("demo").await.expect("demo store");
    let mut poster = common::fixtures::simple(POSTER, "Poster (fixture)", "15.00");
    poster.categories = vec![2];
    app.kassa
        .store
        .insert_product(store.id, &poster)
        .await
        .expect("insert poster");
    app
}

fn address(country: &str, state: &str, postal: &str) -> Value {
    json!({"first_name": "Pat", "last_name": "Buyer", "email": "pat@example.com", "address1": "1 Main St",
           "city": "Somewhere", "state_or_province_code": state, "country_code": country, "postal_code": postal})
}
fn ca() -> Value {
    address("US", "CA", "94105")
}
fn ny() -> Value {
    address("US", "NY", "10004")
}
fn de() -> Value {
    address("DE", "", "10115")
}

/// A V2 coupon on every product (`categories [0]`).
fn coupon(code: &str, kind: &str, amount: &str) -> Value {
    json!({"name": format!("Coupon {code}"), "code": code, "type": kind, "amount": amount,
           "applies_to": {"entity": "categories", "ids": [0]}})
}

/// `v` with `key` set to `value`.
fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// An automatic promotion with these rules.
fn automatic(name: &str, rules: Value) -> Value {
    json!({"redemption_type": "AUTOMATIC", "name": name, "rules": rules})
}

/// An automatic `cart_value` percentage off, with no condition.
fn percent_off(name: &str, percent: &str) -> Value {
    automatic(
        name,
        json!([{"action": {"cart_value": {"discount": {"percentage_amount": percent}}}}]),
    )
}

/// An automatic `cart_value` fixed amount off, with no condition.
fn amount_off(name: &str, amount: &str) -> Value {
    automatic(
        name,
        json!([{"action": {"cart_value": {"discount": {"fixed_amount": amount}}}}]),
    )
}

/// A coupon promotion with one code.
fn coupon_promotion(name: &str, code: &str, rules: Value) -> Value {
    json!({"redemption_type": "COUPON", "name": name, "rules": rules, "codes": {"code": code}})
}

// ---------- scenarios ----------

/// A line: product, variant, quantity.
type Line = (i64, Option<i64>, i64);

#[derive(Default)]
struct Scenario {
    name: &'static str,
    /// `PUT /v3/tax/settings` first.
    tax_settings: Option<Value>,
    /// `PUT /v3/promotions/settings {"multiple_coupons": true}` first.
    multiple_coupons: bool,
    /// V2 coupons to create.
    coupons: Vec<Value>,
    /// V3 promotions to create; expectations name their ids `$P0`, `$P1`, …
    promotions: Vec<Value>,
    // The checkout.
    currency: Option<&'static str>,
    lines: Vec<Line>,
    /// A customer created with this much store credit owns the cart.
    customer_credit: Option<&'static str>,
    billing: Option<Value>,
    /// Every physical item to this address, with the option of this name selected.
    ship_to: Option<(Value, &'static str)>,
    /// Applied in order; each must be accepted.
    codes: Vec<&'static str>,
    manual_discount: Option<&'static str>,
    gift_certificates: Vec<&'static str>,
    store_credit: bool,
    /// (JSON pointer into the checkout, expected value). Numbers compare as exact
    /// decimals; a pointer ending in `/#` is an array's length; `$Pn` in a value is the
    /// n-th promotion's id.
    expect: Vec<(&'static str, &'static str)>,
}

/// What setting a scenario up made.
struct Ctx {
    promotions: Vec<i64>,
}

impl Ctx {
    fn promotion(&self, i: usize) -> i64 {
        self.promotions[i]
    }
}

async fn setup(app: &TestApp, s: &Scenario) -> Ctx {
    if let Some(t) = &s.tax_settings {
        let r = app.put("/stores/demo/v3/tax/settings", t.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: tax settings {}",
            s.name,
            r.body
        );
    }
    if s.multiple_coupons {
        let r = app
            .put(
                "/stores/demo/v3/promotions/settings",
                json!({"multiple_coupons": true}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: promotion settings {}",
            s.name,
            r.body
        );
    }
    for c in &s.coupons {
        let r = app.post(COUPONS, c.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}: coupon {}",
            s.name,
            r.body
        );
    }
    let mut promotions = Vec::new();
    for p in &s.promotions {
        let r = app.post(PROMOTIONS, p.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{}: promotion {}",
            s.name,
            r.body
        );
        promotions.push(r.data()["id"].as_i64().expect("promotion id"));
    }
    Ctx { promotions }
}

async fn new_customer(app: &TestApp, credit: &str) -> i64 {
    let email = format!("buyer-{}@example.com", uuid::Uuid::new_v4().simple());
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": email, "first_name": "Cred", "last_name": "Itor",
                    "store_credit_amounts": [{"amount": number(credit)}]}]),
        )
        .await;
    assert!(r.status.is_success(), "customer {}", r.body);
    r.data()[0]["id"].as_i64().expect("customer id")
}

fn number(s: &str) -> Value {
    serde_json::from_str(s).expect("a number")
}

/// The checkout with `?include=promotions.banners`.
async fn read(app: &TestApp, id: &str) -> Value {
    let r = app
        .get(&format!("{CHECKOUTS}/{id}?include=promotions.banners"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.data().clone()
}

async fn new_cart(app: &TestApp, s: &Scenario) -> (String, Value) {
    let mut body = json!({
        "line_items": s.lines.iter().map(|(p, v, q)| match v {
            Some(v) => json!({"product_id": p, "variant_id": v, "quantity": q}),
            None => json!({"product_id": p, "quantity": q}),
        }).collect::<Vec<_>>(),
    });
    if let Some(c) = s.currency {
        body["currency"] = json!({"code": c});
    }
    if let Some(credit) = s.customer_credit {
        body["customer_id"] = json!(new_customer(app, credit).await);
    }
    let r = app.post(CARTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}: cart {}", s.name, r.body);
    let cart = r.data().clone();
    (cart["id"].as_str().expect("cart id").to_string(), cart)
}

/// Ships every physical item of the cart to `to` and selects the option named `option`.
async fn ship(app: &TestApp, name: &str, id: &str, cart: &Value, to: &Value, option: &str) {
    let items: Vec<Value> = cart["line_items"]["physical_items"]
        .as_array()
        .expect("physical items")
        .iter()
        .map(|l| json!({"item_id": l["id"], "quantity": l["quantity"]}))
        .collect();
    let r = app
        .post(
            &format!(
                "{CHECKOUTS}/{id}/consignments?include=consignments.available_shipping_options"
            ),
            json!([{"address": to, "line_items": items}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{name}: consignment {}", r.body);
    let c = r.data()["consignments"]
        .as_array()
        .expect("consignments")
        .last()
        .expect("a consignment")
        .clone();
    let opt = c["available_shipping_options"]
        .as_array()
        .expect("options")
        .iter()
        .find(|o| o["description"] == option)
        .unwrap_or_else(|| panic!("{name}: no option {option} in {c}"))
        .clone();
    let r = app
        .put(
            &format!(
                "{CHECKOUTS}/{id}/consignments/{}",
                c["id"].as_str().expect("id")
            ),
            json!({"shipping_option_id": opt["id"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{name}: select {}", r.body);
}

async fn apply_code(app: &TestApp, id: &str, code: &str) -> Reply {
    app.post(
        &format!("{CHECKOUTS}/{id}/coupons"),
        json!({"coupon_code": code}),
    )
    .await
}

async fn remove_code(app: &TestApp, id: &str, code: &str) -> Reply {
    app.call(
        Method::DELETE,
        &format!("{CHECKOUTS}/{id}/coupons/{code}"),
        None,
    )
    .await
}

/// Builds the scenario's checkout and returns its id and its final state.
async fn checkout(app: &TestApp, s: &Scenario) -> (String, Value) {
    let (id, cart) = new_cart(app, s).await;
    if let Some(b) = &s.billing {
        let r = app
            .post(&format!("{CHECKOUTS}/{id}/billing-address"), b.clone())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: billing {}", s.name, r.body);
    }
    if let Some((to, option)) = &s.ship_to {
        ship(app, s.name, &id, &cart, to, option).await;
    }
    for code in &s.codes {
        let r = apply_code(app, &id, code).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: coupon {code} {}",
            s.name,
            r.body
        );
    }
    if let Some(d) = s.manual_discount {
        let r = app
            .post(
                &format!("{CHECKOUTS}/{id}/discounts"),
                json!({"cart": {"discounts": [{"discounted_amount": number(d)}]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: discount {}", s.name, r.body);
    }
    for g in &s.gift_certificates {
        let r = app
            .post(
                &format!("{CHECKOUTS}/{id}/gift-certificates"),
                json!({"gift_certificate_code": g}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: gift certificate {g} {}",
            s.name,
            r.body
        );
    }
    if s.store_credit {
        let r = app
            .call(
                Method::POST,
                &format!("{CHECKOUTS}/{id}/store-credit"),
                None,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: store credit {}",
            s.name,
            r.body
        );
    }
    let c = read(app, &id).await;
    (id, c)
}

/// Sets up the store for the scenario, builds its checkout and checks it.
async fn run(app: &TestApp, s: Scenario) -> (Ctx, String, Value) {
    let ctx = setup(app, &s).await;
    let (id, c) = checkout(app, &s).await;
    verify(&ctx, s.name, &c, &s.expect);
    (ctx, id, c)
}

/// Checks the expectations and the invariants; panics listing every mismatch.
fn verify(ctx: &Ctx, name: &str, c: &Value, want: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (pointer, expected) in want {
        let mut expected = expected.to_string();
        for (i, id) in ctx.promotions.iter().enumerate().rev() {
            expected = expected.replace(&format!("$P{i}"), &id.to_string());
        }
        if let Some(array) = pointer.strip_suffix("/#") {
            let got = c.pointer(array).and_then(Value::as_array).map(Vec::len);
            if got.map(|n| n.to_string()) != Some(expected.clone()) {
                failures.push(format!(
                    "{pointer}: {expected} expected, got {got:?} ({})",
                    c.pointer(array).unwrap_or(&Value::Null)
                ));
            }
            continue;
        }
        match c.pointer(pointer) {
            None => failures.push(format!("{pointer}: {expected} expected, missing")),
            Some(v @ Value::Number(_)) => {
                let want: Decimal = expected
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {pointer} expects a number"));
                if dec(v) != want {
                    failures.push(format!("{pointer}: {expected} expected, got {v}"));
                }
            }
            Some(Value::String(s)) => {
                if *s != expected {
                    failures.push(format!("{pointer}: {expected:?} expected, got {s:?}"));
                }
            }
            Some(v) => {
                let shown = v.to_string();
                if shown != expected {
                    failures.push(format!("{pointer}: {expected} expected, got {v}"));
                }
            }
        }
    }
    failures.extend(invariants(c));
    assert!(
        failures.is_empty(),
        "{name}: {} mismatch(es):\n  {}\nin {c:#}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// An exact decimal from a JSON number (serde_json keeps the digits as sent).
fn dec(v: &Value) -> Decimal {
    v.to_string()
        .parse()
        .unwrap_or_else(|_| panic!("not a decimal: {v}"))
}

fn at(c: &Value, pointer: &str) -> Decimal {
    dec(c
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer} missing in {c}")))
}

fn sum<'a>(items: impl IntoIterator<Item = &'a Value>, key: &str) -> Decimal {
    items.into_iter().map(|v| dec(&v[key])).sum()
}

fn list<'a>(c: &'a Value, pointer: &str) -> &'a [Value] {
    c.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The sums every priced checkout satisfies.
fn invariants(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let grand = at(c, "/grand_total");
    same(
        &mut out,
        "grand_total = cart + shipping + handling + fees (inc tax)",
        grand,
        at(c, "/cart/cart_amount_inc_tax")
            + at(c, "/shipping_cost_total_inc_tax")
            + at(c, "/handling_cost_total_inc_tax")
            + sum(list(c, "/fees"), "cost_inc_tax"),
    );
    same(
        &mut out,
        "Σ taxes = tax_total",
        sum(list(c, "/taxes"), "amount"),
        at(c, "/tax_total"),
    );
    same(
        &mut out,
        "outstanding_balance = grand_total − gift certificates − store credit",
        at(c, "/outstanding_balance"),
        grand - sum(list(c, "/gift_certificates"), "used") - at(c, "/store_credit_used"),
    );
    let lines: Vec<&Value> = list(c, "/cart/line_items/physical_items")
        .iter()
        .chain(list(c, "/cart/line_items/digital_items"))
        .collect();
    for (i, l) in lines.iter().enumerate() {
        same(
            &mut out,
            &format!("line {i}: Σ discounts = discount_amount"),
            sum(list(l, "/discounts"), "discounted_amount"),
            dec(&l["discount_amount"]),
        );
        if dec(&l["discount_amount"]) > dec(&l["extended_sale_price"]) {
            out.push(format!("invariant: line {i} discounted beyond its value"));
        }
    }
    let line_discounts: Decimal = lines.iter().map(|l| dec(&l["discount_amount"])).sum();
    let custom_discounts = sum(list(c, "/cart/line_items/custom_items"), "discount_amount");
    let net_key = if c["cart"]["tax_included"] == json!(true) {
        "/cart/cart_amount_inc_tax"
    } else {
        "/cart/cart_amount_ex_tax"
    };
    same(
        &mut out,
        "base_amount − Σ line discounts = cart amount as entered",
        at(c, "/cart/base_amount") - line_discounts - custom_discounts,
        at(c, net_key),
    );
    let shipping_by_code: Decimal = list(c, "/consignments")
        .iter()
        .flat_map(|k| list(k, "/coupon_discounts"))
        .map(|d| dec(&d["amount"]))
        .sum();
    same(
        &mut out,
        "Σ coupons = Σ lines' coupon_amount + Σ consignments' coupon_discounts",
        sum(list(c, "/coupons"), "discounted_amount"),
        lines
            .iter()
            .map(|l| dec(&l["coupon_amount"]))
            .sum::<Decimal>()
            + shipping_by_code,
    );
    same(
        &mut out,
        "cart.coupons = coupons",
        sum(list(c, "/cart/coupons"), "discounted_amount"),
        sum(list(c, "/coupons"), "discounted_amount"),
    );
    negative_numbers(c, "", &mut out);
    out
}

fn same(out: &mut Vec<String>, what: &str, a: Decimal, b: Decimal) {
    if a != b {
        out.push(format!("invariant: {what}: {a} ≠ {b}"));
    }
}

fn negative_numbers(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Number(_) if dec(v).is_sign_negative() && !dec(v).is_zero() => {
            out.push(format!("invariant: {path} is negative: {v}"))
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                negative_numbers(x, &format!("{path}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                negative_numbers(x, &format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// A refusal with this status whose title or field errors say each of `why`.
fn assert_refused(r: &Reply, status: StatusCode, why: &[&str]) {
    assert_eq!(r.status, status, "{}", r.body);
    let text = format!("{} {}", r.body["title"], r.body["errors"]);
    for w in why {
        assert!(text.contains(w), "`{w}` not in the refusal: {}", r.body);
    }
}

// ---------- V2 coupons ----------

async fn v2_per_item_discount_skips_lines_it_does_not_cover(app: TestApp) {
    let app = shop(app).await;
    // 2.00 off each lamp: 3 lamps (59.97) take 3 × 2.00 = 6.00; the T-shirt (20.00) is
    // not among the coupon's products and keeps its price.
    // Cart 59.97 + 20.00 = 79.97 − 6.00 = 73.97; no address, so no shipping and no tax.
    run(
        &app,
        Scenario {
            name: "per-item 2.00 off lamps",
            coupons: vec![with(
                coupon("PI2", "per_item_discount", "2"),
                "applies_to",
                json!({"entity": "products", "ids": [LAMP]}),
            )],
            lines: vec![(LAMP, None, 3), (TSHIRT, SMALL, 1)],
            codes: vec!["PI2"],
            expect: vec![
                ("/cart/line_items/physical_items/0/discount_amount", "6"),
                ("/cart/line_items/physical_items/0/coupon_amount", "6"),
                ("/cart/line_items/physical_items/0/discounts/0/id", "coupon"),
                ("/cart/line_items/physical_items/1/discount_amount", "0"),
                ("/cart/line_items/physical_items/1/coupon_amount", "0"),
                ("/cart/line_items/physical_items/1/discounts/#", "0"),
                ("/coupons/0/code", "PI2"),
                ("/coupons/0/coupon_type", "per_item_discount"),
                ("/coupons/0/discounted_amount", "6"),
                // Coupons are not order-level automatic discounts.
                ("/cart/discount_amount", "0"),
                ("/subtotal_ex_tax", "79.97"),
                ("/cart/cart_amount_inc_tax", "73.97"),
                ("/grand_total", "73.97"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_percentage_discount_rounds_each_line(app: TestApp) {
    let app = shop(app).await;
    // 15 % of each line, rounded per line half up:
    //   lamp   19.99 × 0.15 = 2.9985 → 3.00
    //   jacket 29.99 × 0.15 = 4.4985 → 4.50
    // 7.50 in all; 49.98 − 7.50 = 42.48.
    run(
        &app,
        Scenario {
            name: "percentage 15 %",
            coupons: vec![coupon("PCT15", "percentage_discount", "15")],
            lines: vec![(LAMP, None, 1), (JACKET, None, 1)],
            codes: vec!["PCT15"],
            expect: vec![
                ("/cart/line_items/physical_items/0/discount_amount", "3.00"),
                ("/cart/line_items/physical_items/1/discount_amount", "4.50"),
                ("/coupons/0/discounted_amount", "7.50"),
                ("/grand_total", "42.48"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_per_total_discount_spreads_by_value(app: TestApp) {
    let app = shop(app).await;
    // 10.00 off the order, spread over lamp 19.99 and T-shirt 24.00 (43.99) in cents:
    //   lamp   1000 × 19.99 / 43.99 = 454.42 → 454
    //   tshirt 1000 × 24.00 / 43.99 = 545.58 → 545, +1 leftover (larger remainder) = 546
    // lamp 4.54, T-shirt 5.46; 43.99 − 10.00 = 33.99.
    run(
        &app,
        Scenario {
            name: "per-total 10.00",
            coupons: vec![coupon("TOTAL10", "per_total_discount", "10")],
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            codes: vec!["TOTAL10"],
            expect: vec![
                ("/cart/line_items/physical_items/0/discount_amount", "4.54"),
                ("/cart/line_items/physical_items/1/discount_amount", "5.46"),
                ("/coupons/0/discounted_amount", "10"),
                ("/grand_total", "33.99"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_shipping_discount_comes_off_shipping_not_handling(app: TestApp) {
    let app = shop(app).await;
    // Lamp to CA by Standard: shipping 7.50 − 5.00 = 2.50, handling 1.00 untouched.
    // Tax 7.25 %: lamp 19.99 → 1.449 → 1.45; shipping 2.50 → 0.181 → 0.18;
    // handling 1.00 → 0.0725 → 0.07; 1.70 in all.
    // Grand total 19.99 + 2.50 + 1.00 + 1.70 = 25.19.
    run(
        &app,
        Scenario {
            name: "shipping discount 5.00",
            coupons: vec![coupon("SHIPOFF5", "shipping_discount", "5")],
            lines: vec![(LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            codes: vec!["SHIPOFF5"],
            expect: vec![
                ("/consignments/0/shipping_cost_ex_tax", "2.50"),
                ("/consignments/0/shipping_cost_inc_tax", "2.68"),
                ("/consignments/0/handling_cost_ex_tax", "1.00"),
                ("/consignments/0/handling_cost_inc_tax", "1.07"),
                ("/consignments/0/coupon_discounts/0/code", "SHIPOFF5"),
                ("/consignments/0/coupon_discounts/0/amount", "5"),
                ("/coupons/0/discounted_amount", "5"),
                ("/cart/line_items/physical_items/0/coupon_amount", "0"),
                ("/shipping_cost_total_ex_tax", "2.50"),
                ("/handling_cost_total_ex_tax", "1.00"),
                ("/tax_total", "1.70"),
                ("/grand_total", "25.19"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_free_shipping_keeps_handling(app: TestApp) {
    let app = shop(app).await;
    // Lamp to CA by Standard: shipping 7.50 → 0, handling 1.00 stays.
    // Tax: lamp 1.45 + shipping 0 + handling 0.07 = 1.52.
    // Grand total 19.99 + 0 + 1.00 + 1.52 = 22.51; the coupon took 7.50.
    run(
        &app,
        Scenario {
            name: "free shipping coupon",
            coupons: vec![coupon("SHIPFREE", "free_shipping", "0")],
            lines: vec![(LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            codes: vec!["SHIPFREE"],
            expect: vec![
                ("/consignments/0/shipping_cost_ex_tax", "0"),
                ("/consignments/0/handling_cost_ex_tax", "1"),
                ("/consignments/0/coupon_discounts/0/amount", "7.50"),
                ("/coupons/0/coupon_type", "free_shipping"),
                ("/coupons/0/discounted_amount", "7.50"),
                ("/tax_total", "1.52"),
                ("/grand_total", "22.51"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_min_purchase_one_cent_below_and_at_the_threshold(app: TestApp) {
    let app = shop(app).await;
    // 5.00 off orders of at least 50.00.
    let s = Scenario {
        name: "min purchase 50, cart 49.99",
        coupons: vec![with(
            coupon("MIN50", "per_total_discount", "5"),
            "min_purchase",
            json!("50"),
        )],
        // 19.99 + 2 × 15.00 = 49.99: one cent short.
        lines: vec![(LAMP, None, 1), (POSTER, None, 2)],
        ..Default::default()
    };
    let ctx = setup(&app, &s).await;
    let (id, before) = checkout(&app, &s).await;
    let r = apply_code(&app, &id, "MIN50").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["MIN50", "minimum purchase of 50", "49.99"],
    );
    let after = read(&app, &id).await;
    assert_eq!(after, before, "a refused code changes nothing");

    // 20.00 + 2 × 15.00 = 50.00 exactly: the 5.00 applies, spread by value:
    //   T-shirt 500 × 20 / 50 = 200 → 2.00; posters 500 × 30 / 50 = 300 → 3.00.
    // 50.00 − 5.00 = 45.00.
    let s = Scenario {
        name: "min purchase 50, cart 50.00",
        lines: vec![(TSHIRT, SMALL, 1), (POSTER, None, 2)],
        codes: vec!["MIN50"],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            (PHYS0_DISCOUNT, "2.00"),
            (PHYS1_DISCOUNT, "3.00"),
            ("/coupons/0/discounted_amount", "5"),
            ("/grand_total", "45.00"),
        ],
    );
}

const PHYS0_DISCOUNT: &str = "/cart/line_items/physical_items/0/discount_amount";
const PHYS1_DISCOUNT: &str = "/cart/line_items/physical_items/1/discount_amount";
const PHYS2_DISCOUNT: &str = "/cart/line_items/physical_items/2/discount_amount";

async fn v2_category_coupon_leaves_other_categories_alone(app: TestApp) {
    let app = shop(app).await;
    // 10 % off category 2 (the posters): 2 × 15.00 = 30.00 → 3.00; the lamp
    // (category 1) is not covered. 30.00 + 19.99 − 3.00 = 46.99.
    run(
        &app,
        Scenario {
            name: "10 % off category 2",
            coupons: vec![with(
                coupon("CAT10", "percentage_discount", "10"),
                "applies_to",
                json!({"entity": "categories", "ids": [2]}),
            )],
            lines: vec![(POSTER, None, 2), (LAMP, None, 1)],
            codes: vec!["CAT10"],
            expect: vec![
                (PHYS0_DISCOUNT, "3.00"),
                (PHYS1_DISCOUNT, "0"),
                ("/coupons/0/discounted_amount", "3"),
                ("/grand_total", "46.99"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn v2_country_restriction(app: TestApp) {
    let app = shop(app).await;
    let usonly = with(
        coupon("USONLY", "per_total_discount", "5"),
        "restricted_to",
        json!({"countries": ["US"]}),
    );
    // Shipping to Germany: refused, naming the country.
    let s = Scenario {
        name: "US-only coupon, shipping to DE",
        coupons: vec![usonly],
        lines: vec![(LAMP, None, 1)],
        ship_to: Some((de(), "International flat rate")),
        ..Default::default()
    };
    let ctx = setup(&app, &s).await;
    let (id, _) = checkout(&app, &s).await;
    let r = apply_code(&app, &id, "USONLY").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["USONLY", "shipping to DE"],
    );

    // Shipping to California: lamp 19.99 − 5.00 = 14.99.
    // Tax: 14.99 × 7.25 % = 1.0868 → 1.09; shipping 0.54; handling 0.07; 1.70.
    // Grand total 14.99 + 7.50 + 1.00 + 1.70 = 25.19.
    let s = Scenario {
        name: "US-only coupon, shipping to CA",
        lines: vec![(LAMP, None, 1)],
        ship_to: Some((ca(), "Standard")),
        codes: vec!["USONLY"],
        ..Default::default()
    };
    let (id, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            (PHYS0_DISCOUNT, "5"),
            ("/tax_total", "1.70"),
            ("/grand_total", "25.19"),
        ],
    );

    // The consignment moves to Germany: the code stays on the checkout but takes
    // nothing, and the selection (a US option) is cleared. VAT on the lamp only:
    // 19.99 × 20 % = 3.998 → 4.00; 19.99 + 4.00 = 23.99.
    let cid = c["consignments"][0]["id"].as_str().expect("consignment");
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            json!({"address": de()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = read(&app, &id).await;
    verify(
        &ctx,
        "US-only coupon, consignment moved to DE",
        &c,
        &[
            ("/coupons/0/code", "USONLY"),
            ("/coupons/0/discounted_amount", "0"),
            (PHYS0_DISCOUNT, "0"),
            ("/tax_total", "4.00"),
            ("/grand_total", "23.99"),
        ],
    );
}

async fn unusable_codes_are_refused_naming_why(app: TestApp) {
    let app = shop(app).await;
    let s = Scenario {
        name: "unusable codes",
        coupons: vec![
            with(
                coupon("OLD", "per_total_discount", "1"),
                "expires",
                json!("Tue, 01 Jan 2019 00:00:00 +0000"),
            ),
            with(
                coupon("OFF", "per_total_discount", "1"),
                "enabled",
                json!(false),
            ),
            with(
                coupon("ONCE", "per_total_discount", "1"),
                "max_uses",
                json!(1),
            ),
        ],
        lines: vec![(EBOOK, None, 1)],
        billing: Some(ny()),
        ..Default::default()
    };
    let ctx = setup(&app, &s).await;
    let (id, before) = checkout(&app, &s).await;
    for (code, why) in [
        ("NOPE", "not valid for this store"),
        ("OLD", "has expired"),
        ("OFF", "is disabled"),
    ] {
        let r = apply_code(&app, &id, code).await;
        assert_refused(&r, StatusCode::UNPROCESSABLE_ENTITY, &[code, why]);
    }
    assert_eq!(read(&app, &id).await, before, "refusals change nothing");
    // Taking off a code that is not on the checkout is a 404.
    let r = remove_code(&app, &id, "OLD").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // ONCE applies: e-book 9.99 − 1.00 = 8.99, NY tax 8.99 × 8.875 % = 0.798 → 0.80;
    // 8.99 + 0.80 = 9.79. The order placed with it uses it up.
    let r = apply_code(&app, &id, "once").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    verify(
        &ctx,
        "ONCE on the first checkout",
        r.data(),
        &[
            ("/coupons/0/code", "ONCE"),
            ("/coupons/0/discounted_amount", "1"),
            ("/tax_total", "0.80"),
            ("/grand_total", "9.79"),
        ],
    );
    let r = app
        .post(&format!("{CHECKOUTS}/{id}/orders"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "order {}", r.body);

    // A second checkout cannot use it any more: 9.99 + 0.89 tax = 10.88, no coupon.
    let (id2, _) = checkout(&app, &s).await;
    let r = apply_code(&app, &id2, "ONCE").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["ONCE", "maximum number of times"],
    );
    verify(
        &ctx,
        "ONCE used up",
        &read(&app, &id2).await,
        &[
            ("/coupons/#", "0"),
            ("/tax_total", "0.89"),
            ("/grand_total", "10.88"),
        ],
    );
}

async fn one_coupon_store_refuses_a_second_code(app: TestApp) {
    let app = shop(app).await;
    // The store allows one coupon per order (the default). PCT15 on lamp + jacket takes
    // 3.00 + 4.50 = 7.50 (see the percentage scenario); 49.98 − 7.50 = 42.48.
    let (ctx, id, before) = run(
        &app,
        Scenario {
            name: "one coupon per order",
            coupons: vec![
                coupon("PCT15", "percentage_discount", "15"),
                coupon("TOTAL10", "per_total_discount", "10"),
            ],
            lines: vec![(LAMP, None, 1), (JACKET, None, 1)],
            codes: vec!["PCT15"],
            expect: vec![("/coupons/#", "1"), ("/grand_total", "42.48")],
            ..Default::default()
        },
    )
    .await;
    let r = apply_code(&app, &id, "TOTAL10").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["one coupon per order", "PCT15"],
    );
    let after = read(&app, &id).await;
    assert_eq!(after, before, "the refusal changes nothing");
    verify(
        &ctx,
        "after the refusal",
        &after,
        &[("/grand_total", "42.48")],
    );
}

async fn stacked_coupons_fixed_then_percentage_and_back(app: TestApp) {
    let app = shop(app).await;
    // Lamp 19.99 + T-shirt 24.00 = 43.99, several coupons allowed.
    // TOTAL10 first: lamp 4.54, T-shirt 5.46 (see the per-total scenario), leaving
    // 15.45 and 18.54. Then PCT15 on what is left, per line:
    //   15.45 × 0.15 = 2.3175 → 2.32;  18.54 × 0.15 = 2.781 → 2.78;  5.10 in all.
    // Lamp 6.86, T-shirt 8.24; 43.99 − 15.10 = 28.89.
    let (ctx, id, _) = run(
        &app,
        Scenario {
            name: "TOTAL10 then PCT15",
            multiple_coupons: true,
            coupons: vec![
                coupon("PCT15", "percentage_discount", "15"),
                coupon("TOTAL10", "per_total_discount", "10"),
            ],
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            codes: vec!["TOTAL10", "PCT15"],
            expect: vec![
                ("/coupons/0/code", "TOTAL10"),
                ("/coupons/0/discounted_amount", "10"),
                ("/coupons/1/code", "PCT15"),
                ("/coupons/1/discounted_amount", "5.10"),
                (PHYS0_DISCOUNT, "6.86"),
                (PHYS1_DISCOUNT, "8.24"),
                ("/grand_total", "28.89"),
            ],
            ..Default::default()
        },
    )
    .await;
    for code in ["TOTAL10", "PCT15"] {
        let r = remove_code(&app, &id, code).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // The other way round: PCT15 first takes 3.00 + 3.60 = 6.60, leaving 16.99 and
    // 20.40 (37.39); TOTAL10 spread over those:
    //   lamp 1000 × 16.99 / 37.39 = 454.40 → 454;  T-shirt 545.60 → 545 + 1 = 546.
    // Lamp 7.54, T-shirt 9.06; 43.99 − 16.60 = 27.39.
    for code in ["PCT15", "TOTAL10"] {
        let r = apply_code(&app, &id, code).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    verify(
        &ctx,
        "PCT15 then TOTAL10",
        &read(&app, &id).await,
        &[
            ("/coupons/0/code", "PCT15"),
            ("/coupons/0/discounted_amount", "6.60"),
            ("/coupons/1/code", "TOTAL10"),
            ("/coupons/1/discounted_amount", "10"),
            (PHYS0_DISCOUNT, "7.54"),
            (PHYS1_DISCOUNT, "9.06"),
            ("/grand_total", "27.39"),
        ],
    );
}

// ---------- automatic promotions ----------

fn ten_percent_over_100() -> Value {
    automatic(
        "10 % over 100",
        json!([{"action": {"cart_value": {"discount": {"percentage_amount": "10"}}},
                "condition": {"cart": {"minimum_spend": "100"}}}]),
    )
}

async fn automatic_percentage_needs_its_minimum_spend(app: TestApp) {
    let app = shop(app).await;
    // 3 jackets = 89.97 < 100: nothing off.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "10 % over 100, cart 89.97",
            promotions: vec![ten_percent_over_100()],
            lines: vec![(JACKET, None, 3)],
            expect: vec![
                ("/cart/discount_amount", "0"),
                ("/cart/discounts/#", "0"),
                ("/grand_total", "89.97"),
            ],
            ..Default::default()
        },
    )
    .await;
    // 5 small T-shirts = 100.00 exactly: 10.00 off, an order-level discount.
    // Shipped to CA: the shipment is worth 90.00 after the discount, under the 100.00
    // free-shipping threshold, so Standard charges 7.50 + 1.00 handling.
    // Tax: 90.00 × 7.25 % = 6.525 → 6.53; shipping 0.54; handling 0.07; 7.14.
    // Grand total 90.00 + 7.50 + 1.00 + 7.14 = 105.64.
    let s = Scenario {
        name: "10 % over 100, cart 100.00",
        lines: vec![(TSHIRT, SMALL, 5)],
        ship_to: Some((ca(), "Standard")),
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            (PHYS0_DISCOUNT, "10"),
            ("/cart/line_items/physical_items/0/coupon_amount", "0"),
            ("/cart/line_items/physical_items/0/discounts/0/id", "$P0"),
            ("/cart/discount_amount", "10"),
            ("/cart/discounts/0/id", "$P0"),
            ("/cart/discounts/0/discounted_amount", "10"),
            ("/shipping_cost_total_ex_tax", "7.50"),
            ("/handling_cost_total_ex_tax", "1.00"),
            ("/tax_total", "7.14"),
            ("/grand_total", "105.64"),
        ],
    );
}

async fn automatic_fixed_amount_never_goes_below_zero(app: TestApp) {
    let app = shop(app).await;
    // 50.00 off a cart worth 9.99 + 19.99 = 29.98: it takes 29.98 and no more, each line
    // to zero. The lamp ships to CA: Standard 7.50 + 1.00 handling, taxed 0.54 + 0.07;
    // the items are taxed on 0. Grand total 0 + 7.50 + 1.00 + 0.61 = 9.11.
    run(
        &app,
        Scenario {
            name: "50.00 off a 29.98 cart",
            promotions: vec![amount_off("50 off", "50")],
            lines: vec![(EBOOK, None, 1), (LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            expect: vec![
                (PHYS0_DISCOUNT, "19.99"),
                ("/cart/line_items/digital_items/0/discount_amount", "9.99"),
                ("/cart/discount_amount", "29.98"),
                ("/cart/discounts/0/discounted_amount", "29.98"),
                ("/cart/cart_amount_inc_tax", "0"),
                ("/shipping_cost_total_ex_tax", "7.50"),
                ("/tax_total", "0.61"),
                ("/grand_total", "9.11"),
            ],
            ..Default::default()
        },
    )
    .await;
}

/// Buy a jacket, get a lamp free (`apply_once` as given).
fn jacket_gets_a_lamp(apply_once: bool) -> Value {
    automatic(
        "Jacket gets a lamp",
        json!([{
            "action": {"cart_items": {"discount": {"percentage_amount": "100"},
                                      "items": {"products": [LAMP]}, "quantity": 1}},
            "apply_once": apply_once,
            "condition": {"cart": {"items": {"products": [JACKET]}, "minimum_quantity": 1}}
        }]),
    )
}

async fn bxgy_free_lamp_once(app: TestApp) {
    let app = shop(app).await;
    // One jacket, two lamps: one lamp free (19.99), once. An item discount, so not in
    // cart.discount_amount. 29.99 + 39.98 − 19.99 = 49.98.
    run(
        &app,
        Scenario {
            name: "buy a jacket, get a lamp free, once",
            promotions: vec![jacket_gets_a_lamp(true)],
            lines: vec![(JACKET, None, 1), (LAMP, None, 2)],
            expect: vec![
                (PHYS0_DISCOUNT, "0"),
                (PHYS1_DISCOUNT, "19.99"),
                ("/cart/line_items/physical_items/1/discounts/0/id", "$P0"),
                ("/cart/discount_amount", "0"),
                ("/cart/discounts/0/id", "$P0"),
                ("/cart/discounts/0/discounted_amount", "19.99"),
                ("/grand_total", "49.98"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn bxgy_repeats_per_qualifying_item(app: TestApp) {
    let app = shop(app).await;
    // Two jackets, three lamps, apply_once false: one free lamp per jacket, so two of the
    // three: 59.97 × 2/3 = 39.98. 59.98 + 59.97 − 39.98 = 79.97.
    run(
        &app,
        Scenario {
            name: "buy a jacket, get a lamp free, per jacket",
            promotions: vec![jacket_gets_a_lamp(false)],
            lines: vec![(JACKET, None, 2), (LAMP, None, 3)],
            expect: vec![
                (PHYS0_DISCOUNT, "0"),
                (PHYS1_DISCOUNT, "39.98"),
                ("/grand_total", "79.97"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn bogo_same_product_discounts_the_second_unit(app: TestApp) {
    let app = shop(app).await;
    // The spec's own example for include_items_considered_by_condition (default false):
    // "Buy 1 Get 1 20% off. When the cart only contains 1 item, the discount won't
    // apply." (admin/promotions.v3.yml, CartItemsAction).
    let bogo = automatic(
        "Buy a lamp, get a lamp 20 % off",
        json!([{
            "action": {"cart_items": {"discount": {"percentage_amount": "20"},
                                      "items": {"products": [LAMP]}, "quantity": 1}},
            "condition": {"cart": {"items": {"products": [LAMP]}, "minimum_quantity": 1}}
        }]),
    );
    // One lamp: it satisfies the condition and cannot also be discounted. 19.99.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "BOGO 20 %, one lamp",
            promotions: vec![bogo],
            lines: vec![(LAMP, None, 1)],
            expect: vec![(PHYS0_DISCOUNT, "0"), ("/grand_total", "19.99")],
            ..Default::default()
        },
    )
    .await;
    // Two lamps: the first satisfies the condition, the second is 20 % off:
    // 19.99 × 0.20 = 3.998 → 4.00. 39.98 − 4.00 = 35.98.
    let s = Scenario {
        name: "BOGO 20 %, two lamps",
        lines: vec![(LAMP, None, 2)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[(PHYS0_DISCOUNT, "4.00"), ("/grand_total", "35.98")],
    );
}

async fn as_total_fixed_amount_spread_over_two_lines(app: TestApp) {
    let app = shop(app).await;
    // 10.00 off category 1 as one total, spread over 2 lamps (39.98) and a small T-shirt
    // (20.00), 59.98 in all, in cents:
    //   lamps   1000 × 39.98 / 59.98 = 666.56 → 666 + 1 leftover (larger remainder) = 667
    //   T-shirt 1000 × 20.00 / 59.98 = 333.44 → 333
    // 6.67 and 3.33; 59.98 − 10.00 = 49.98. An item discount: cart.discount_amount is 0.
    run(
        &app,
        Scenario {
            name: "as_total 10.00 over two lines",
            promotions: vec![automatic(
                "10 off category 1",
                json!([{"action": {"cart_items": {"discount": {"fixed_amount": "10"},
                                                  "as_total": true,
                                                  "items": {"categories": [1]}}}}]),
            )],
            lines: vec![(LAMP, None, 2), (TSHIRT, SMALL, 1)],
            expect: vec![
                (PHYS0_DISCOUNT, "6.67"),
                (PHYS1_DISCOUNT, "3.33"),
                ("/cart/discount_amount", "0"),
                ("/cart/discounts/0/discounted_amount", "10"),
                ("/grand_total", "49.98"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn least_expensive_unit_gets_half_off(app: TestApp) {
    let app = shop(app).await;
    // Half off one unit, the least expensive: the lamp (19.99 < 24.00 < 29.99).
    // 19.99 × 0.50 = 9.995 → 10.00 (half up). 19.99 + 48.00 + 29.99 − 10.00 = 87.98.
    run(
        &app,
        Scenario {
            name: "50 % off the cheapest unit",
            promotions: vec![automatic(
                "Half off the cheapest",
                json!([{"action": {"cart_items": {"discount": {"percentage_amount": "50"},
                                                  "items": {"categories": [1]},
                                                  "strategy": "LEAST_EXPENSIVE",
                                                  "quantity": 1}}}]),
            )],
            lines: vec![(TSHIRT, LARGE, 2), (LAMP, None, 1), (JACKET, None, 1)],
            expect: vec![
                (PHYS0_DISCOUNT, "0"),
                (PHYS1_DISCOUNT, "10.00"),
                (PHYS2_DISCOUNT, "0"),
                ("/grand_total", "87.98"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn discount_cap_limits_a_percentage(app: TestApp) {
    let app = shop(app).await;
    // 20 % of 48.00 + 19.99 = 67.99 is 13.598 → 13.60, capped at 5.00, spread:
    //   T-shirts 500 × 48.00 / 67.99 = 352.99 → 352 + 1 leftover = 353
    //   lamp     500 × 19.99 / 67.99 = 147.01 → 147
    // 3.53 and 1.47; 67.99 − 5.00 = 62.99.
    run(
        &app,
        Scenario {
            name: "20 % capped at 5.00",
            promotions: vec![automatic(
                "20 % up to 5",
                json!([{"action": {"cart_value": {"discount": {"percentage_amount": "20"},
                                                  "maximum_allowed_discount_amount": "5"}}}]),
            )],
            lines: vec![(TSHIRT, LARGE, 2), (LAMP, None, 1)],
            expect: vec![
                (PHYS0_DISCOUNT, "3.53"),
                (PHYS1_DISCOUNT, "1.47"),
                ("/cart/discount_amount", "5"),
                ("/grand_total", "62.99"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn free_shipping_promotion_only_in_its_zone(app: TestApp) {
    let app = shop(app).await;
    let zones = app.get("/stores/demo/v2/shipping/zones").await;
    let us_zone = zones
        .body
        .as_array()
        .expect("zones")
        .iter()
        .find(|z| z["name"] == "United States")
        .expect("the US zone")["id"]
        .clone();
    // Free shipping in the US zone. Lamp to CA by Standard: shipping 0, handling 1.00;
    // tax 1.45 + 0.07 = 1.52; 19.99 + 1.00 + 1.52 = 22.51.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "free US shipping, to CA",
            promotions: vec![automatic(
                "Free US shipping",
                json!([{"action": {"shipping": {"free_shipping": true, "zone_ids": [us_zone]}}}]),
            )],
            lines: vec![(LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            expect: vec![
                ("/consignments/0/shipping_cost_ex_tax", "0"),
                ("/consignments/0/handling_cost_ex_tax", "1"),
                ("/consignments/0/discounts/0/id", "$P0"),
                ("/tax_total", "1.52"),
                ("/grand_total", "22.51"),
            ],
            ..Default::default()
        },
    )
    .await;
    // To Germany (the rest-of-world zone): International 25.00 is not covered.
    // VAT 19.99 → 4.00, 25.00 → 5.00; 19.99 + 25.00 + 9.00 = 53.99.
    let s = Scenario {
        name: "free US shipping, to DE",
        lines: vec![(LAMP, None, 1)],
        ship_to: Some((de(), "International flat rate")),
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            ("/consignments/0/shipping_cost_ex_tax", "25"),
            ("/consignments/0/discounts/#", "0"),
            ("/tax_total", "9.00"),
            ("/grand_total", "53.99"),
        ],
    );
}

async fn promotion_and_coupon_stack(app: TestApp) {
    let app = shop(app).await;
    // Automatic 10 % first: 43.99 × 10 % = 4.399 → 4.40, spread in cents:
    //   lamp 440 × 19.99 / 43.99 = 199.95 → 199 + 1 leftover = 200;  T-shirt 240.05 → 240
    // leaving lamp 17.99 and T-shirt 21.60 (39.59). Then the 5.00 coupon over those:
    //   lamp 500 × 17.99 / 39.59 = 227.20 → 227;  T-shirt 272.80 → 272 + 1 = 273.
    // Lamp 2.00 + 2.27 = 4.27, T-shirt 2.40 + 2.73 = 5.13; 43.99 − 9.40 = 34.59.
    // cart.discount_amount is the automatic order-level 4.40 only.
    run(
        &app,
        Scenario {
            name: "10 % automatic + 5.00 coupon",
            coupons: vec![coupon("TOTAL5", "per_total_discount", "5")],
            promotions: vec![percent_off("10 % off", "10")],
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            codes: vec!["TOTAL5"],
            expect: vec![
                (PHYS0_DISCOUNT, "4.27"),
                ("/cart/line_items/physical_items/0/coupon_amount", "2.27"),
                ("/cart/line_items/physical_items/0/discounts/0/id", "$P0"),
                (
                    "/cart/line_items/physical_items/0/discounts/0/discounted_amount",
                    "2.00",
                ),
                ("/cart/line_items/physical_items/0/discounts/1/id", "coupon"),
                (
                    "/cart/line_items/physical_items/0/discounts/1/discounted_amount",
                    "2.27",
                ),
                (PHYS1_DISCOUNT, "5.13"),
                ("/cart/line_items/physical_items/1/coupon_amount", "2.73"),
                ("/cart/discount_amount", "4.40"),
                ("/cart/discounts/0/id", "$P0"),
                ("/cart/discounts/0/discounted_amount", "4.40"),
                ("/coupons/0/discounted_amount", "5"),
                ("/grand_total", "34.59"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn exclusive_promotion_refuses_company(app: TestApp) {
    let app = shop(app).await;
    // P0: 5.00 off, not combinable, priority 1; P1: 10 % off, priority 2.
    // P0 runs first and applies; P1 is then refused. 48.00 − 5.00 = 43.00.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "exclusive first",
            promotions: vec![
                with(
                    with(amount_off("5 alone", "5"), "priority", json!(1)),
                    "can_be_used_with_other_promotions",
                    json!(false),
                ),
                with(percent_off("10 %", "10"), "priority", json!(2)),
            ],
            lines: vec![(TSHIRT, LARGE, 2)],
            expect: vec![
                ("/cart/discounts/#", "1"),
                ("/cart/discounts/0/id", "$P0"),
                (PHYS0_DISCOUNT, "5"),
                ("/grand_total", "43.00"),
            ],
            ..Default::default()
        },
    )
    .await;
    // P0 moved after P1: 10 % of 48.00 = 4.80 applies first, and P0 will not join it.
    // 48.00 − 4.80 = 43.20.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", ctx.promotion(0)),
            json!({"priority": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = Scenario {
        name: "exclusive last",
        lines: vec![(TSHIRT, LARGE, 2)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            ("/cart/discounts/#", "1"),
            ("/cart/discounts/0/id", "$P1"),
            (PHYS0_DISCOUNT, "4.80"),
            ("/grand_total", "43.20"),
        ],
    );
}

async fn exclusive_and_overriding_coupon_promotions(app: TestApp) {
    let app = shop(app).await;
    let eight_off = json!([{"action": {"cart_value": {"discount": {"fixed_amount": "8"}}}}]);
    // An automatic 10 % (P0) already applies to 2 large T-shirts (48.00 → 4.80 off).
    let (ctx, id, _) = run(
        &app,
        Scenario {
            name: "automatic 10 %",
            multiple_coupons: true,
            promotions: vec![
                percent_off("10 %", "10"),
                with(
                    coupon_promotion("Solo", "SOLO", eight_off.clone()),
                    "can_be_used_with_other_promotions",
                    json!(false),
                ),
                with(
                    with(
                        coupon_promotion("Boss", "BOSS", eight_off),
                        "can_be_used_with_other_promotions",
                        json!(false),
                    ),
                    "coupon_overrides_other_promotions",
                    json!(true),
                ),
            ],
            lines: vec![(TSHIRT, LARGE, 2)],
            expect: vec![(PHYS0_DISCOUNT, "4.80"), ("/grand_total", "43.20")],
            ..Default::default()
        },
    )
    .await;
    // SOLO cannot be combined with the automatic promotion already applied: refused.
    let r = apply_code(&app, &id, "SOLO").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["SOLO", "cannot be combined"],
    );
    // BOSS overrides the others: it applies alone, 8.00 off; the automatic 10 % goes.
    // A coupon's discount is not in cart.discount_amount ("order-level automatic
    // promotions plus manual discounts", checkouts.v3.yml). 48.00 − 8.00 = 40.00.
    let r = apply_code(&app, &id, "BOSS").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    verify(
        &ctx,
        "BOSS overrides",
        &read(&app, &id).await,
        &[
            ("/coupons/#", "1"),
            ("/coupons/0/code", "BOSS"),
            ("/coupons/0/coupon_type", "promotion"),
            ("/coupons/0/discounted_amount", "8"),
            ("/cart/discounts/#", "0"),
            ("/cart/discount_amount", "0"),
            (PHYS0_DISCOUNT, "8"),
            ("/cart/line_items/physical_items/0/coupon_amount", "8"),
            ("/cart/line_items/physical_items/0/discounts/0/id", "coupon"),
            ("/grand_total", "40.00"),
        ],
    );
}

async fn coupon_promotion_stacks_with_automatic(app: TestApp) {
    let app = shop(app).await;
    // Automatic 10 % (P0): lamp 2.00, T-shirt 2.40 (see promotion_and_coupon_stack).
    // Then the coupon promotion SPRING (P1): 25 % off lamps, on what is left of the lamp:
    // 17.99 × 0.25 = 4.4975 → 4.50. Lamp 6.50 (4.50 of it by coupon), T-shirt 2.40.
    // 43.99 − 4.40 − 4.50 = 35.09; cart.discount_amount is the automatic 4.40.
    run(
        &app,
        Scenario {
            name: "automatic 10 % + SPRING 25 % off lamps",
            promotions: vec![
                percent_off("10 %", "10"),
                coupon_promotion(
                    "Spring",
                    "SPRING",
                    json!([{"action": {"cart_items": {"discount": {"percentage_amount": "25"},
                                                      "items": {"products": [LAMP]}}}}]),
                ),
            ],
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            codes: vec!["spring"],
            expect: vec![
                ("/coupons/0/code", "SPRING"),
                ("/coupons/0/id", "$P1"),
                ("/coupons/0/discounted_amount", "4.50"),
                (PHYS0_DISCOUNT, "6.50"),
                ("/cart/line_items/physical_items/0/coupon_amount", "4.50"),
                (PHYS1_DISCOUNT, "2.40"),
                ("/cart/discount_amount", "4.40"),
                ("/grand_total", "35.09"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn stop_flag_ends_the_promotion_list(app: TestApp) {
    let app = shop(app).await;
    // P0 10 % with stop (priority 1), P1 5.00 off (priority 2): P0 applies (4.80 off
    // 48.00) and stops the list. 43.20.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "stop",
            promotions: vec![
                with(
                    with(percent_off("10 % and stop", "10"), "stop", json!(true)),
                    "priority",
                    json!(1),
                ),
                with(amount_off("5 off", "5"), "priority", json!(2)),
            ],
            lines: vec![(TSHIRT, LARGE, 2)],
            expect: vec![
                ("/cart/discounts/#", "1"),
                ("/cart/discount_amount", "4.80"),
                ("/grand_total", "43.20"),
            ],
            ..Default::default()
        },
    )
    .await;
    // Without the stop both apply: 4.80, then 5.00 of the 43.20 left. 38.20.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", ctx.promotion(0)),
            json!({"stop": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = Scenario {
        name: "no stop",
        lines: vec![(TSHIRT, LARGE, 2)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            ("/cart/discounts/#", "2"),
            ("/cart/discount_amount", "9.80"),
            ("/grand_total", "38.20"),
        ],
    );
}

async fn priority_decides_the_order(app: TestApp) {
    let app = shop(app).await;
    // P0 10.00 off (priority 1) before P1 20 % (priority 2), on 48.00:
    // 10.00, then 20 % of 38.00 = 7.60; 48.00 − 17.60 = 30.40.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "fixed first",
            promotions: vec![
                with(amount_off("10 off", "10"), "priority", json!(1)),
                with(percent_off("20 %", "20"), "priority", json!(2)),
            ],
            lines: vec![(TSHIRT, LARGE, 2)],
            expect: vec![
                ("/cart/discounts/0/id", "$P0"),
                ("/cart/discounts/0/discounted_amount", "10"),
                ("/cart/discounts/1/id", "$P1"),
                ("/cart/discounts/1/discounted_amount", "7.60"),
                ("/grand_total", "30.40"),
            ],
            ..Default::default()
        },
    )
    .await;
    // P1 moved to priority 0: 20 % of 48.00 = 9.60, then 10.00; 48.00 − 19.60 = 28.40.
    let r = app
        .put(
            &format!("{PROMOTIONS}/{}", ctx.promotion(1)),
            json!({"priority": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = Scenario {
        name: "percentage first",
        lines: vec![(TSHIRT, LARGE, 2)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            ("/cart/discounts/0/id", "$P1"),
            ("/cart/discounts/0/discounted_amount", "9.60"),
            ("/cart/discounts/1/id", "$P0"),
            ("/cart/discounts/1/discounted_amount", "10"),
            ("/grand_total", "28.40"),
        ],
    );
}

// ---------- tax ----------

async fn tax_inclusive_prices_tax_the_discounted_amount(app: TestApp) {
    let app = shop(app).await;
    // Prices include tax. 10 % off the lamp (19.99 with tax): 1.999 → 2.00, leaving
    // 17.99 with tax. CA 7.25 % taken out of each amount:
    //   lamp     17.99 / 1.0725 = 16.7739 → tax 1.2161 → 1.22, ex 16.77
    //   shipping  7.50 / 1.0725 =  6.9930 → tax 0.5070 → 0.51, ex 6.99
    //   handling  1.00 / 1.0725 =  0.9324 → tax 0.0676 → 0.07, ex 0.93
    // Tax 1.80 (2.06 without the discount); grand total 17.99 + 7.50 + 1.00 = 26.49.
    // Subtotal before discounts: 19.99 with tax, 19.99 / 1.0725 = 18.639 → 18.64 without
    // (checkouts.v3.yml: "Subtotal of the checkout before applying item-level discounts
    // excluding tax"; the same 18.64 as without the promotion).
    run(
        &app,
        Scenario {
            name: "prices include tax, 10 % off",
            tax_settings: Some(
                json!({"tax_entered_with_prices": true, "should_subtract_store_tax": false}),
            ),
            promotions: vec![percent_off("10 %", "10")],
            lines: vec![(LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            expect: vec![
                ("/cart/tax_included", "true"),
                (PHYS0_DISCOUNT, "2.00"),
                ("/cart/cart_amount_inc_tax", "17.99"),
                ("/cart/cart_amount_ex_tax", "16.77"),
                ("/shipping_cost_total_ex_tax", "6.99"),
                ("/shipping_cost_total_inc_tax", "7.50"),
                ("/handling_cost_total_ex_tax", "0.93"),
                ("/tax_total", "1.80"),
                ("/grand_total", "26.49"),
                ("/subtotal_inc_tax", "19.99"),
                ("/subtotal_ex_tax", "18.64"),
            ],
            ..Default::default()
        },
    )
    .await;
}

async fn discount_lowers_california_tax(app: TestApp) {
    let app = shop(app).await;
    // PCT15 on the lamp: 3.00 off, 16.99 left. CA tax: 16.99 × 7.25 % = 1.2318 → 1.23;
    // shipping 0.54; handling 0.07; 1.84 (2.06 without the coupon).
    // Grand total 16.99 + 7.50 + 1.00 + 1.84 = 27.33 (30.55 without).
    run(
        &app,
        Scenario {
            name: "CA tax on the discounted lamp",
            coupons: vec![coupon("PCT15", "percentage_discount", "15")],
            lines: vec![(LAMP, None, 1)],
            ship_to: Some((ca(), "Standard")),
            codes: vec!["PCT15"],
            expect: vec![
                (PHYS0_DISCOUNT, "3.00"),
                ("/cart/cart_amount_ex_tax", "16.99"),
                ("/taxes/0/amount", "1.84"),
                ("/tax_total", "1.84"),
                ("/subtotal_ex_tax", "19.99"),
                ("/grand_total", "27.33"),
            ],
            ..Default::default()
        },
    )
    .await;
}

// ---------- currencies ----------

async fn yen_cart_rounds_to_whole_yen(app: TestApp) {
    let app = shop(app).await;
    // JPY at 150: lamp 19.99 → 2998.5 → ¥2999; large T-shirt 24.00 → ¥3600; ¥6599.
    // 15 % off from a 40.00 minimum spend (¥6000): 6599 × 15 % = 989.85 → ¥990, spread:
    //   lamp    990 × 2999 / 6599 = 449.92 → 449 + 1 leftover = 450
    //   T-shirt 990 × 3600 / 6599 = 540.08 → 540
    // ¥6599 − ¥990 = ¥5609.
    let (ctx, id, _) = run(
        &app,
        Scenario {
            name: "JPY 15 % over 40.00",
            coupons: vec![coupon("PCT15", "percentage_discount", "15")],
            promotions: vec![automatic(
                "15 % over 40",
                json!([{"action": {"cart_value": {"discount": {"percentage_amount": "15"}}},
                        "condition": {"cart": {"minimum_spend": "40"}}}]),
            )],
            currency: Some("JPY"),
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            expect: vec![
                ("/cart/currency/code", "JPY"),
                ("/cart/base_amount", "6599"),
                (PHYS0_DISCOUNT, "450"),
                (PHYS1_DISCOUNT, "540"),
                ("/cart/discount_amount", "990"),
                ("/grand_total", "5609"),
            ],
            ..Default::default()
        },
    )
    .await;
    // V2 coupons work in the store's default currency only.
    let r = apply_code(&app, &id, "PCT15").await;
    assert_refused(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["PCT15", "default currency"],
    );
    // A lamp alone, ¥2999, is under the ¥6000 the 40.00 minimum converts to: nothing off.
    let s = Scenario {
        name: "JPY lamp under the minimum",
        currency: Some("JPY"),
        lines: vec![(LAMP, None, 1)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[(PHYS0_DISCOUNT, "0"), ("/grand_total", "2999")],
    );
}

// ---------- manual discounts ----------

async fn manual_discount_replaces_promotions_and_coupons(app: TestApp) {
    let app = shop(app).await;
    // Before: 10 % of 48.00 = 4.80, then TOTAL5 5.00; 48.00 − 9.80 = 38.20.
    let (ctx, id, _) = run(
        &app,
        Scenario {
            name: "10 % + TOTAL5",
            coupons: vec![coupon("TOTAL5", "per_total_discount", "5")],
            promotions: vec![percent_off("10 %", "10")],
            lines: vec![(TSHIRT, LARGE, 2)],
            codes: vec!["TOTAL5"],
            expect: vec![(PHYS0_DISCOUNT, "9.80"), ("/grand_total", "38.20")],
            ..Default::default()
        },
    )
    .await;
    // A manual 3.00 discount replaces both: 48.00 − 3.00 = 45.00.
    let r = app
        .post(
            &format!("{CHECKOUTS}/{id}/discounts"),
            json!({"cart": {"discounts": [{"discounted_amount": 3}]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    verify(
        &ctx,
        "manual 3.00",
        &read(&app, &id).await,
        &[
            (PHYS0_DISCOUNT, "3"),
            ("/cart/line_items/physical_items/0/coupon_amount", "0"),
            ("/cart/line_items/physical_items/0/discounts/#", "1"),
            (
                "/cart/line_items/physical_items/0/discounts/0/id",
                "manual-discount",
            ),
            ("/cart/discounts/#", "1"),
            ("/cart/discounts/0/id", "manual-discount"),
            ("/cart/discounts/0/discounted_amount", "3"),
            ("/cart/discount_amount", "3"),
            ("/grand_total", "45.00"),
        ],
    );
}

// ---------- gift certificates and store credit ----------

/// Lamp to CA by Standard: 19.99 + 7.50 + 1.00 + tax (1.45 + 0.54 + 0.07 = 2.06) = 30.55.
fn lamp_to_ca() -> Scenario {
    Scenario {
        lines: vec![(LAMP, None, 1)],
        ship_to: Some((ca(), "Standard")),
        ..Default::default()
    }
}

/// Three lamps to CA by Standard: 59.97 + 7.50 + 1.00 + tax (59.97 × 7.25 % = 4.3478 →
/// 4.35, + 0.54 + 0.07 = 4.96) = 73.43.
fn three_lamps_to_ca() -> Scenario {
    Scenario {
        lines: vec![(LAMP, None, 3)],
        ship_to: Some((ca(), "Standard")),
        ..Default::default()
    }
}

async fn gift_certificate_pays_part(app: TestApp) {
    let app = shop(app).await;
    // 30.55, 10.00 of it by certificate: 20.55 outstanding. Tax is untouched (2.06).
    run(
        &app,
        Scenario {
            name: "GIFT-DEMO-10 on 30.55",
            gift_certificates: vec!["GIFT-DEMO-10"],
            expect: vec![
                ("/gift_certificates/0/code", "GIFT-DEMO-10"),
                ("/gift_certificates/0/balance", "10"),
                ("/gift_certificates/0/used", "10"),
                ("/gift_certificates/0/remaining", "0"),
                ("/tax_total", "2.06"),
                ("/grand_total", "30.55"),
                ("/outstanding_balance", "20.55"),
            ],
            ..lamp_to_ca()
        },
    )
    .await;
}

async fn gift_certificate_pays_all(app: TestApp) {
    let app = shop(app).await;
    // 30.55 of the 50.00 balance used, 19.45 left on it, nothing outstanding.
    run(
        &app,
        Scenario {
            name: "GIFT-DEMO-50 on 30.55",
            gift_certificates: vec!["GIFT-DEMO-50"],
            expect: vec![
                ("/gift_certificates/0/used", "30.55"),
                ("/gift_certificates/0/remaining", "19.45"),
                ("/tax_total", "2.06"),
                ("/grand_total", "30.55"),
                ("/outstanding_balance", "0"),
            ],
            ..lamp_to_ca()
        },
    )
    .await;
}

async fn two_gift_certificates_combine(app: TestApp) {
    let app = shop(app).await;
    // 73.43: GIFT-DEMO-10 first pays 10.00, GIFT-DEMO-50 then 50.00 of the 63.43 left;
    // 13.43 outstanding.
    run(
        &app,
        Scenario {
            name: "GIFT-DEMO-10 + GIFT-DEMO-50 on 73.43",
            gift_certificates: vec!["GIFT-DEMO-10", "GIFT-DEMO-50"],
            expect: vec![
                ("/gift_certificates/#", "2"),
                ("/gift_certificates/0/used", "10"),
                ("/gift_certificates/1/used", "50"),
                ("/gift_certificates/1/remaining", "0"),
                ("/grand_total", "73.43"),
                ("/outstanding_balance", "13.43"),
            ],
            ..three_lamps_to_ca()
        },
    )
    .await;
}

async fn store_credit_after_a_certificate(app: TestApp) {
    let app = shop(app).await;
    // 73.43: the certificate pays 10.00 first, then all 25.00 of store credit;
    // 73.43 − 10.00 − 25.00 = 38.43 outstanding. The taxable amount is untouched.
    run(
        &app,
        Scenario {
            name: "GIFT-DEMO-10 then 25.00 store credit on 73.43",
            customer_credit: Some("25"),
            gift_certificates: vec!["GIFT-DEMO-10"],
            store_credit: true,
            expect: vec![
                ("/gift_certificates/0/used", "10"),
                ("/is_store_credit_applied", "true"),
                ("/store_credit_used", "25"),
                ("/tax_total", "4.96"),
                ("/grand_total", "73.43"),
                ("/outstanding_balance", "38.43"),
            ],
            ..three_lamps_to_ca()
        },
    )
    .await;
}

// ---------- round trips and banners ----------

/// A checkout as JSON without what changes on every write.
fn without_stamps(mut c: Value) -> Value {
    for pointer in ["", "/cart"] {
        if let Some(o) = c.pointer_mut(pointer).and_then(Value::as_object_mut) {
            o.remove("version");
            o.remove("updated_time");
        }
    }
    c
}

async fn coupon_on_and_off_restores_the_checkout(app: TestApp) {
    let app = shop(app).await;
    // Lamp + large T-shirt to CA with an automatic 10 % (lamp 2.00, T-shirt 2.40):
    // items 39.59; tax 17.99 → 1.3043 → 1.30, 21.60 → 1.566 → 1.57, 0.54, 0.07 = 3.48;
    // 39.59 + 7.50 + 1.00 + 3.48 = 51.57.
    let (ctx, id, before) = run(
        &app,
        Scenario {
            name: "before the coupon",
            coupons: vec![coupon("TOTAL10", "per_total_discount", "10")],
            promotions: vec![percent_off("10 %", "10")],
            lines: vec![(LAMP, None, 1), (TSHIRT, LARGE, 1)],
            ship_to: Some((ca(), "Standard")),
            expect: vec![("/tax_total", "3.48"), ("/grand_total", "51.57")],
            ..Default::default()
        },
    )
    .await;
    // With TOTAL10 over 17.99 and 21.60 (39.59):
    //   lamp 1000 × 17.99 / 39.59 = 454.41 → 454;  T-shirt 545.59 → 545 + 1 = 546
    // leaving 13.45 and 16.14 (29.59); tax 0.98 + 1.17 + 0.54 + 0.07 = 2.76;
    // 29.59 + 7.50 + 1.00 + 2.76 = 40.85.
    let r = apply_code(&app, &id, "TOTAL10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    verify(
        &ctx,
        "with the coupon",
        &read(&app, &id).await,
        &[
            (PHYS0_DISCOUNT, "6.54"),
            (PHYS1_DISCOUNT, "7.86"),
            ("/tax_total", "2.76"),
            ("/grand_total", "40.85"),
        ],
    );
    let r = remove_code(&app, &id, "total10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after = read(&app, &id).await;
    assert_eq!(
        without_stamps(after),
        without_stamps(before),
        "taking the coupon off restores the checkout"
    );
}

async fn banners_follow_the_promotion(app: TestApp) {
    let app = shop(app).await;
    let promotion = with(
        ten_percent_over_100(),
        "notifications",
        json!([
            {"content": "Spend $100, save 10%", "type": "UPSELL", "locations": ["HOME_PAGE", "CART_PAGE"]},
            {"content": "You saved 10%", "type": "APPLIED", "locations": ["CHECKOUT_PAGE"]}
        ]),
    );
    // Under the threshold (one jacket, 29.99): the upsell banner, nothing off.
    let (ctx, _, _) = run(
        &app,
        Scenario {
            name: "upsell banner",
            promotions: vec![promotion],
            lines: vec![(JACKET, None, 1)],
            expect: vec![
                ("/promotions/0/banners/#", "1"),
                ("/promotions/0/banners/0/id", "$P0"),
                ("/promotions/0/banners/0/type", "upsell"),
                ("/promotions/0/banners/0/page/0", "homepage"),
                ("/promotions/0/banners/0/page/1", "cartpage"),
                ("/promotions/0/banners/0/text", "Spend $100, save 10%"),
                ("/grand_total", "29.99"),
            ],
            ..Default::default()
        },
    )
    .await;
    // At the threshold (5 small T-shirts, 100.00): the applied banner, 10.00 off.
    let s = Scenario {
        name: "applied banner",
        lines: vec![(TSHIRT, SMALL, 5)],
        ..Default::default()
    };
    let (_, c) = checkout(&app, &s).await;
    verify(
        &ctx,
        s.name,
        &c,
        &[
            ("/promotions/0/banners/#", "1"),
            ("/promotions/0/banners/0/type", "applied"),
            ("/promotions/0/banners/0/page/0", "checkoutpage"),
            ("/promotions/0/banners/0/text", "You saved 10%"),
            ("/grand_total", "90.00"),
        ],
    );
}
