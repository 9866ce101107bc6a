//! The pricing engine (`Cart::price`) by number of cart lines, in memory.
//!
//! ```text
//! cargo bench --bench checkout_pricing
//! cargo bench --bench checkout_pricing -- --seconds 2 --sizes 10,100,1000,5000
//! cargo bench --bench checkout_pricing -- --steps     # also time the engine's parts
//! cargo bench --bench checkout_pricing -- --offers    # promotions and a coupon instead
//! ```
//!
//! With `--offers`, the manual discount (which replaces promotions) is left out and the
//! checkout is priced with three automatic promotions — 5 % off orders from 50.00, "buy any
//! of every third product, get one of every fifth half off" repeating, free shipping in the
//! US zone — and a 10 % V2 coupon on everything.
//!
//! No HTTP and no database: it builds a store-like shipping and tax configuration and a
//! product catalog as domain values, then for each size N a checkout with N distinct
//! catalog lines (every tenth one digital), a billing address, two consignments (CA and NY)
//! splitting the physical items, a selected shipping option on each, a cart-level manual
//! discount and a fee. It then times, many times over, `Cart::price(Some(&rules))` (lines,
//! discount allocation, shipping quotes per consignment, tax per destination, totals),
//! `serde_json` serialization of the priced cart (what a save costs) and deserialization
//! (what a read costs). It prints a markdown table with mean, p50 and p99 per call, the
//! cost per line, and the growth ratio from one size to the next (equal to the size ratio
//! when the cost is linear). Results and their interpretation: `BENCHMARKS.md`.
//!
//! Every cart also holds one custom item (gift wrap, shipped with the first consignment).
//! Carts hold at most `MAX_CART_LINES` (1,000) lines of every kind, so `Cart::create`
//! refuses the 1,000-line cart (1,001 with the custom item) and the 5,000-line one; those
//! are put together from the lines of several carts of at most 1,000, which the pricing
//! engine does not mind. The 5,000-line size shows the growth beyond the limit.

use kassa::domain::address::Address;
use kassa::domain::cart::{
    Cart, CustomItemSpec, LineItemSpec, MAX_CART_LINES, NewCart, ProductsById,
};
use kassa::domain::catalog::{Availability, InventoryTracking, Product, ProductType, Variant};
use kassa::domain::checkout::{ConsignmentItem, ConsignmentSpec, FeeSpec, Offers, PricingRules};
use kassa::domain::coupon::{AppliesTo, AppliesToEntity, Coupon, CouponType};
use kassa::domain::discount::CodeOffer;
use kassa::domain::money::{Currency, Money};
use kassa::domain::promotion::{
    Action, CartItemsAction, Condition, CustomerEligibility, Discount, ItemMatcher, Promotion,
    PromotionStatus, RedemptionType, Rule, Strategy,
};
use kassa::domain::shipping::{
    self, DefaultCostType, FreeShipping, HandlingFees, MethodSettings, MethodType, RateRange,
    ShipmentRequest, ShippableItem, ShippingConfig, ShippingMethod, ShippingZone, ZoneLocation,
    ZoneType,
};
use kassa::domain::tax::{self, TaxConfig, TaxableAmount};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Tax class ids as in the demo store.
#[path = "../tests/support/demo_rules.rs"]
mod demo_rules;
use demo_rules::{NON_TAXABLE_CLASS, demo_tax_config};

struct Options {
    seconds: f64,
    sizes: Vec<usize>,
    steps: bool,
    offers: bool,
}

fn usage() -> &'static str {
    "cargo bench --bench checkout_pricing -- [--seconds S] [--sizes 10,100,1000,5000] [--steps]\n\
     \n\
     --seconds S   time spent measuring each operation at each size (default 1.5)\n\
     --sizes LIST  numbers of distinct catalog lines (default 10,100,1000,5000)\n\
     --steps       also time the engine's parts (cart-only reprice, quotes, tax) per size\n\
     --offers      price with automatic promotions and a coupon instead of a manual discount"
}

fn parse_options() -> Options {
    let mut o = Options {
        seconds: 1.5,
        sizes: vec![10, 100, 1_000, 5_000],
        steps: false,
        offers: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> String {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| panic!("{name} needs a value\n\n{}", usage()))
        };
        match flag.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--seconds" | "-s" => {
                o.seconds = value("--seconds")
                    .parse()
                    .expect("--seconds must be a number");
            }
            "--sizes" => {
                o.sizes = value("--sizes")
                    .split(',')
                    .map(|s| s.trim().parse().expect("--sizes: positive integers"))
                    .collect();
            }
            "--steps" => o.steps = true,
            "--offers" => o.offers = true,
            "--help" | "-h" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => panic!("unknown argument `{other}`\n\n{}", usage()),
        }
    }
    assert!(
        o.seconds > 0.0 && o.seconds <= 600.0,
        "--seconds must be in (0, 600]"
    );
    assert!(
        !o.sizes.is_empty() && o.sizes.iter().all(|n| (1..=100_000).contains(n)),
        "--sizes must be 1..=100000"
    );
    o
}

// ---------- the store ----------

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

fn money(s: &str) -> Money {
    Money::new(dec(s))
}

/// Like the demo store (src/service/shipping.rs), with the free-shipping threshold raised
/// to 1,000,000.00 so that shipping is charged (and taxed) at every size, and a default
/// cost above the weight table so that the weight method stays on offer for big carts.
fn shipping_config() -> ShippingConfig {
    let method = |id: i64, zone_id: i64, name: &str, method_type, settings| ShippingMethod {
        id,
        zone_id,
        name: name.to_string(),
        method_type,
        settings,
        enabled: true,
        handling_fees: HandlingFees::default(),
        tax_class_id: Some(0),
        is_fallback: false,
        channel_ids: vec![1],
    };
    let range = |lower: &str, upper: &str, cost: &str| RateRange {
        lower_limit: dec(lower),
        upper_limit: dec(upper),
        shipping_cost: money(cost),
    };
    ShippingConfig {
        zones: vec![
            ShippingZone {
                id: 1,
                name: "United States".into(),
                zone_type: ZoneType::Country,
                locations: vec![ZoneLocation {
                    id: 1,
                    country_iso2: "US".into(),
                    state_iso2: String::new(),
                    zip: String::new(),
                }],
                enabled: true,
                handling_fees: HandlingFees {
                    fixed_surcharge: money("1.00"),
                    percentage_surcharge: Decimal::ZERO,
                    display_separately: true,
                },
                free_shipping: FreeShipping {
                    enabled: true,
                    minimum_sub_total: money("1000000.00"),
                    exclude_fixed_shipping_products: false,
                },
            },
            ShippingZone {
                id: 2,
                name: "Rest of the world".into(),
                zone_type: ZoneType::Global,
                locations: vec![],
                enabled: true,
                handling_fees: HandlingFees::default(),
                free_shipping: FreeShipping::default(),
            },
        ],
        methods: vec![
            method(
                1,
                1,
                "Standard",
                MethodType::PerOrder,
                MethodSettings {
                    rate: money("7.50"),
                    ..Default::default()
                },
            ),
            method(
                2,
                1,
                "Ground by weight",
                MethodType::Weight,
                MethodSettings {
                    rate: Money::ZERO,
                    default_cost: Some(dec("40.00")),
                    default_cost_type: DefaultCostType::FixedAmount,
                    ranges: vec![
                        range("0", "1", "5.00"),
                        range("1", "5", "9.00"),
                        range("5", "20", "15.00"),
                    ],
                },
            ),
            method(
                3,
                2,
                "International flat rate",
                MethodType::PerOrder,
                MethodSettings {
                    rate: money("25.00"),
                    ..Default::default()
                },
            ),
        ],
        pickup_locations: vec![],
    }
}

fn tax_config() -> TaxConfig {
    demo_tax_config()
}

/// Product `id`: a price between 1.00 and 200.99, 0.05–2.00 kg, every tenth one digital,
/// every thirteenth one in the non-taxable class.
fn product(id: i64) -> Product {
    let cents = 100 + (id * 7_919) % 20_000;
    Product {
        id,
        name: format!("Product {id}"),
        product_type: if id % 10 == 0 {
            ProductType::Digital
        } else {
            ProductType::Physical
        },
        sku: format!("SKU-{id}"),
        description: String::new(),
        weight: Decimal::new(5 + (id * 31) % 196, 2),
        width: Decimal::ZERO,
        depth: Decimal::ZERO,
        height: Decimal::ZERO,
        price: Money::new(Decimal::new(cents, 2)),
        cost_price: Money::ZERO,
        retail_price: Money::ZERO,
        sale_price: Money::ZERO,
        map_price: Money::ZERO,
        tax_class_id: if id % 13 == 0 { NON_TAXABLE_CLASS } else { 0 },
        categories: vec![],
        brand_id: 0,
        inventory_level: 0,
        inventory_warning_level: 0,
        inventory_tracking: InventoryTracking::None,
        is_visible: true,
        is_free_shipping: false,
        fixed_cost_shipping_price: Money::ZERO,
        availability: Availability::Available,
        order_quantity_minimum: 0,
        order_quantity_maximum: 0,
        url: format!("/product-{id}/"),
        image_url: String::new(),
        date_created: 0,
        date_modified: 0,
        variants: vec![Variant {
            id: id * 10,
            product_id: id,
            sku: String::new(),
            price: None,
            sale_price: None,
            retail_price: None,
            map_price: None,
            cost_price: None,
            weight: None,
            width: None,
            height: None,
            depth: None,
            inventory_level: 0,
            inventory_warning_level: 0,
            purchasing_disabled: false,
            purchasing_disabled_message: String::new(),
            image_url: String::new(),
            upc: String::new(),
            mpn: String::new(),
            gtin: String::new(),
            bin_picking_number: String::new(),
            option_values: vec![],
        }],
        options: vec![],
        modifiers: vec![],
    }
}

fn address(state: &str, state_name: &str, postal: &str) -> Address {
    Address {
        first_name: "Pat".into(),
        last_name: "Buyer".into(),
        email: "pat@example.com".into(),
        address1: "1 Main St".into(),
        city: "Somewhere".into(),
        state_or_province: state_name.into(),
        state_or_province_code: state.into(),
        country_code: "US".into(),
        country: "United States".into(),
        postal_code: postal.into(),
        ..Address::default()
    }
}

fn promotion(id: i64, name: &str, rule: Rule) -> Promotion {
    Promotion {
        id,
        redemption_type: RedemptionType::Automatic,
        name: name.into(),
        display_name: String::new(),
        channels: vec![],
        customer: CustomerEligibility::default(),
        rules: vec![rule],
        max_uses: 0,
        status: PromotionStatus::Enabled,
        start_date: 0,
        end_date: None,
        stop: false,
        can_be_used_with_other_promotions: true,
        currency_code: "*".into(),
        notifications: vec![],
        shipping_countries: vec![],
        coupon_type: None,
        coupon_overrides_other_promotions: false,
        codes: vec![],
        priority: id,
        created_from: "api".into(),
    }
}

/// The `--offers` set: three automatic promotions and a 10 % coupon.
fn offers_setup(max: usize) -> (Vec<Promotion>, Coupon) {
    let every = |k: usize| (1..=max as i64).filter(|id| id % k as i64 == 0).collect();
    let promotions = vec![
        promotion(
            1,
            "5% off from 50",
            Rule {
                action: Action::CartValue {
                    discount: Discount::Percentage(dec("5")),
                    maximum_allowed_discount_amount: None,
                },
                apply_once: true,
                stop: false,
                condition: Some(Condition::Cart {
                    items: None,
                    minimum_spend: Some(money("50")),
                    minimum_quantity: None,
                }),
            },
        ),
        promotion(
            2,
            "Buy one, get one half off",
            Rule {
                action: Action::CartItems(CartItemsAction {
                    discount: Discount::Percentage(dec("50")),
                    maximum_allowed_discount_amount: None,
                    as_total: false,
                    items: Some(ItemMatcher::Products(every(5))),
                    include_items_considered_by_condition: false,
                    exclude_items_on_sale: false,
                    strategy: Strategy::LeastExpensive,
                    quantity: Some(1),
                }),
                apply_once: false,
                stop: false,
                condition: Some(Condition::Cart {
                    items: Some(ItemMatcher::Products(every(3))),
                    minimum_spend: None,
                    minimum_quantity: Some(1),
                }),
            },
        ),
        promotion(
            3,
            "Free US shipping",
            Rule {
                action: Action::Shipping {
                    zone_ids: Some(vec![1]),
                },
                apply_once: true,
                stop: false,
                condition: None,
            },
        ),
    ];
    let coupon = Coupon {
        id: 1,
        name: "Ten percent".into(),
        coupon_type: CouponType::PercentageDiscount,
        amount: dec("10"),
        min_purchase: Money::ZERO,
        expires: None,
        enabled: true,
        code: "TEN".into(),
        applies_to: Some(AppliesTo {
            entity: AppliesToEntity::Categories,
            ids: vec![0],
        }),
        num_uses: 0,
        max_uses: 0,
        max_uses_per_customer: 0,
        restricted_countries: vec![],
        shipping_methods: vec![],
        date_created: 0,
    };
    (promotions, coupon)
}

/// A priced checkout with `n` distinct catalog lines, ready to be priced again.
fn checkout(n: usize, catalog: &ProductsById, rules: &PricingRules, offers: &Offers) -> Cart {
    let mut next = 0u128;
    let mut new_id = move || {
        next += 1;
        Uuid::from_u128(next)
    };
    let usd = Currency::new("USD", 2, Decimal::ONE);
    let spec = |i: usize| LineItemSpec {
        product_id: i as i64 + 1,
        variant_id: None,
        quantity: 1 + (i as i64 * 3) % 5,
        list_price: None,
        name: None,
        option_selections: vec![],
    };
    // `Cart::create` takes at most MAX_CART_LINES lines (the custom item counts):
    // bigger carts are put together from the lines of several.
    let chunk = MAX_CART_LINES - 1;
    let mut cart: Option<Cart> = None;
    for start in (0..n).step_by(chunk) {
        let end = (start + chunk).min(n);
        let part = Cart::create(
            Uuid::from_u128(u128::MAX),
            NewCart {
                customer_id: 0,
                channel_id: 1,
                currency: usd.clone(),
                locale: "en".into(),
                tax_included: false,
                line_items: (start..end).map(spec).collect(),
                custom_items: if start == 0 {
                    vec![CustomItemSpec {
                        sku: "GIFT-WRAP".into(),
                        name: "Gift wrap".into(),
                        quantity: 1,
                        list_price: money("4.99"),
                        image_url: String::new(),
                    }]
                } else {
                    vec![]
                },
                gift_certificates: vec![],
            },
            catalog,
            1_700_000_000,
            &mut new_id,
        )
        .expect("cart");
        match &mut cart {
            None => cart = Some(part),
            Some(c) => c.line_items.extend(part.line_items),
        }
    }
    let mut cart = cart.expect("at least one line");
    cart.reprice();
    assert_eq!(cart.line_items.len(), n);

    cart.set_billing_address(address("CA", "California", "94105"));
    // Physical lines alternate between the two consignments; every seventh line with
    // more than one unit is split over both.
    let (mut ca, mut ny) = (Vec::new(), Vec::new());
    for (i, l) in cart
        .line_items
        .iter()
        .filter(|l| l.kind == ProductType::Physical)
        .enumerate()
    {
        let item = |quantity| ConsignmentItem {
            item_id: l.id,
            quantity,
        };
        if i % 7 == 0 && l.quantity > 1 {
            ca.push(item(1));
            ny.push(item(l.quantity - 1));
        } else if i % 2 == 0 {
            ca.push(item(l.quantity));
        } else {
            ny.push(item(l.quantity));
        }
    }
    ca.push(ConsignmentItem {
        item_id: cart.custom_items[0].id,
        quantity: 1,
    });
    let mut specs = vec![ConsignmentSpec {
        address: Some(address("CA", "California", "94105")),
        items: ca,
        pickup_method_id: None,
    }];
    if !ny.is_empty() {
        specs.push(ConsignmentSpec {
            address: Some(address("NY", "New York", "10004")),
            items: ny,
            pickup_method_id: None,
        });
    }
    cart.add_consignments(&specs).expect("consignments");
    cart.add_fees(&[FeeSpec {
        name: "service".into(),
        display_name: "Service fee".into(),
        cost: money("4.95"),
        source: "bench".into(),
        tax_class_id: Some(0),
    }])
    .expect("fee");
    // A tenth of the items' value off the whole cart (manual discounts replace offers).
    if offers.automatic.is_empty() {
        let worth = cart.totals.base_amount;
        cart.set_manual_discounts(vec![usd.round(worth * dec("0.1"))], vec![])
            .expect("discount");
    }
    // Price once for the quotes, choose one per consignment, price again.
    cart.price_with(Some(rules), offers).expect("price");
    let ids: Vec<String> = cart
        .checkout
        .consignments
        .iter()
        .map(|c| c.id.clone())
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let option = if i == 0 { "1-1" } else { "1-2" };
        cart.select_shipping_option(id, option).expect("option");
    }
    cart.price_with(Some(rules), offers).expect("price");
    cart
}

// ---------- measuring ----------

struct Sample {
    iterations: usize,
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `f` for about `seconds` (at least 20 times, after an unmeasured warm-up of about
/// a tenth of that), timing every call.
fn measure(seconds: f64, mut f: impl FnMut()) -> Sample {
    let warm_until = Instant::now() + Duration::from_secs_f64(seconds / 10.0);
    let mut warm = 0usize;
    while warm < 3 || Instant::now() < warm_until {
        f();
        warm += 1;
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < 20 || (start.elapsed() < budget && times.len() < 5_000_000) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    times.sort_unstable();
    Sample {
        iterations: times.len(),
        mean,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
    }
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn ratio(now: Duration, before: Option<(usize, Duration)>, n: usize) -> String {
    match before {
        Some((m, t)) => format!(
            "{:.2} (×{} lines)",
            now.as_secs_f64() / t.as_secs_f64(),
            n as f64 / m as f64
        ),
        None => "—".into(),
    }
}

struct Row {
    n: usize,
    units: i64,
    price: Sample,
    save: Sample,
    bytes: usize,
    read: Sample,
}

/// Times the parts of the engine that are public on their own, on the same cart.
fn steps(cart: &Cart, rules: &PricingRules, seconds: f64) {
    let cur = cart.currency.clone();
    let mut plain = cart.clone();
    let reprice = measure(seconds, || {
        plain.reprice();
        black_box(&plain);
    });
    let c = &cart.checkout.consignments[0];
    let items: Vec<ShippableItem> = c
        .items
        .iter()
        .map(|it| {
            let l = cart.line_items.iter().find(|l| l.id == it.item_id);
            ShippableItem {
                quantity: it.quantity,
                unit_weight: l.map(|l| l.weight).unwrap_or_default(),
                unit_price: l.map(|l| l.pricing.sale_price).unwrap_or_default(),
                is_free_shipping: false,
                fixed_shipping_price: None,
            }
        })
        .collect();
    let quote = measure(seconds, || {
        black_box(shipping::quotes(
            rules.shipping,
            &ShipmentRequest {
                destination: c.address.address.location(),
                items: &items,
                currency: &cur,
            },
        ));
    });
    let amounts: Vec<TaxableAmount> = c
        .items
        .iter()
        .map(|it| TaxableAmount {
            key: format!("{}@{}", it.item_id, c.id),
            tax_class_id: 0,
            amount: cart
                .line_items
                .iter()
                .find(|l| l.id == it.item_id)
                .map(|l| l.pricing.extended_sale_price)
                .unwrap_or_default(),
        })
        .collect();
    let taxing = measure(seconds, || {
        black_box(
            tax::compute_tax(
                rules.tax,
                Some(c.address.address.location()),
                &amounts,
                false,
                &cur,
            )
            .expect("tax"),
        );
    });
    println!(
        "| {} | {} | {} ({} items) | {} ({} amounts) |",
        cart.line_items.len(),
        fmt(reprice.mean),
        fmt(quote.mean),
        items.len(),
        fmt(taxing.mean),
        amounts.len()
    );
}

fn main() {
    let opts = parse_options();
    let max = *opts.sizes.iter().max().expect("sizes");
    let catalog: ProductsById = (1..=max as i64)
        .map(|id| (id, product(id).into()))
        .collect();
    let shipping = shipping_config();
    let tax = tax_config();
    let rules = PricingRules {
        shipping: &shipping,
        tax: &tax,
        prices_include_tax: false,
        tax_on_billing_address: false,
        shipping_tax_class_id: tax.settings.shipping_tax_class_id,
    };

    let (promotions, coupon) = offers_setup(max);
    let offers = if opts.offers {
        Offers {
            automatic: &promotions,
            codes: vec![CodeOffer::Legacy(&coupon)],
            now: 1_700_000_000,
            default_currency_code: "USD",
            customer_group_id: 0,
            customer_order_count: 0,
        }
    } else {
        Offers::default()
    };

    let mut rows = Vec::new();
    let mut carts = Vec::new();
    for &n in &opts.sizes {
        eprintln!("{n} lines: building the checkout");
        let mut cart = checkout(n, &catalog, &rules, &offers);
        let priced = cart.clone();
        cart.price_with(Some(&rules), &offers).expect("price");
        assert_eq!(cart, priced, "pricing again changed the cart");
        let t = &cart.checkout.totals;
        eprintln!(
            "{n} lines: grand total {} (tax {}, shipping {} + handling {}, discount {}), \
             {} consignments with {} + {} items",
            t.grand_total,
            t.tax_total,
            t.shipping_cost_total_ex_tax,
            t.handling_cost_total_ex_tax,
            cart.totals.base_amount - cart.totals.cart_amount,
            cart.checkout.consignments.len(),
            cart.checkout.consignments[0].items.len(),
            cart.checkout
                .consignments
                .get(1)
                .map_or(0, |c| c.items.len()),
        );
        assert!(
            cart.checkout
                .consignments
                .iter()
                .all(|c| c.selected_option.is_some()),
            "every consignment has its option"
        );
        let units = cart.line_items.iter().map(|l| l.quantity).sum();

        eprintln!("{n} lines: Cart::price");
        let price = measure(opts.seconds, || {
            cart.price_with(Some(&rules), &offers).expect("price");
            black_box(&cart);
        });
        eprintln!("{n} lines: serialize");
        let mut bytes = 0;
        let save = measure(opts.seconds, || {
            let v = serde_json::to_vec(black_box(&cart)).expect("serialize");
            bytes = v.len();
            black_box(v);
        });
        let json = serde_json::to_vec(&cart).expect("serialize");
        let back: Cart = serde_json::from_slice(&json).expect("deserialize");
        assert_eq!(back, cart, "a saved cart reads back the same");
        eprintln!("{n} lines: deserialize");
        let read = measure(opts.seconds, || {
            let c: Cart = serde_json::from_slice(black_box(&json)).expect("deserialize");
            black_box(c);
        });
        rows.push(Row {
            n,
            units,
            price,
            save,
            bytes,
            read,
        });
        carts.push(cart);
    }

    println!(
        "| lines | units | iterations | `price` mean | p50 | p99 | per line (mean) | mean vs previous size | \
         serialize mean (p50) | JSON size | deserialize mean (p50) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut before: Option<(usize, Duration)> = None;
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {:.1} KiB | {} ({}) |",
            r.n,
            r.units,
            r.price.iterations,
            fmt(r.price.mean),
            fmt(r.price.p50),
            fmt(r.price.p99),
            fmt(r.price.mean / r.n as u32),
            ratio(r.price.mean, before, r.n),
            fmt(r.save.mean),
            fmt(r.save.p50),
            r.bytes as f64 / 1024.0,
            fmt(r.read.mean),
            fmt(r.read.p50),
        );
        before = Some((r.n, r.price.mean));
    }
    println!();
    println!("Growth from one size to the next (time ratio; equal to the line ratio when linear):");
    println!();
    println!("| sizes | `price` mean | `price` p50 | serialize mean | deserialize mean |");
    println!("|---|---:|---:|---:|---:|");
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let q = |x: Duration, y: Duration| y.as_secs_f64() / x.as_secs_f64();
        println!(
            "| {} → {} (×{}) | {:.2} | {:.2} | {:.2} | {:.2} |",
            a.n,
            b.n,
            b.n as f64 / a.n as f64,
            q(a.price.mean, b.price.mean),
            q(a.price.p50, b.price.p50),
            q(a.save.mean, b.save.mean),
            q(a.read.mean, b.read.mean),
        );
    }

    if opts.steps {
        println!();
        println!("Parts, each alone on the first consignment (CA) of the same cart (means):");
        println!();
        println!("| lines | `reprice` (cart only) | `shipping::quotes` | `tax::compute_tax` |");
        println!("|---:|---:|---:|---:|");
        for cart in &carts {
            steps(cart, &rules, opts.seconds / 3.0);
        }
    }
}
