//! Headless Chromium buys on Kassa's hosted pages, driven by the node scripts in
//! `tests/browser/` (playwright-core on Debian's `chromium`; nothing downloads a
//! browser). Each scenario prints the order id and the totals the page showed; the
//! test then reads that order through the V2 Orders API and compares to the cent.
//!
//! Without `chromium` or `node` the tests print `SKIPPED: …` and pass, except under
//! `CI=true`, where a missing tool is a failure.

mod common;

use common::{Backend, TestApp, spawn_app};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::Mutex;

/// `npm ci` runs once per test binary, whichever scenario gets there first.
static NPM: Mutex<bool> = Mutex::new(false);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("KASSA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

fn have_node() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the browser tools are here; `None` means skip (never under CI).
fn tools() -> Option<PathBuf> {
    let missing = match (chromium(), have_node()) {
        (Some(c), true) => {
            ensure_node_modules();
            return Some(c);
        }
        (None, _) => "chromium (/usr/bin/chromium, or set KASSA_CHROMIUM)",
        (_, false) => "node",
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing} is missing, and CI=true: the browser tests must run in CI");
    }
    eprintln!("SKIPPED: browser test, {missing} is not installed");
    None
}

fn ensure_node_modules() {
    let mut done = NPM.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    let dir = browser_dir();
    if !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status()
            .expect("run npm ci in tests/browser");
        assert!(status.success(), "npm ci in tests/browser failed");
    }
    *done = true;
}

/// Runs one scenario script against `url`; returns the JSON it printed last.
fn run_scenario(script: &str, chromium: &Path, url: &str, extra: &[(&str, &str)]) -> Value {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join(script))
        .env("KASSA_URL", url)
        .env("CHROMIUM_PATH", chromium)
        .env(
            "SCREENSHOT_DIR",
            std::env::var_os("KASSA_SCREENSHOT_DIR").unwrap_or_else(|| shots.into_os_string()),
        );
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{script} printed no result:\n{stdout}\n{stderr}"));
    serde_json::from_str(last).expect("scenario result is JSON")
}

/// `"$61.84"` → 61.84.
fn shown(v: &Value) -> Decimal {
    let s: String = v
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    Decimal::from_str(&s).unwrap_or_else(|_| panic!("not an amount: {v}"))
}

fn v2(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_default()).unwrap_or_else(|_| panic!("{v}"))
}

/// The Kassa Mug (12.50) and the coupon SAVE5 (5 off); returns the mug's product id.
async fn mug_and_coupon(app: &TestApp) -> i64 {
    let r = app
        .post(
            "/stores/demo/v3/catalog/products",
            json!({"name": "Kassa Mug", "type": "physical", "price": 12.5, "weight": 1,
                   "categories": [1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let product = r.data()["id"].as_i64().expect("product id");
    let r = app
        .post(
            "/stores/demo/v2/coupons",
            json!({"name": "Five off", "code": "SAVE5", "type": "per_total_discount",
                   "amount": "5", "applies_to": {"entity": "categories", "ids": [0]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    product
}

/// A cart of two mugs; returns its cart, checkout and embedded checkout links.
async fn links_all(app: &TestApp) -> (String, String, String) {
    links_for(app, 0).await
}

/// [`links_all`] for a cart of `customer` (0: a guest).
async fn links_for(app: &TestApp, customer: i64) -> (String, String, String) {
    let product = mug_and_coupon(app).await;
    let r = app
        .post(
            "/stores/demo/v3/carts",
            json!({"customer_id": customer,
                   "line_items": [{"product_id": product, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = r.data()["id"].as_str().expect("cart id").to_string();
    let r = app
        .post(
            &format!("/stores/demo/v3/carts/{cart}/redirect_urls"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let url = |k: &str| r.data()[k].as_str().expect("redirect url").to_string();
    (
        url("cart_url"),
        url("checkout_url"),
        url("embedded_checkout_url"),
    )
}

/// The order the scenario placed, as V2 shows it, has the totals the page showed.
async fn assert_order_matches(app: &TestApp, result: &Value) {
    let order_id = result["orderId"].as_i64().expect("orderId");
    let r = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let o = &r.body;
    assert_eq!(v2(&o["total_inc_tax"]), shown(&result["total"]), "{o}");
    assert_eq!(
        v2(&o["discount_amount"]) + v2(&o["coupon_discount"]),
        shown(&result["couponDiscount"]).abs(),
        "{o}"
    );
    assert_eq!(
        v2(&o["gift_certificate_amount"]),
        shown(&result["giftCertificate"]).abs(),
        "{o}"
    );
    // The demo store prices before tax: the page shows subtotal and shipping (with
    // its handling fee, as one line) before tax, and the tax on its own line.
    assert_eq!(v2(&o["subtotal_ex_tax"]), shown(&result["subtotal"]), "{o}");
    assert_eq!(
        v2(&o["shipping_cost_ex_tax"]) + v2(&o["handling_cost_ex_tax"]),
        shown(&result["shipping"]),
        "{o}"
    );
    assert_eq!(v2(&o["total_tax"]), shown(&result["tax"]), "{o}");
    assert_eq!(
        shown(&result["subtotal"]) - shown(&result["couponDiscount"]).abs()
            + shown(&result["shipping"])
            + shown(&result["tax"]),
        shown(&result["total"]),
        "the page's lines add up to its total: {result}"
    );
    // Paid in full: the card took what the gift certificate left.
    assert_eq!(o["status"], "Awaiting Fulfillment", "{o}");
    assert_eq!(o["billing_address"]["email"], "grace@example.com");
}

/// A purchase on the hosted pages; with `customer`, the cart is that customer's (the
/// checkout then offers to save the address). Returns the app and the scenario's result.
async fn hosted_purchase(script: &str, customer: Option<&str>) -> Option<(TestApp, Value)> {
    let chromium = tools()?;
    let app = spawn_app(Backend::Sqlite).await?;
    let customer_id = match customer {
        None => 0,
        Some(email) => {
            let r = app
                .post(
                    "/stores/demo/v3/customers",
                    json!([{"email": email, "first_name": "Grace", "last_name": "Hopper"}]),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["data"][0]["id"].as_i64().expect("customer id")
        }
    };
    let (cart_link, link, _) = links_for(&app, customer_id).await;
    let result = tokio::task::spawn_blocking({
        let chromium = chromium.clone();
        let script = script.to_string();
        move || run_scenario(&script, &chromium, &link, &[("KASSA_CART_URL", &cart_link)])
    })
    .await
    .expect("scenario thread");
    assert_order_matches(&app, &result).await;
    // The link was single-use: opening it again is refused.
    let again = app
        .client
        .get(result["link"].as_str().expect("link"))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    Some((app, result))
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_checkout_by_mouse() {
    hosted_purchase("hosted-mouse.mjs", None).await;
}

/// With the keyboard alone, as a customer, who ticks "Save this address" with Space: the
/// billing address is in the customer's book after the order.
#[tokio::test(flavor = "multi_thread")]
async fn hosted_checkout_by_keyboard() {
    let Some((app, result)) =
        hosted_purchase("hosted-keyboard.mjs", Some("grace@example.com")).await
    else {
        return;
    };
    assert_eq!(result["savedAddress"], true, "{result}");
    let order_id = result["orderId"].as_i64().expect("orderId");
    let r = app.get(&format!("/stores/demo/v2/orders/{order_id}")).await;
    let customer = r.body["customer_id"].as_i64().expect("customer id");
    assert!(customer > 0, "{}", r.body);
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={customer}"
        ))
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 1, "{}", r.body);
    assert_eq!(r.body["data"][0]["address1"], "1 Market St", "{}", r.body);
}

/// A merchant's page on a second port that frames the embedded checkout and records
/// every message it receives. Returns the page's URL and origin.
async fn merchant_site(embedded_url: String) -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind merchant site");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let html = format!(
        "<!doctype html><html><head><title>Merchant</title></head><body><h1>Merchant shop</h1>\
<script>window.kassaMessages = []; window.addEventListener('message', function (e) {{ window.kassaMessages.push({{origin: e.origin, data: e.data}}); }});</script>\
<iframe id=\"kassa-frame\" title=\"Checkout\" src=\"{embedded_url}\" style=\"width:100%;height:1600px;border:0\"></iframe></body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("{origin}/"), origin)
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_checkout_tells_the_merchant_page() {
    let Some(chromium) = tools() else { return };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let (_, _, embedded) = links_all(&app).await;
    let (page, origin) = merchant_site(embedded.clone()).await;
    let mut store = app.kassa.find_store("demo").await.expect("demo store");
    store.settings.storefront_origins = vec![origin];
    app.kassa
        .store
        .update_store_settings(store.id, &store.settings)
        .await
        .expect("allow the merchant's origin");
    let result = tokio::task::spawn_blocking(move || {
        run_scenario(
            "embedded.mjs",
            &chromium,
            &embedded,
            &[("KASSA_EMBED_PAGE", &page)],
        )
    })
    .await
    .expect("scenario thread");
    assert_order_matches(&app, &result).await;
}

/// BigCommerce's Checkout JS SDK, loaded from npm unchanged, buys four times on a page at
/// the store's storefront origin: by test card (with a coupon and a gift certificate),
/// cash on delivery as a guest, as a customer who signs in (and has the checkout's address
/// saved with `shouldSaveAddress`), and as a shopper who opens an account and saves an
/// address through the SDK. V2 shows each order with the SDK's totals.
#[tokio::test(flavor = "multi_thread")]
async fn checkout_sdk_places_orders() {
    let Some(chromium) = tools() else { return };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    // The page makes its carts through the Storefront API, as a storefront does.
    let product = mug_and_coupon(&app).await;
    let mut store = app.kassa.find_store("demo").await.expect("demo store");
    store.settings.offline_payment_methods = vec!["cod".into()];
    app.kassa
        .store
        .update_store_settings(store.id, &store.settings)
        .await
        .expect("offer cash on delivery");
    // A customer who signs in through the SDK for the third order.
    let r = app
        .post(
            "/stores/demo/v3/customers",
            json!([{"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                    "authentication": {"new_password": "analytical-1843"}}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ada = r.body["data"][0]["id"].as_i64().expect("customer id");
    // The demo store's storefront domain is `localhost`.
    let origin = app.base.replace("127.0.0.1", "localhost");
    let result = tokio::task::spawn_blocking(move || {
        run_scenario(
            "checkout-sdk.mjs",
            &chromium,
            &origin,
            &[
                ("KASSA_STOREFRONT_ORIGIN", &origin),
                ("KASSA_PRODUCT_ID", &product.to_string()),
                ("KASSA_CUSTOMER_EMAIL", "ada@example.com"),
                ("KASSA_CUSTOMER_PASSWORD", "analytical-1843"),
                ("KASSA_NEW_ACCOUNT_EMAIL", "alan@example.com"),
            ],
        )
    })
    .await
    .expect("scenario thread");
    assert_eq!(result["method"], "testgateway.card", "{result}");
    assert_order_matches(&app, &result).await;
    assert!(
        shown(&result["giftCertificate"]) > Decimal::ZERO,
        "{result}"
    );

    // Cash on delivery: placed, waiting for the money, for what the SDK showed.
    let offline = &result["offline"];
    assert_eq!(offline["status"], "AWAITING_PAYMENT", "{offline}");
    let id = offline["orderId"].as_i64().expect("orderId");
    let r = app.get(&format!("/stores/demo/v2/orders/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "Awaiting Payment", "{}", r.body);
    assert_eq!(r.body["payment_method"], "Cash on Delivery", "{}", r.body);
    assert_eq!(v2(&r.body["total_inc_tax"]), shown(&offline["total"]));
    assert_eq!(v2(&r.body["subtotal_ex_tax"]), shown(&offline["subtotal"]));
    assert_eq!(v2(&r.body["total_tax"]), shown(&offline["tax"]));
    assert_eq!(r.body["customer_id"], 0, "a guest's order");

    // Signed in through the SDK: the checkout showed the customer, the SDK read the
    // refusals' messages, and V2 shows the order as the customer's.
    let signed = &result["signedIn"];
    assert_eq!(signed["signedIn"]["id"], ada, "{signed}");
    assert_eq!(signed["signedIn"]["isGuest"], false, "{signed}");
    assert_eq!(signed["signedIn"]["email"], "ada@example.com");
    assert_eq!(signed["signedIn"]["fullName"], "Ada Lovelace");
    assert_eq!(
        signed["messages"]["signIn"], "The email address or password you entered is not valid.",
        "{signed}"
    );
    let coupon = signed["messages"]["coupon"]
        .as_str()
        .expect("coupon message");
    assert!(coupon.contains("NO-SUCH-CODE"), "{signed}");
    assert!(!coupon.contains("[object Object]"), "{signed}");
    let id = signed["orderId"].as_i64().expect("orderId");
    let r = app.get(&format!("/stores/demo/v2/orders/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["customer_id"], ada, "{}", r.body);
    assert_eq!(v2(&r.body["total_inc_tax"]), shown(&signed["total"]));
    // The address the SDK sent with `shouldSaveAddress` is in Ada's book, once (billing and
    // shipping were the same address).
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={ada}"
        ))
        .await;
    assert_eq!(r.body["meta"]["pagination"]["total"], 1, "{}", r.body);
    assert_eq!(r.body["data"][0]["address1"], "1 Market St", "{}", r.body);
    assert_eq!(r.body["data"][0]["first_name"], "Grace", "{}", r.body);

    // An account opened through the SDK signs the shopper in; the address it saved is in
    // the SDK's customer and the customer's address book; the order is the new customer's.
    let made = &result["created"];
    let account = &made["created"];
    assert_eq!(account["isGuest"], false, "{made}");
    assert_eq!(account["email"], "alan@example.com", "{made}");
    assert_eq!(account["fullName"], "Alan Turing", "{made}");
    let alan = account["id"].as_i64().expect("new customer id");
    assert!(
        made["messages"]["account"]
            .as_str()
            .unwrap_or_default()
            .contains("8 to 128"),
        "{made}"
    );
    assert_eq!(account["addresses"][0]["city"], "San Francisco", "{made}");
    assert_eq!(account["addresses"][0]["stateOrProvince"], "California");
    let r = app
        .get(&format!(
            "/stores/demo/v3/customers/addresses?customer_id:in={alan}"
        ))
        .await;
    assert_eq!(
        r.body["data"][0]["id"], account["addresses"][0]["id"],
        "{}",
        r.body
    );
    assert_eq!(r.body["data"][0]["postal_code"], "94105");
    let id = made["orderId"].as_i64().expect("orderId");
    let r = app.get(&format!("/stores/demo/v2/orders/{id}")).await;
    assert_eq!(r.body["customer_id"], alan, "{}", r.body);
    assert_eq!(v2(&r.body["total_inc_tax"]), shown(&made["total"]));
}
