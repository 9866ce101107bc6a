//! The discount engine: which automatic promotions, coupon promotions and V2 coupons
//! apply to a cart, and how much each takes off which line and which shipment.
//!
//! Evaluation order: promotions (automatic, and coupon promotions whose code is on the
//! checkout) by priority then id; then V2 coupons in the order they were applied. Each
//! discount is taken from what earlier ones left, rounded to the currency per line, so
//! no line, shipment or total ever goes below zero and every part adds up exactly.
//!
//! Item discounts are computed before shipping is quoted (they change the value shipping
//! rates see); shipping discounts are "grants" settled once quotes exist
//! ([`settle_shipping`]).

use super::DomainError;
use super::checkout::allocate;
use super::coupon::{Coupon, CouponType};
use super::money::{Currency, Money};
use super::promotion::{
    Action, CartItemsAction, Condition, Discount, ItemFacts, ItemMatcher, Promotion, PromotionCode,
    RedemptionType, Strategy,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// The `discounts[].id` that V2 coupons' share of a line carries.
pub const COUPON_DISCOUNT_ID: &str = "coupon";

/// Where a discount came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Promotion(i64),
    /// A code on the checkout (a V2 coupon's or a coupon promotion's), as stored.
    Code(String),
}

/// A code on the checkout, resolved against the store's offers.
#[derive(Clone, Copy, Debug)]
pub enum CodeOffer<'a> {
    Legacy(&'a Coupon),
    Promotion {
        promotion: &'a Promotion,
        code: &'a PromotionCode,
    },
}

impl CodeOffer<'_> {
    pub fn code(&self) -> &str {
        match self {
            CodeOffer::Legacy(c) => &c.code,
            CodeOffer::Promotion { code, .. } => &code.code,
        }
    }
}

/// What the engine knows of the shopper and where the order goes.
#[derive(Clone, Debug)]
pub struct DiscountContext<'a> {
    pub now: i64,
    pub currency: &'a Currency,
    /// V2 coupons only work in the store's default currency.
    pub default_currency_code: &'a str,
    pub channel_id: i64,
    /// 0 = guest or no group.
    pub customer_group_id: i64,
    pub customer_order_count: i64,
    /// Countries of the consignments (ISO alpha-2); empty = not known yet.
    pub destinations: Vec<String>,
    /// Names of the shipping methods chosen so far.
    pub selected_methods: Vec<String>,
}

/// One line as the engine sees it.
#[derive(Clone, Debug)]
pub struct DiscountLine<'a> {
    pub id: Uuid,
    /// `None` for custom items: no matcher selects them, cart-level discounts still do.
    pub facts: Option<ItemFacts<'a>>,
    pub quantity: i64,
    /// Extended price as entered (after sale price), before any discount.
    pub value: Money,
    pub on_sale: bool,
}

/// A discount on shipping, settled once quotes exist.
#[derive(Clone, Debug, PartialEq)]
pub enum ShippingGrant {
    /// Shipping is free where the zone (`None` = any) and method name (empty = any) fit.
    Free {
        source: Source,
        zones: Option<Vec<i64>>,
        methods: Vec<String>,
    },
    /// This much off shipping, taken from the first consignments first.
    Amount {
        source: Source,
        amount: Money,
        methods: Vec<String>,
    },
}

/// A storefront banner from a promotion's notifications.
#[derive(Clone, Debug, PartialEq)]
pub struct Banner {
    pub promotion_id: i64,
    /// `applied` or `upsell`.
    pub kind: &'static str,
    pub pages: Vec<String>,
    pub text: String,
}

/// The result for one applied code.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeResult {
    pub code: String,
    /// Coupon id (V2) or promotion id.
    pub id: i64,
    pub coupon_type: String,
    pub display_name: String,
    /// What the code took off items (shipping is added by [`settle_shipping`]).
    pub item_amount: Money,
    /// Why it takes nothing, when it does not apply.
    pub not_applied: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ItemDiscounts {
    /// Per line: (source, amount) in the order they were taken.
    pub per_line: HashMap<Uuid, Vec<(Source, Money)>>,
    pub codes: Vec<CodeResult>,
    /// Automatic promotions that took something (for `discounts` and usage counts).
    pub promotions: Vec<(i64, Money)>,
    /// What automatic promotions took from the order as a whole (`cart_value`).
    pub order_level: Money,
    pub shipping: Vec<ShippingGrant>,
    pub banners: Vec<Banner>,
}

impl ItemDiscounts {
    pub fn line_total(&self, id: &Uuid) -> Money {
        self.per_line
            .get(id)
            .map(|v| v.iter().map(|(_, m)| *m).sum())
            .unwrap_or_default()
    }

    /// What each code took off a line: (code as stored, amount), in the order first taken.
    pub fn line_coupons(&self, id: &Uuid) -> Vec<(String, Money)> {
        let mut out: Vec<(String, Money)> = Vec::new();
        for (source, m) in self.per_line.get(id).into_iter().flatten() {
            if let Source::Code(code) = source {
                match out.iter_mut().find(|(c, _)| c == code) {
                    Some(e) => e.1 += *m,
                    None => out.push((code.clone(), *m)),
                }
            }
        }
        out
    }

    /// The part of a line's discount that came from codes.
    pub fn line_coupon_total(&self, id: &Uuid) -> Money {
        self.per_line
            .get(id)
            .map(|v| {
                v.iter()
                    .filter(|(s, _)| matches!(s, Source::Code(_)))
                    .map(|(_, m)| *m)
                    .sum()
            })
            .unwrap_or_default()
    }
}

/// Whether a promotion is on offer to this shopper at all (dates, status, channel,
/// currency, customer group and order count, destination).
fn on_offer(p: &Promotion, ctx: &DiscountContext<'_>) -> Result<(), String> {
    if !p.is_live(ctx.now) {
        return Err(if ctx.now < p.start_date {
            "has not started yet".into()
        } else {
            "is not active".into()
        });
    }
    if !p.applies_to_currency(&ctx.currency.code) {
        return Err(format!("only applies to carts in {}", p.currency_code));
    }
    if !p.applies_to_channel(ctx.channel_id) {
        return Err("does not apply on this channel".into());
    }
    let c = &p.customer;
    if (!c.group_ids.is_empty() && !c.group_ids.contains(&ctx.customer_group_id))
        || c.excluded_group_ids.contains(&ctx.customer_group_id)
    {
        return Err("does not apply to this customer's group".into());
    }
    if ctx.customer_order_count < c.minimum_order_count {
        return Err(format!(
            "requires at least {} earlier orders",
            c.minimum_order_count
        ));
    }
    if !p.shipping_countries.is_empty()
        && ctx.destinations.iter().any(|d| {
            !p.shipping_countries
                .iter()
                .any(|c| c.eq_ignore_ascii_case(d))
        })
    {
        return Err(format!(
            "only applies to orders shipping to {}",
            p.shipping_countries.join(", ")
        ));
    }
    Ok(())
}

/// Runs every offer against the lines. `codes` are the checkout's codes in the order
/// applied; `automatic` the store's automatic promotions (any order, any state).
pub fn discount_items(
    lines: &[DiscountLine<'_>],
    automatic: &[Promotion],
    codes: &[CodeOffer<'_>],
    ctx: &DiscountContext<'_>,
) -> ItemDiscounts {
    let mut run = Run {
        remaining: lines.iter().map(|l| (l.id, l.value)).collect(),
        lines,
        ctx,
        out: ItemDiscounts::default(),
    };

    // Promotions in priority order: automatic ones, and coupon promotions by code.
    let mut promos: Vec<(&Promotion, Option<&PromotionCode>)> = automatic
        .iter()
        .filter(|p| p.redemption_type == RedemptionType::Automatic)
        .map(|p| (p, None))
        .collect();
    for c in codes {
        if let CodeOffer::Promotion { promotion, code } = c {
            promos.push((promotion, Some(code)));
        }
    }
    promos.sort_by_key(|(p, _)| (p.priority, p.id));

    // A coupon promotion that overrides the others, if it applies, applies alone.
    let overriding: Option<(i64, String)> = promos.iter().find_map(|(p, code)| {
        let code = (*code)?;
        (!p.can_be_used_with_other_promotions
            && p.coupon_overrides_other_promotions
            && on_offer(p, ctx).is_ok()
            && run.dry_run(p, Source::Code(code.code.clone())))
        .then(|| (p.id, code.code.clone()))
    });
    let overridden = |id: Option<i64>| -> Option<String> {
        let (by, code) = overriding.as_ref()?;
        (id != Some(*by)).then(|| format!("is overridden by the coupon `{code}`"))
    };

    let mut stopped = false;
    for (p, code) in &promos {
        let offered = on_offer(p, ctx);
        let result = match (&offered, stopped, overridden(Some(p.id))) {
            (_, _, Some(why)) => Err(why),
            (Err(why), _, None) => Err(why.clone()),
            (Ok(()), true, None) => Err("was not combined with an earlier promotion".into()),
            (Ok(()), false, None)
                if !p.can_be_used_with_other_promotions && run.anything_taken() =>
            {
                Err("cannot be combined with the promotions already applied".into())
            }
            (Ok(()), false, None) => {
                let source = match code {
                    Some(c) => Source::Code(c.code.clone()),
                    None => Source::Promotion(p.id),
                };
                let taken = run.promotion(p, source);
                if taken.applied {
                    if p.stop || !p.can_be_used_with_other_promotions {
                        stopped = true;
                    }
                    Ok(taken.amount)
                } else {
                    Err("its conditions are not met by this cart".into())
                }
            }
        };
        match code {
            Some(code) => run.out.codes.push(CodeResult {
                code: code.code.clone(),
                id: p.id,
                coupon_type: "promotion".into(),
                display_name: p.shown_name().to_string(),
                item_amount: result.as_ref().copied().unwrap_or_default(),
                not_applied: result.err(),
            }),
            None => {
                let applied = result.is_ok();
                if let Ok(amount) = result {
                    run.out.promotions.push((p.id, amount));
                }
                if offered.is_ok() {
                    run.banners(p, applied);
                }
            }
        }
    }

    // V2 coupons, in the order applied.
    for c in codes {
        if let CodeOffer::Legacy(coupon) = c {
            let result = match overridden(None) {
                Some(why) => Err(why),
                None => run.legacy_coupon(coupon),
            };
            run.out.codes.push(CodeResult {
                code: coupon.code.clone(),
                id: coupon.id,
                coupon_type: coupon.coupon_type.as_str().to_string(),
                display_name: coupon.name.clone(),
                item_amount: result.as_ref().copied().unwrap_or_default(),
                not_applied: result.err(),
            });
        }
    }
    // Keep the codes in the order the shopper applied them.
    let order: Vec<&str> = codes.iter().map(|c| c.code()).collect();
    run.out
        .codes
        .sort_by_key(|r| order.iter().position(|c| *c == r.code));
    run.out
}

/// Why a code cannot be applied to this cart right now, or `Ok`.
pub fn check_code(
    offer: &CodeOffer<'_>,
    lines: &[DiscountLine<'_>],
    automatic: &[Promotion],
    others: &[CodeOffer<'_>],
    ctx: &DiscountContext<'_>,
) -> Result<(), DomainError> {
    let mut all: Vec<CodeOffer<'_>> = others.to_vec();
    all.push(*offer);
    let result = discount_items(lines, automatic, &all, ctx);
    let code = offer.code();
    match result.codes.iter().find(|r| r.code == code) {
        Some(CodeResult {
            not_applied: Some(why),
            ..
        }) => Err(DomainError::field(
            "coupon_code",
            format!("The coupon `{code}` cannot be applied: it {why}."),
        )),
        _ => Ok(()),
    }
}

struct Run<'a, 'b> {
    lines: &'a [DiscountLine<'b>],
    remaining: HashMap<Uuid, Money>,
    ctx: &'a DiscountContext<'a>,
    out: ItemDiscounts,
}

struct Taken {
    applied: bool,
    amount: Money,
}

/// How many times a condition is met, and which units it would hold for that: per
/// item condition, its matching lines dearest first and the units one meeting needs.
struct Met {
    times: i64,
    parts: Vec<(Vec<(Uuid, i64)>, i64)>,
}

impl Met {
    fn always() -> Met {
        Met {
            times: 1,
            parts: Vec::new(),
        }
    }

    /// The units `k` meetings of the condition hold, dearest first.
    fn consumed(&self, k: i64) -> HashMap<Uuid, i64> {
        let mut out: HashMap<Uuid, i64> = HashMap::new();
        for (lines, per) in &self.parts {
            let mut left = per.saturating_mul(k);
            for (id, qty) in lines {
                let held = out.entry(*id).or_default();
                let n = left.min(qty - *held).max(0);
                *held += n;
                left -= n;
            }
        }
        out
    }
}

impl Run<'_, '_> {
    fn cur(&self) -> &Currency {
        self.ctx.currency
    }

    fn anything_taken(&self) -> bool {
        !self.out.promotions.is_empty() || self.out.codes.iter().any(|c| c.not_applied.is_none())
    }

    fn rest(&self, id: &Uuid) -> Money {
        self.remaining.get(id).copied().unwrap_or_default()
    }

    fn take(&mut self, id: Uuid, source: &Source, amount: Money) -> Money {
        let amount = amount.min(self.rest(&id)).max(Money::ZERO);
        if amount > Money::ZERO {
            if let Some(r) = self.remaining.get_mut(&id) {
                *r -= amount;
            }
            self.out
                .per_line
                .entry(id)
                .or_default()
                .push((source.clone(), amount));
        }
        amount
    }

    /// Whether a promotion would take anything, without recording it.
    fn dry_run(&self, p: &Promotion, source: Source) -> bool {
        let mut probe = Run {
            lines: self.lines,
            remaining: self.remaining.clone(),
            ctx: self.ctx,
            out: ItemDiscounts::default(),
        };
        probe.promotion(p, source).applied
    }

    fn banners(&mut self, p: &Promotion, applied: bool) {
        let wanted = if applied { "APPLIED" } else { "UPSELL" };
        for n in p.notifications.iter().filter(|n| n.kind == wanted) {
            self.out.banners.push(Banner {
                promotion_id: p.id,
                kind: if applied { "applied" } else { "upsell" },
                pages: n.locations.iter().map(|l| page_name(l)).collect(),
                text: n.content.clone(),
            });
        }
    }

    fn promotion(&mut self, p: &Promotion, source: Source) -> Taken {
        let mut applied = false;
        let mut amount = Money::ZERO;
        for rule in &p.rules {
            let met = match &rule.condition {
                None => Some(Met::always()),
                Some(c) => self.condition(c),
            };
            let Some(met) = met else { continue };
            let times = if rule.apply_once { 1 } else { met.times.max(1) };
            let (took, did) = match &rule.action {
                Action::CartValue {
                    discount,
                    maximum_allowed_discount_amount,
                } => {
                    let m = self.cart_value(&source, discount, *maximum_allowed_discount_amount);
                    (m, m > Money::ZERO)
                }
                Action::CartItems(a) => {
                    let (k, held) = self.meetings(a, &met, times);
                    let m = self.cart_items(&source, a, &held, k);
                    (m, m > Money::ZERO)
                }
                Action::Shipping { zone_ids } => {
                    self.out.shipping.push(ShippingGrant::Free {
                        source: source.clone(),
                        zones: zone_ids.clone(),
                        methods: Vec::new(),
                    });
                    (Money::ZERO, true)
                }
            };
            if did {
                applied = true;
                amount += took;
                if matches!(rule.action, Action::CartValue { .. })
                    && p.redemption_type == RedemptionType::Automatic
                {
                    self.out.order_level += took;
                }
                if rule.stop {
                    break;
                }
            }
        }
        Taken { applied, amount }
    }

    fn matching(&self, items: Option<&ItemMatcher>) -> Vec<&DiscountLine<'_>> {
        self.lines
            .iter()
            .filter(|l| match (items, &l.facts) {
                (None, _) => true,
                (Some(m), Some(f)) => m.matches(f),
                (Some(_), None) => false,
            })
            .collect()
    }

    fn condition(&self, c: &Condition) -> Option<Met> {
        match c {
            Condition::Cart {
                items,
                minimum_spend,
                minimum_quantity,
            } => {
                let lines = self.matching(items.as_ref());
                let spend: Money = lines.iter().map(|l| l.value).sum();
                if let Some(min) = minimum_spend
                    && spend < self.cur().convert(*min)
                {
                    return None;
                }
                if items.is_none() {
                    return Some(Met::always());
                }
                let per = minimum_quantity.unwrap_or(1).max(1);
                let qty: i64 = lines.iter().map(|l| l.quantity).sum();
                if qty < per {
                    return None;
                }
                // The dearest units satisfy the condition, leaving cheaper ones to discount.
                let mut by_price = lines.clone();
                by_price.sort_by_key(|l| std::cmp::Reverse(unit(l)));
                Some(Met {
                    times: qty / per,
                    parts: vec![(by_price.iter().map(|l| (l.id, l.quantity)).collect(), per)],
                })
            }
            Condition::And(all) => {
                let mut met = Met {
                    times: i64::MAX,
                    parts: Vec::new(),
                };
                for c in all {
                    let m = self.condition(c)?;
                    met.times = met.times.min(m.times);
                    met.parts.extend(m.parts);
                }
                if met.times == i64::MAX {
                    met.times = 1;
                }
                Some(met)
            }
        }
    }

    /// A discount on the order as a whole, spread over the lines by what is left of them.
    fn cart_value(&mut self, source: &Source, d: &Discount, max: Option<Money>) -> Money {
        let ids: Vec<Uuid> = self.lines.iter().map(|l| l.id).collect();
        self.spread(source, &ids, d, max)
    }

    fn spread(&mut self, source: &Source, ids: &[Uuid], d: &Discount, max: Option<Money>) -> Money {
        let weights: Vec<Money> = ids.iter().map(|id| self.rest(id)).collect();
        let left: Money = weights.iter().copied().sum();
        let mut amount = match d {
            Discount::Percentage(p) => self.cur().round(Money::new(left.amount() * *p / HUNDRED)),
            Discount::Fixed(m) => self.cur().convert(*m),
        };
        if let Some(cap) = max {
            amount = amount.min(self.cur().convert(cap));
        }
        let amount = amount.min(left);
        let cur = self.cur().clone();
        let mut total = Money::ZERO;
        for (id, share) in ids.iter().zip(allocate(amount, &weights, &cur)) {
            total += self.take(*id, source, share);
        }
        total
    }

    /// Units an item action may discount once `held` units serve the condition,
    /// cheapest or dearest first as its strategy says.
    fn candidates(
        &self,
        a: &CartItemsAction,
        held: &HashMap<Uuid, i64>,
    ) -> Vec<(Uuid, i64, Money)> {
        let mut candidates: Vec<(Uuid, i64, Money)> = self
            .matching(a.items.as_ref())
            .into_iter()
            .filter(|l| l.facts.is_some() && !(a.exclude_items_on_sale && l.on_sale))
            .map(|l| {
                let held = if a.include_items_considered_by_condition {
                    0
                } else {
                    held.get(&l.id).copied().unwrap_or(0)
                };
                (l.id, l.quantity - held, unit(l))
            })
            .filter(|(_, n, _)| *n > 0)
            .collect();
        match a.strategy {
            Strategy::LeastExpensive | Strategy::LeastExpensiveOnly => {
                candidates.sort_by_key(|c| c.2)
            }
            Strategy::MostExpensive | Strategy::MostExpensiveOnly => {
                candidates.sort_by_key(|c| std::cmp::Reverse(c.2))
            }
        }
        if matches!(
            a.strategy,
            Strategy::LeastExpensiveOnly | Strategy::MostExpensiveOnly
        ) {
            candidates.truncate(1);
        }
        candidates
    }

    /// How many meetings of the condition to use (at most `times`) and the units they
    /// hold: as many as discount the most units, so "buy 1 get 1" on one product pairs
    /// units up instead of holding them all. Units discounted with k meetings are
    /// min(quantity × k, free(k)), where free(k) — units not held — only falls as k grows:
    /// the best k is where the two meet, found by bisection (a few passes over the lines,
    /// whatever the quantities).
    fn meetings(&self, a: &CartItemsAction, met: &Met, times: i64) -> (i64, HashMap<Uuid, i64>) {
        if a.include_items_considered_by_condition || met.parts.is_empty() || times <= 1 {
            return (times, met.consumed(times));
        }
        let free = |k: i64| -> (i64, HashMap<Uuid, i64>) {
            let held = met.consumed(k);
            let n = self.candidates(a, &held).iter().map(|c| c.1).sum();
            (n, held)
        };
        let Some(q) = a.quantity.filter(|q| *q > 0) else {
            // No limit per meeting: one meeting holds the fewest units.
            let (_, held) = free(1);
            return (1, held);
        };
        // Largest k in [1, times] with q·k ≤ free(k) (free(k) only falls as k grows).
        let (mut lo, mut hi) = (1, times);
        if q > free(1).0 {
            let (_, held) = free(1);
            return (1, held);
        }
        while lo < hi {
            let mid = lo + (hi - lo + 1) / 2;
            if q.saturating_mul(mid) <= free(mid).0 {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        // k = lo gives q·lo units; k = lo + 1 may give more (all that is still free).
        let (at_lo, held_lo) = free(lo);
        let units_lo = at_lo.min(q.saturating_mul(lo));
        if lo < times {
            let (at_next, held_next) = free(lo + 1);
            if at_next.min(q.saturating_mul(lo + 1)) > units_lo {
                return (lo + 1, held_next);
            }
        }
        (lo, held_lo)
    }

    fn cart_items(
        &mut self,
        source: &Source,
        a: &CartItemsAction,
        held: &HashMap<Uuid, i64>,
        times: i64,
    ) -> Money {
        let candidates = self.candidates(a, held);
        let mut limit = a.quantity.map(|q| q.saturating_mul(times));
        let mut picked: Vec<(Uuid, i64)> = Vec::new();
        for (id, n, _) in candidates {
            let n = match limit {
                Some(l) => n.min(l),
                None => n,
            };
            if n <= 0 {
                break;
            }
            if let Some(l) = limit.as_mut() {
                *l -= n;
            }
            picked.push((id, n));
        }
        let quantities: HashMap<Uuid, i64> =
            self.lines.iter().map(|l| (l.id, l.quantity)).collect();
        let cur = self.cur().clone();
        let mut cap = a.maximum_allowed_discount_amount.map(|m| cur.convert(m));
        if a.as_total {
            // One amount spread over the picked units by their value.
            let ids: Vec<Uuid> = picked.iter().map(|p| p.0).collect();
            let d = match a.discount {
                Discount::Fixed(m) => {
                    Discount::Fixed(Money::new(m.amount() * Decimal::from(times)))
                }
                other => other,
            };
            return self.spread_units(source, &picked, &quantities, &d, cap, &ids);
        }
        let mut total = Money::ZERO;
        for (id, n) in picked {
            let qty = quantities.get(&id).copied().unwrap_or(1).max(1);
            let part = Money::new(self.rest(&id).amount() * Decimal::from(n) / Decimal::from(qty));
            let mut want = match a.discount {
                Discount::Percentage(p) => cur.round(Money::new(part.amount() * p / HUNDRED)),
                Discount::Fixed(m) => {
                    let per_unit = cur.convert(m);
                    cur.round(per_unit.times(u32::try_from(n).unwrap_or(u32::MAX)))
                        .min(cur.round(part))
                }
            };
            if let Some(c) = cap.as_mut() {
                want = want.min(*c);
                *c -= want;
            }
            total += self.take(id, source, want);
        }
        total
    }

    fn spread_units(
        &mut self,
        source: &Source,
        picked: &[(Uuid, i64)],
        quantities: &HashMap<Uuid, i64>,
        d: &Discount,
        cap: Option<Money>,
        ids: &[Uuid],
    ) -> Money {
        let cur = self.cur().clone();
        let weights: Vec<Money> = picked
            .iter()
            .map(|(id, n)| {
                let qty = quantities.get(id).copied().unwrap_or(1).max(1);
                cur.round(Money::new(
                    self.rest(id).amount() * Decimal::from(*n) / Decimal::from(qty),
                ))
            })
            .collect();
        let left: Money = weights.iter().copied().sum();
        let mut amount = match d {
            Discount::Percentage(p) => cur.round(Money::new(left.amount() * *p / HUNDRED)),
            Discount::Fixed(m) => cur.convert(*m),
        };
        if let Some(c) = cap {
            amount = amount.min(c);
        }
        let amount = amount.min(left);
        let mut total = Money::ZERO;
        for (id, share) in ids.iter().zip(allocate(amount, &weights, &cur)) {
            total += self.take(*id, source, share);
        }
        total
    }

    /// A V2 coupon: its checks, then its discount on the items it applies to.
    fn legacy_coupon(&mut self, c: &Coupon) -> Result<Money, String> {
        let ctx = self.ctx;
        if !c.enabled {
            return Err("is disabled".into());
        }
        if c.is_expired(ctx.now) {
            return Err("has expired".into());
        }
        if !ctx
            .currency
            .code
            .eq_ignore_ascii_case(ctx.default_currency_code)
        {
            return Err(format!(
                "only applies to carts in the store's default currency, {}",
                ctx.default_currency_code
            ));
        }
        let subtotal: Money = self.lines.iter().map(|l| l.value).sum();
        if c.min_purchase > Money::ZERO && subtotal < c.min_purchase {
            return Err(format!(
                "needs a minimum purchase of {} (the cart comes to {})",
                c.min_purchase, subtotal
            ));
        }
        if let Some(d) = ctx.destinations.iter().find(|d| !c.allows_country(d)) {
            return Err(format!("does not apply to orders shipping to {d}"));
        }
        if !c.shipping_methods.is_empty()
            && !ctx.selected_methods.is_empty()
            && !ctx
                .selected_methods
                .iter()
                .any(|m| c.shipping_methods.iter().any(|a| a.eq_ignore_ascii_case(m)))
        {
            return Err(format!(
                "only applies with the shipping methods {}",
                c.shipping_methods.join(", ")
            ));
        }
        let source = Source::Code(c.code.clone());
        match c.coupon_type {
            CouponType::FreeShipping => {
                self.out.shipping.push(ShippingGrant::Free {
                    source,
                    zones: None,
                    methods: c.shipping_methods.clone(),
                });
                return Ok(Money::ZERO);
            }
            CouponType::ShippingDiscount => {
                self.out.shipping.push(ShippingGrant::Amount {
                    source,
                    amount: Money::new(c.amount),
                    methods: c.shipping_methods.clone(),
                });
                return Ok(Money::ZERO);
            }
            _ => {}
        }
        let applicable: Vec<(Uuid, i64)> = self
            .lines
            .iter()
            .filter(|l| {
                l.facts
                    .is_some_and(|f| c.applies_to_item(f.product_id, f.category_ids))
            })
            .map(|l| (l.id, l.quantity))
            .collect();
        if applicable.is_empty() {
            return Err("applies to none of the items in the cart".into());
        }
        let cur = self.cur().clone();
        let mut total = Money::ZERO;
        match c.coupon_type {
            CouponType::PerItemDiscount => {
                for (id, qty) in &applicable {
                    let want = cur
                        .round(Money::new(c.amount).times(u32::try_from(*qty).unwrap_or(u32::MAX)));
                    total += self.take(*id, &source, want);
                }
            }
            CouponType::PercentageDiscount => {
                for (id, _) in &applicable {
                    let want = cur.round(Money::new(self.rest(id).amount() * c.amount / HUNDRED));
                    total += self.take(*id, &source, want);
                }
            }
            _ => {
                let ids: Vec<Uuid> = applicable.iter().map(|a| a.0).collect();
                total = self.spread(&source, &ids, &Discount::Fixed(Money::new(c.amount)), None);
            }
        }
        Ok(total)
    }
}

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// A line's unit value before discounts (for strategies and condition matching).
fn unit(l: &DiscountLine<'_>) -> Money {
    Money::new(l.value.amount() / Decimal::from(l.quantity.max(1)))
}

fn page_name(location: &str) -> String {
    match location {
        "HOME_PAGE" => "homepage".into(),
        "PRODUCT_PAGE" => "productpage".into(),
        "CART_PAGE" => "cartpage".into(),
        "CHECKOUT_PAGE" => "checkoutpage".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// A consignment as shipping discounts see it.
#[derive(Clone, Debug)]
pub struct ShipmentCost<'a> {
    pub zone_id: i64,
    pub method_name: &'a str,
    /// Shipping cost as entered, without handling.
    pub cost: Money,
}

/// Settles shipping grants: per consignment (same order as given), the discounts taken
/// from its shipping cost by source, never more than the cost.
pub fn settle_shipping(
    grants: &[ShippingGrant],
    shipments: &[Option<ShipmentCost<'_>>],
    cur: &Currency,
) -> Vec<Vec<(Source, Money)>> {
    let mut left: Vec<Money> = shipments
        .iter()
        .map(|s| s.as_ref().map(|s| s.cost).unwrap_or_default())
        .collect();
    let mut out: Vec<Vec<(Source, Money)>> = vec![Vec::new(); shipments.len()];
    let fits = |methods: &[String], s: &ShipmentCost<'_>| {
        methods.is_empty()
            || methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(s.method_name))
    };
    for g in grants {
        match g {
            ShippingGrant::Free {
                source,
                zones,
                methods,
            } => {
                for (i, s) in shipments.iter().enumerate() {
                    let Some(s) = s else { continue };
                    let in_zone = zones.as_ref().is_none_or(|z| z.contains(&s.zone_id));
                    if in_zone && fits(methods, s) && left[i] > Money::ZERO {
                        out[i].push((source.clone(), left[i]));
                        left[i] = Money::ZERO;
                    }
                }
            }
            ShippingGrant::Amount {
                source,
                amount,
                methods,
            } => {
                let mut budget = cur.convert(*amount);
                for (i, s) in shipments.iter().enumerate() {
                    let Some(s) = s else { continue };
                    if budget <= Money::ZERO {
                        break;
                    }
                    if fits(methods, s) && left[i] > Money::ZERO {
                        let take = budget.min(left[i]);
                        out[i].push((source.clone(), take));
                        left[i] -= take;
                        budget -= take;
                    }
                }
            }
        }
    }
    out
}
