//! Priced checkouts, worked out by hand, on both backends. Each row builds a checkout
//! over HTTP against the demo store's shipping and tax configuration and the fixture
//! catalog, then checks every total to the cent.
//!
//! Demo rules used (see src/service/shipping.rs and src/service/tax.rs):
//! - US zone: "Standard" 7.50 per order, "Ground by weight" 0–1 kg 5.00 / 1–5 kg 9.00 /
//!   5–20 kg 15.00, handling 1.00 shown separately, free shipping (and no handling) from
//!   a 100.00 shipment; rest of world: "International flat rate" 25.00, no handling.
//! - Tax: CA 7.25 %, NY 8.875 %, EU VAT 20 %, on goods, shipping and handling; rounded
//!   per line, half up. Other places: none.
//! - Fixtures: lamp 940 (19.99, 1 kg, 3 in stock), jacket 950 (29.99 on sale, 1 kg),
//!   e-book 930 (9.99, digital), T-shirt 910 variant 1003 (24.00, 1 kg).

mod common;

use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(priced_scenarios, changing_address_clears_a_stale_selection);

const CARTS: &str = "/stores/demo/v3/carts";
const CHECKOUTS: &str = "/stores/demo/v3/checkouts";

#[derive(Clone, Copy)]
enum Item {
    /// The n-th catalog line of the cart.
    Line(usize),
    /// The n-th custom item.
    Custom(usize),
}

struct Consignment {
    address: Option<Value>,
    pickup: Option<i64>,
    items: Vec<(Item, i64)>,
    option: Option<&'static str>,
}

struct Scenario {
    name: &'static str,
    currency: &'static str,
    lines: Vec<(i64, Option<i64>, i64)>,
    customs: Vec<(f64, i64)>,
    gift_certificates: Vec<f64>,
    billing: Option<Value>,
    consignments: Vec<Consignment>,
    discount: Option<f64>,
    fees: Vec<(f64, Option<i64>)>,
    tax_settings: Option<Value>,
    // Expected totals.
    subtotal_ex: f64,
    shipping_ex: f64,
    handling_ex: f64,
    tax: f64,
    grand: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "",
            currency: "USD",
            lines: vec![],
            customs: vec![],
            gift_certificates: vec![],
            billing: None,
            consignments: vec![],
            discount: None,
            fees: vec![],
            tax_settings: None,
            subtotal_ex: 0.0,
            shipping_ex: 0.0,
            handling_ex: 0.0,
            tax: 0.0,
            grand: 0.0,
        }
    }
}

fn address(country: &str, state: &str, postal: &str) -> Value {
    json!({"first_name": "Pat", "last_name": "Buyer", "email": "pat@example.com", "address1": "1 Main St",
           "city": "Somewhere", "state_or_province_code": state, "country_code": country, "postal_code": postal})
}
fn ca() -> Option<Value> {
    Some(address("US", "CA", "94105"))
}
fn ny() -> Option<Value> {
    Some(address("US", "NY", "10004"))
}
fn de() -> Option<Value> {
    Some(address("DE", "", "10115"))
}

fn ship(
    address: Option<Value>,
    items: Vec<(Item, i64)>,
    option: Option<&'static str>,
) -> Consignment {
    Consignment {
        address,
        pickup: None,
        items,
        option,
    }
}

fn scenarios() -> Vec<Scenario> {
    use Item::*;
    vec![
        Scenario {
            name: "CA, one lamp, Standard",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 2.06,
            grand: 30.55,
            ..Default::default()
        },
        Scenario {
            name: "NY, three lamps, Ground by weight 3 kg (9.00)",
            lines: vec![(940, None, 3)],
            consignments: vec![ship(ny(), vec![(Line(0), 3)], Some("Ground by weight"))],
            subtotal_ex: 59.97,
            shipping_ex: 9.00,
            handling_ex: 1.00,
            tax: 6.21,
            grand: 76.18,
            ..Default::default()
        },
        Scenario {
            name: "CA, exactly 1 kg takes the lower weight tier (5.00)",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Ground by weight"))],
            subtotal_ex: 19.99,
            shipping_ex: 5.00,
            handling_ex: 1.00,
            tax: 1.88,
            grand: 27.87,
            ..Default::default()
        },
        Scenario {
            name: "CA, 119.96 of jackets ships free with no handling",
            lines: vec![(950, None, 4)],
            consignments: vec![ship(ca(), vec![(Line(0), 4)], Some("Standard"))],
            subtotal_ex: 119.96,
            shipping_ex: 0.0,
            handling_ex: 0.0,
            tax: 8.70,
            grand: 128.66,
            ..Default::default()
        },
        Scenario {
            name: "CA, 89.97 shipment below the threshold; e-book taxed at the shipping address",
            lines: vec![(950, None, 3), (930, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 3)], Some("Standard"))],
            subtotal_ex: 99.96,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 7.85,
            grand: 116.31,
            ..Default::default()
        },
        Scenario {
            name: "Germany, International 25.00, 20 % VAT on goods and shipping",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(
                de(),
                vec![(Line(0), 1)],
                Some("International flat rate"),
            )],
            subtotal_ex: 19.99,
            shipping_ex: 25.00,
            handling_ex: 0.0,
            tax: 9.00,
            grand: 53.99,
            ..Default::default()
        },
        Scenario {
            name: "Texas has no tax zone: no tax",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(
                Some(address("US", "TX", "73301")),
                vec![(Line(0), 1)],
                Some("Standard"),
            )],
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 0.0,
            grand: 28.49,
            ..Default::default()
        },
        Scenario {
            name: "Split: two lamps to CA, one to NY",
            lines: vec![(940, None, 3)],
            consignments: vec![
                ship(ca(), vec![(Line(0), 2)], Some("Standard")),
                ship(ny(), vec![(Line(0), 1)], Some("Standard")),
            ],
            subtotal_ex: 59.97,
            shipping_ex: 15.00,
            handling_ex: 2.00,
            tax: 6.04,
            grand: 83.01,
            ..Default::default()
        },
        Scenario {
            name: "CA, 5.00 manual discount lowers the taxable amount",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            discount: Some(5.0),
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 1.70,
            grand: 25.19,
            ..Default::default()
        },
        Scenario {
            name: "CA, a taxable 10.00 fee",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            fees: vec![(10.0, Some(0))],
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 2.79,
            grand: 41.28,
            ..Default::default()
        },
        Scenario {
            name: "CA, an untaxed 10.00 fee",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            fees: vec![(10.0, None)],
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 2.06,
            grand: 40.55,
            ..Default::default()
        },
        Scenario {
            name: "JPY, CA, one lamp (2999), Standard (1125 + 150)",
            currency: "JPY",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            subtotal_ex: 2999.0,
            shipping_ex: 1125.0,
            handling_ex: 150.0,
            tax: 310.0,
            grand: 4584.0,
            ..Default::default()
        },
        Scenario {
            name: "JPY, NY, three lamps by weight (1350 + 150)",
            currency: "JPY",
            lines: vec![(940, None, 3)],
            consignments: vec![ship(ny(), vec![(Line(0), 3)], Some("Ground by weight"))],
            subtotal_ex: 8997.0,
            shipping_ex: 1350.0,
            handling_ex: 150.0,
            tax: 931.0,
            grand: 11428.0,
            ..Default::default()
        },
        Scenario {
            name: "EUR, Germany, one lamp (18.39), International (23.00)",
            currency: "EUR",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(
                de(),
                vec![(Line(0), 1)],
                Some("International flat rate"),
            )],
            subtotal_ex: 18.39,
            shipping_ex: 23.00,
            handling_ex: 0.0,
            tax: 8.28,
            grand: 49.67,
            ..Default::default()
        },
        Scenario {
            name: "Pickup at the San Francisco store: no shipping, CA tax",
            lines: vec![(940, None, 1)],
            consignments: vec![Consignment {
                address: None,
                pickup: Some(1),
                items: vec![(Line(0), 1)],
                option: None,
            }],
            subtotal_ex: 19.99,
            shipping_ex: 0.0,
            handling_ex: 0.0,
            tax: 1.45,
            grand: 21.44,
            ..Default::default()
        },
        Scenario {
            name: "Digital only, NY billing address decides tax",
            lines: vec![(930, None, 1)],
            billing: ny(),
            subtotal_ex: 9.99,
            tax: 0.89,
            grand: 10.88,
            ..Default::default()
        },
        Scenario {
            name: "CA, a gift certificate is never taxed",
            lines: vec![(940, None, 1)],
            gift_certificates: vec![25.0],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            subtotal_ex: 44.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 2.06,
            grand: 55.55,
            ..Default::default()
        },
        Scenario {
            name: "CA, a custom item ships and is taxed in the default class",
            customs: vec![(10.0, 1)],
            consignments: vec![ship(ca(), vec![(Custom(0), 1)], Some("Standard"))],
            subtotal_ex: 10.00,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 1.34,
            grand: 19.84,
            ..Default::default()
        },
        Scenario {
            name: "NY billing, three lines rounded per line (1.77 + 2.66 + 0.44)",
            lines: vec![(940, None, 1), (950, None, 1)],
            customs: vec![(5.0, 1)],
            billing: ny(),
            subtotal_ex: 54.98,
            tax: 4.87,
            grand: 59.85,
            ..Default::default()
        },
        Scenario {
            name: "NY billing, the same lines rounded per order (4.88)",
            lines: vec![(940, None, 1), (950, None, 1)],
            customs: vec![(5.0, 1)],
            billing: ny(),
            tax_settings: Some(json!({"rounding_strategy": "NO_ROUNDING"})),
            subtotal_ex: 54.98,
            tax: 4.88,
            grand: 59.86,
            ..Default::default()
        },
        Scenario {
            name: "Germany billing, e-book with a 2.00 discount: VAT on 7.99",
            lines: vec![(930, None, 1)],
            billing: de(),
            discount: Some(2.0),
            subtotal_ex: 9.99,
            tax: 1.60,
            grand: 9.59,
            ..Default::default()
        },
        Scenario {
            name: "CA, a fully discounted lamp still pays taxed shipping",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            discount: Some(19.99),
            subtotal_ex: 19.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 0.61,
            grand: 9.11,
            ..Default::default()
        },
        Scenario {
            name: "CA, two large T-shirts (24.00) by weight 2 kg",
            lines: vec![(910, Some(1003), 2)],
            consignments: vec![ship(ca(), vec![(Line(0), 2)], Some("Ground by weight"))],
            subtotal_ex: 48.00,
            shipping_ex: 9.00,
            handling_ex: 1.00,
            tax: 4.20,
            grand: 62.20,
            ..Default::default()
        },
        Scenario {
            name: "Oregon (no tax zone), three jackets, Standard",
            lines: vec![(950, None, 3)],
            consignments: vec![ship(
                Some(address("US", "OR", "97201")),
                vec![(Line(0), 3)],
                Some("Standard"),
            )],
            subtotal_ex: 89.97,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 0.0,
            grand: 98.47,
            ..Default::default()
        },
        Scenario {
            name: "CA, exactly 100.00 ships free",
            customs: vec![(100.0, 1)],
            consignments: vec![ship(ca(), vec![(Custom(0), 1)], Some("Standard"))],
            subtotal_ex: 100.00,
            shipping_ex: 0.0,
            handling_ex: 0.0,
            tax: 7.25,
            grand: 107.25,
            ..Default::default()
        },
        Scenario {
            name: "CA, 99.99 pays shipping",
            customs: vec![(99.99, 1)],
            consignments: vec![ship(ca(), vec![(Custom(0), 1)], Some("Standard"))],
            subtotal_ex: 99.99,
            shipping_ex: 7.50,
            handling_ex: 1.00,
            tax: 7.86,
            grand: 116.35,
            ..Default::default()
        },
        Scenario {
            name: "Prices entered with tax, CA: tax is taken out of 19.99 + 7.50 + 1.00",
            lines: vec![(940, None, 1)],
            consignments: vec![ship(ca(), vec![(Line(0), 1)], Some("Standard"))],
            tax_settings: Some(
                json!({"tax_entered_with_prices": true, "should_subtract_store_tax": false}),
            ),
            subtotal_ex: 18.64,
            shipping_ex: 6.99,
            handling_ex: 0.93,
            tax: 1.93,
            grand: 28.49,
            ..Default::default()
        },
    ]
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn run(app: &TestApp, s: &Scenario) -> Value {
    if let Some(settings) = &s.tax_settings {
        let r = app
            .put("/stores/demo/v3/tax/settings", settings.clone())
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: tax settings {}",
            s.name,
            r.body
        );
    }
    let mut body = json!({
        "currency": {"code": s.currency},
        "line_items": s.lines.iter().map(|(p, v, q)| match v {
            Some(v) => json!({"product_id": p, "variant_id": v, "quantity": q}),
            None => json!({"product_id": p, "quantity": q}),
        }).collect::<Vec<_>>(),
        "custom_items": s.customs.iter().enumerate().map(|(i, (price, q))| json!({"name": format!("Custom {i}"), "quantity": q, "list_price": price})).collect::<Vec<_>>(),
        "gift_certificates": s.gift_certificates.iter().map(|a| json!({"name": "GC", "theme": "General", "amount": a, "quantity": 1,
            "sender": {"name": "S", "email": "s@example.com"}, "recipient": {"name": "R", "email": "r@example.com"}})).collect::<Vec<_>>(),
    });
    if s.currency == "USD" {
        body.as_object_mut().unwrap().remove("currency");
    }
    let r = app.post(CARTS, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}: cart {}", s.name, r.body);
    let cart = r.data().clone();
    let id = cart["id"].as_str().unwrap().to_string();
    let mut catalog_ids: Vec<String> = Vec::new();
    for kind in ["physical_items", "digital_items"] {
        for l in cart["line_items"][kind].as_array().unwrap() {
            catalog_ids.push(l["id"].as_str().unwrap().to_string());
        }
    }
    // Lines come back grouped by kind; map them to the order the scenario listed them.
    let line_id = |i: usize| -> String {
        let (p, _, _) = s.lines[i];
        for kind in ["physical_items", "digital_items"] {
            for l in cart["line_items"][kind].as_array().unwrap() {
                if l["product_id"] == p {
                    return l["id"].as_str().unwrap().to_string();
                }
            }
        }
        panic!("{}: line {i} not found", s.name)
    };
    let item_id = |it: Item| match it {
        Item::Line(i) => line_id(i),
        Item::Custom(i) => cart["line_items"]["custom_items"][i]["id"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    if let Some(b) = &s.billing {
        let r = app
            .post(&format!("{CHECKOUTS}/{id}/billing-address"), b.clone())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: billing {}", s.name, r.body);
    }
    if let Some(d) = s.discount {
        let r = app
            .post(
                &format!("{CHECKOUTS}/{id}/discounts"),
                json!({"cart": {"discounts": [{"discounted_amount": d}]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: discount {}", s.name, r.body);
    }
    if !s.fees.is_empty() {
        let fees: Vec<Value> = s
            .fees
            .iter()
            .map(|(cost, class)| json!({"type": "custom_fee", "name": "Fee", "display_name": "Fee", "cost": cost, "source": "test", "tax_class_id": class}))
            .collect();
        let r = app
            .post(&format!("{CHECKOUTS}/{id}/fees"), json!({"fees": fees}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}: fees {}", s.name, r.body);
    }
    for c in &s.consignments {
        let mut body = json!({"line_items": c.items.iter().map(|(it, q)| json!({"item_id": item_id(*it), "quantity": q})).collect::<Vec<_>>()});
        if let Some(a) = &c.address {
            body["address"] = a.clone();
        }
        if let Some(p) = c.pickup {
            body["pickup_option"] = json!({"pickup_method_id": p});
        }
        let r = app
            .post(
                &format!(
                    "{CHECKOUTS}/{id}/consignments?include=consignments.available_shipping_options"
                ),
                json!([body]),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: consignment {}",
            s.name,
            r.body
        );
        if let Some(option) = c.option {
            let cons = r.data()["consignments"].as_array().unwrap();
            let this = cons.last().unwrap();
            let cid = this["id"].as_str().unwrap();
            let opt = this["available_shipping_options"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["description"] == option)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no option {option} in {}",
                        s.name, this["available_shipping_options"]
                    )
                });
            let r = app
                .put(
                    &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
                    json!({"shipping_option_id": opt["id"]}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}: select {}", s.name, r.body);
        }
    }
    let r = app.get(&format!("{CHECKOUTS}/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    r.data().clone()
}

async fn priced_scenarios(app: TestApp) {
    let backend: Backend = app.backend;
    drop(app);
    let mut failures = Vec::new();
    for s in scenarios() {
        let Some(app) = common::spawn_app(backend).await else {
            return;
        };
        let app = app.with_fixtures().await;
        let c = run(&app, &s).await;
        let got = [
            ("subtotal_ex_tax", num(&c["subtotal_ex_tax"]), s.subtotal_ex),
            (
                "shipping_cost_total_ex_tax",
                num(&c["shipping_cost_total_ex_tax"]),
                s.shipping_ex,
            ),
            (
                "handling_cost_total_ex_tax",
                num(&c["handling_cost_total_ex_tax"]),
                s.handling_ex,
            ),
            ("tax_total", num(&c["tax_total"]), s.tax),
            ("grand_total", num(&c["grand_total"]), s.grand),
        ];
        for (field, actual, expected) in got {
            if (actual - expected).abs() > 1e-9 {
                failures.push(format!(
                    "{}: {field} = {actual}, expected {expected}",
                    s.name
                ));
            }
        }
        // The parts always make the whole.
        let parts = num(&c["cart"]["cart_amount_inc_tax"])
            + num(&c["shipping_cost_total_inc_tax"])
            + num(&c["handling_cost_total_inc_tax"])
            + c["fees"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| num(&f["cost_inc_tax"]))
                .sum::<f64>();
        if (parts - num(&c["grand_total"])).abs() > 1e-6 {
            failures.push(format!(
                "{}: parts {parts} ≠ grand total {}",
                s.name, c["grand_total"]
            ));
        }
        let by_rate: f64 = c["taxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| num(&t["amount"]))
            .sum();
        if (by_rate - num(&c["tax_total"])).abs() > 1e-6 {
            failures.push(format!(
                "{}: taxes list {by_rate} ≠ tax_total {}",
                s.name, c["tax_total"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario mismatches on {backend:?}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn changing_address_clears_a_stale_selection(app: TestApp) {
    let app = app.with_fixtures().await;
    let s = Scenario {
        name: "CA Standard, then moved to Germany",
        lines: vec![(940, None, 1)],
        consignments: vec![ship(ca(), vec![(Item::Line(0), 1)], Some("Standard"))],
        ..Default::default()
    };
    let c = run(&app, &s).await;
    assert_eq!(num(&c["grand_total"]), 30.55);
    let id = c["id"].as_str().unwrap();
    let cid = c["consignments"][0]["id"].as_str().unwrap();
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/consignments/{cid}?include=consignments.available_shipping_options"),
            json!({"address": de().unwrap()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = r.data();
    assert!(
        c["consignments"][0]
            .get("selected_shipping_option")
            .is_none(),
        "{c}"
    );
    assert_eq!(
        c["consignments"][0]["available_shipping_options"][0]["description"],
        "International flat rate"
    );
    // VAT on the lamp only, nothing shipped yet: 19.99 + 4.00.
    assert_eq!(num(&c["grand_total"]), 23.99);
    // An option that is not offered is refused and names the field.
    let r = app
        .put(
            &format!("{CHECKOUTS}/{id}/consignments/{cid}"),
            json!({"shipping_option_id": "1-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body["errors"]["shipping_option_id"].is_string());
    let r = app
        .call(Method::GET, &format!("{CHECKOUTS}/{id}"), None)
        .await;
    assert_eq!(num(&r.data()["grand_total"]), 23.99);
}
