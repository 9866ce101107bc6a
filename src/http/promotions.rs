//! Promotions admin API (`admin/promotions.v3.yml`) under
//! `/stores/{store_hash}/v3/promotions`: automatic and coupon promotions, their coupon
//! codes, bulk code generation and lookup by code. Reading needs
//! `store_v2_marketing_read_only`, changing `store_v2_marketing`.
//!
//! Kassa's reading of the spec where it leaves room:
//!
//! - Every promotion path uses `{promotion_id}` (the spec names it `{id}` on
//!   `/promotions/{id}`); only the name differs. An id that is not a whole number is 404.
//! - `POST /promotions` answers 201; `PUT /promotions/{promotion_id}` changes only the
//!   fields sent (`rules`, `notifications`, `channels` are replaced whole when sent;
//!   `customer` field by field). `end_date: null` or `shipping_address: null` clear them.
//! - Responses leave out `end_date` when the promotion never ends and `shipping_address`
//!   when it ships anywhere (the spec's schemas do not allow `null` there). A coupon
//!   promotion carries `coupon_type`, `coupon_overrides_other_promotions`,
//!   `multiple_codes.has_multiple_codes`, and, when it is `SINGLE`, its code as `codes`.
//! - Kassa adds `priority` (integer, lower runs first, default the id) to every
//!   promotion; `sort=priority` orders by it.
//! - `DELETE /promotions` needs `id:in` (at most 50) and answers 204, or 422 in the
//!   spec's bulk shape `{errors: [{status, title, type, errors}], meta: {total, success,
//!   failed}}` when some promotions were kept (those that still have codes).
//! - `DELETE /promotions/{promotion_id}` deletes the promotion with its codes and answers
//!   204 even when it did not exist, as the spec says.
//! - `GET …/codes` pages by cursor (`before`/`after`, opaque) or by `page`; with neither,
//!   `meta` holds both blocks, as the spec describes.
//! - `POST …/codegen` answers 405 for anything but a BULK coupon promotion.
//! - A code another promotion or a V2 coupon already has (ignoring case) is 409.
//! - Unsupported parts of the spec (`gift_item`, `fixed_price_set`, product-option and
//!   custom-field matchers, customer segments, schedules) are 422 naming the field; see
//!   [`promotion_rules`](crate::domain::promotion_rules).

use super::AppState;
use super::error::{ApiError, ApiResult, ERROR_TYPE, ErrorBody};
use super::extract::{Auth, JsonBody, percent_decode};
use super::wire::{Envelope, json_response, pagination_meta, rfc3339};
use crate::domain::money::Money;
use crate::domain::promotion::{
    Action, Condition, CouponKind, Discount, ItemMatcher, Promotion, PromotionCode,
    PromotionStatus, RedemptionType, Rule, Strategy,
};
use crate::domain::promotion_rules::{
    CodeInput, CodegenInput, PromotionInput, parse_redemption_type, parse_status_filter,
};
use crate::domain::scope::Scope;
use crate::service::ServiceError;
use crate::service::promotions::{CodegenOutcome, PromotionFilter, PromotionSort};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 250;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_promotions,
            create_promotion,
            delete_promotions
        ))
        .routes(routes!(get_code_by_code, delete_code_by_code))
        .routes(routes!(get_promotion, update_promotion, delete_promotion))
        .routes(routes!(list_codes, create_code, delete_codes))
        .routes(routes!(generate_codes))
        .routes(routes!(delete_code))
}

// ---------- responses ----------

#[derive(Serialize, ToSchema)]
pub struct ChannelWire {
    pub id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerWire {
    pub group_ids: Vec<i64>,
    pub excluded_group_ids: Vec<i64>,
    pub minimum_order_count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationWire {
    pub content: String,
    /// `UPSELL`, `ELIGIBLE` or `APPLIED`.
    #[serde(rename = "type")]
    pub kind: String,
    pub locations: Vec<String>,
}

/// `CouponCode`.
#[derive(Serialize, ToSchema)]
pub struct CouponCodeWire {
    pub id: i64,
    pub code: String,
    /// Read-only: uses so far.
    pub current_uses: i64,
    /// 0 = unlimited.
    pub max_uses: i64,
    /// 0 = unlimited.
    pub max_uses_per_customer: i64,
    /// RFC 3339.
    pub created: String,
}

#[derive(Serialize, ToSchema)]
pub struct MultipleCodesWire {
    pub has_multiple_codes: bool,
}

/// `SavedAutomaticPromotion` / `SavedCouponPromotion`, plus Kassa's `priority`. Sent as
/// a request, it is `DraftAutomaticPromotion` / `DraftCouponPromotion` (POST) or the
/// `Patch…` forms (PUT); read-only fields are ignored there.
#[derive(Serialize, ToSchema)]
pub struct PromotionWire {
    pub id: i64,
    /// `AUTOMATIC` or `COUPON`.
    pub redemption_type: String,
    pub name: String,
    pub display_name: String,
    /// `[]` = every channel.
    pub channels: Vec<ChannelWire>,
    pub customer: CustomerWire,
    /// Rules as in the spec: `{action, apply_once, stop, condition?}`; money and
    /// percentages as decimal strings.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Value>,
    /// Read-only.
    pub current_uses: i64,
    /// 0 = unlimited.
    pub max_uses: i64,
    /// `ENABLED`, `DISABLED` or `INVALID`.
    pub status: String,
    /// RFC 3339.
    pub start_date: String,
    /// RFC 3339; left out when the promotion never ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    pub stop: bool,
    pub can_be_used_with_other_promotions: bool,
    /// ISO 4217, or `*`.
    pub currency_code: String,
    pub notifications: Vec<NotificationWire>,
    /// `{"countries": [{"iso2_country_code": "US"}]}`; left out when unrestricted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<Value>,
    /// `api`, `react_ui` or `legacy_ui`.
    pub created_from: String,
    /// Kassa: evaluation order, lower first (default: the id).
    pub priority: i64,
    /// Coupon promotions: `SINGLE` or `BULK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_overrides_other_promotions: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_codes: Option<MultipleCodesWire>,
    /// The code of a SINGLE coupon promotion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codes: Option<CouponCodeWire>,
}

/// One generated code.
#[derive(Serialize, ToSchema)]
pub struct BulkCouponCodeWire {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodegenWire {
    /// RFC 3339.
    pub created: String,
    pub max_uses: i64,
    pub max_uses_per_customer: i64,
    pub batch_size: usize,
    pub codes: Vec<BulkCouponCodeWire>,
}

fn decimal_text(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

fn money_text(m: Money) -> String {
    decimal_text(m.amount())
}

fn discount_json(d: &Discount) -> Value {
    match d {
        Discount::Percentage(p) => json!({"percentage_amount": decimal_text(*p)}),
        Discount::Fixed(m) => json!({"fixed_amount": money_text(*m)}),
    }
}

fn matcher_json(m: &ItemMatcher) -> Value {
    match m {
        ItemMatcher::Brands(ids) => json!({"brands": ids}),
        ItemMatcher::Categories(ids) => json!({"categories": ids}),
        ItemMatcher::Products(ids) => json!({"products": ids}),
        ItemMatcher::Variants(ids) => json!({"variants": ids}),
        ItemMatcher::And(all) => json!({"and": all.iter().map(matcher_json).collect::<Vec<_>>()}),
        ItemMatcher::Or(any) => json!({"or": any.iter().map(matcher_json).collect::<Vec<_>>()}),
        ItemMatcher::Not(m) => json!({"not": matcher_json(m)}),
    }
}

fn condition_json(c: &Condition) -> Value {
    match c {
        Condition::Cart {
            items,
            minimum_spend,
            minimum_quantity,
        } => {
            let mut cart = serde_json::Map::new();
            if let Some(m) = items {
                cart.insert("items".into(), matcher_json(m));
            }
            if let Some(s) = minimum_spend {
                cart.insert("minimum_spend".into(), money_text(*s).into());
            }
            if let Some(q) = minimum_quantity {
                cart.insert("minimum_quantity".into(), (*q).into());
            }
            json!({"cart": cart})
        }
        Condition::And(all) => {
            json!({"and": all.iter().map(condition_json).collect::<Vec<_>>()})
        }
    }
}

fn strategy_text(s: Strategy) -> &'static str {
    match s {
        Strategy::LeastExpensive => "LEAST_EXPENSIVE",
        Strategy::LeastExpensiveOnly => "LEAST_EXPENSIVE_ONLY",
        Strategy::MostExpensive => "MOST_EXPENSIVE",
        Strategy::MostExpensiveOnly => "MOST_EXPENSIVE_ONLY",
    }
}

fn action_json(a: &Action) -> Value {
    match a {
        Action::CartValue {
            discount,
            maximum_allowed_discount_amount,
        } => json!({"cart_value": {
            "discount": discount_json(discount),
            "maximum_allowed_discount_amount": maximum_allowed_discount_amount.map(money_text),
        }}),
        Action::CartItems(c) => {
            let mut o = serde_json::Map::new();
            o.insert("discount".into(), discount_json(&c.discount));
            o.insert(
                "maximum_allowed_discount_amount".into(),
                c.maximum_allowed_discount_amount.map(money_text).into(),
            );
            o.insert("as_total".into(), c.as_total.into());
            if let Some(m) = &c.items {
                o.insert("items".into(), matcher_json(m));
            }
            o.insert(
                "include_items_considered_by_condition".into(),
                c.include_items_considered_by_condition.into(),
            );
            o.insert(
                "exclude_items_on_sale".into(),
                c.exclude_items_on_sale.into(),
            );
            o.insert("strategy".into(), strategy_text(c.strategy).into());
            if let Some(q) = c.quantity {
                o.insert("quantity".into(), q.into());
            }
            json!({ "cart_items": o })
        }
        Action::Shipping { zone_ids } => json!({"shipping": {
            "free_shipping": true,
            "zone_ids": match zone_ids {
                None => json!("*"),
                Some(ids) => json!(ids),
            },
        }}),
    }
}

fn rule_json(r: &Rule) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("action".into(), action_json(&r.action));
    o.insert("apply_once".into(), r.apply_once.into());
    o.insert("stop".into(), r.stop.into());
    if let Some(c) = &r.condition {
        o.insert("condition".into(), condition_json(c));
    }
    Value::Object(o)
}

fn code_wire(c: &PromotionCode, uses: &HashMap<i64, i64>) -> CouponCodeWire {
    CouponCodeWire {
        id: c.id,
        code: c.code.clone(),
        current_uses: uses.get(&c.id).copied().unwrap_or(0),
        max_uses: c.max_uses,
        max_uses_per_customer: c.max_uses_per_customer,
        created: rfc3339(c.created),
    }
}

fn status_text(s: PromotionStatus) -> &'static str {
    match s {
        PromotionStatus::Enabled => "ENABLED",
        PromotionStatus::Disabled => "DISABLED",
        PromotionStatus::Invalid => "INVALID",
    }
}

pub fn promotion_wire(
    p: &Promotion,
    uses: &HashMap<i64, i64>,
    code_uses: &HashMap<i64, i64>,
) -> PromotionWire {
    let coupon = p.redemption_type == RedemptionType::Coupon;
    let kind = p.coupon_type.unwrap_or(CouponKind::Single);
    PromotionWire {
        id: p.id,
        redemption_type: match p.redemption_type {
            RedemptionType::Automatic => "AUTOMATIC",
            RedemptionType::Coupon => "COUPON",
        }
        .into(),
        name: p.name.clone(),
        display_name: p.display_name.clone(),
        channels: p.channels.iter().map(|&id| ChannelWire { id }).collect(),
        customer: CustomerWire {
            group_ids: p.customer.group_ids.clone(),
            excluded_group_ids: p.customer.excluded_group_ids.clone(),
            minimum_order_count: p.customer.minimum_order_count,
        },
        rules: p.rules.iter().map(rule_json).collect(),
        current_uses: uses.get(&p.id).copied().unwrap_or(0),
        max_uses: p.max_uses,
        status: status_text(p.status).into(),
        start_date: rfc3339(p.start_date),
        end_date: p.end_date.map(rfc3339),
        stop: p.stop,
        can_be_used_with_other_promotions: p.can_be_used_with_other_promotions,
        currency_code: p.currency_code.clone(),
        notifications: p
            .notifications
            .iter()
            .map(|n| NotificationWire {
                content: n.content.clone(),
                kind: n.kind.clone(),
                locations: n.locations.clone(),
            })
            .collect(),
        shipping_address: (!p.shipping_countries.is_empty()).then(|| {
            json!({"countries": p.shipping_countries.iter()
                .map(|c| json!({"iso2_country_code": c}))
                .collect::<Vec<_>>()})
        }),
        created_from: p.created_from.clone(),
        priority: p.priority,
        coupon_type: coupon.then(|| {
            match kind {
                CouponKind::Single => "SINGLE",
                CouponKind::Bulk => "BULK",
            }
            .to_string()
        }),
        coupon_overrides_other_promotions: coupon.then_some(p.coupon_overrides_other_promotions),
        multiple_codes: coupon.then_some(MultipleCodesWire {
            has_multiple_codes: p.codes.len() > 1,
        }),
        codes: if coupon && kind == CouponKind::Single {
            p.codes.first().map(|c| code_wire(c, code_uses))
        } else {
            None
        },
    }
}

// ---------- requests (documentation and small bodies) ----------

/// A coupon code to add to a promotion.
#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    /// 1–50 letters, digits, spaces, `_` or `-`; unique in the store, ignoring case.
    pub code: Option<String>,
    /// 0 (default) = unlimited.
    pub max_uses: Option<i64>,
    /// 0 (default) = unlimited.
    pub max_uses_per_customer: Option<i64>,
}

/// A batch of codes to generate for a BULK coupon promotion.
#[derive(Deserialize, ToSchema)]
pub struct CodegenRequest {
    /// 1–250.
    pub batch_size: Option<i64>,
    /// 0–100000, default 1 (0 = unlimited).
    pub max_uses: Option<i64>,
    /// 0–100000, default 1 (0 = unlimited).
    pub max_uses_per_customer: Option<i64>,
    /// Up to 20 of `A-Z 0-9 _ -`.
    pub prefix: Option<String>,
    /// Up to 20 of `A-Z 0-9 _ -`.
    pub suffix: Option<String>,
    /// `_` or `-`, between prefix/suffix and the random part.
    pub delimiter: Option<String>,
    /// Single characters `A-Z 0-9` the random part must not use.
    pub exclude_characters: Option<Vec<String>>,
    /// 6–16, default 16.
    pub code_length: Option<i64>,
}

// ---------- helpers ----------

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The last non-blank value of a parameter.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
}

fn int_param(pairs: &[(String, String)], name: &str) -> ApiResult<Option<i64>> {
    param(pairs, name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(
                    name,
                    format!("The query parameter `{name}` must be a whole number, not `{v}`."),
                )
            })
        })
        .transpose()
}

/// `page` (from 1) and `limit` (1–250, default 50); out of range is 422.
fn paging(pairs: &[(String, String)]) -> ApiResult<(usize, usize)> {
    let page = match int_param(pairs, "page")? {
        None => 1,
        Some(p) if p >= 1 => usize::try_from(p).unwrap_or(usize::MAX),
        Some(p) => {
            return Err(ApiError::unprocessable(
                "page",
                format!("The query parameter `page` must be 1 or more, not {p}."),
            ));
        }
    };
    let limit = match int_param(pairs, "limit")? {
        None => DEFAULT_LIMIT,
        Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => l as usize,
        Some(l) => {
            return Err(ApiError::unprocessable(
                "limit",
                format!("The query parameter `limit` must be from 1 to {MAX_LIMIT}, not {l}."),
            ));
        }
    };
    Ok((page, limit))
}

/// Comma-separated whole numbers from every occurrence of `name`; `None` when absent.
fn id_list(pairs: &[(String, String)], name: &str) -> ApiResult<Option<Vec<i64>>> {
    let mut out: Option<Vec<i64>> = None;
    for (_, v) in pairs.iter().filter(|(k, _)| k == name) {
        let list = out.get_or_insert_with(Vec::new);
        for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            list.push(part.parse::<i64>().map_err(|_| {
                ApiError::unprocessable(
                    name,
                    format!(
                        "The query parameter `{name}` must list whole-number ids, not `{part}`."
                    ),
                )
            })?);
        }
    }
    Ok(out)
}

/// A promotion or code id from the path; anything but a positive whole number is 404.
fn path_id(s: &str, what: &str) -> ApiResult<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("{what} {s} does not exist.")))
}

/// A 409 for a duplicate code, naming the field.
fn code_conflict(field: &'static str) -> impl Fn(ServiceError) -> ApiError {
    move |e| match e {
        ServiceError::Duplicate(t) => {
            let mut err = ApiError::new(StatusCode::CONFLICT, t.clone());
            err.errors.insert(field.to_string(), t);
            err
        }
        other => other.into(),
    }
}

fn with_status(status: StatusCode, mut res: Response) -> Response {
    *res.status_mut() = status;
    res
}

/// The spec's `BulkDeleteResponse` (422).
fn bulk_delete_error(
    title: &str,
    errors: serde_json::Map<String, Value>,
    total: usize,
    failed: usize,
) -> Response {
    let mut item = json!({"status": 422, "title": title, "type": ERROR_TYPE});
    if !errors.is_empty() {
        item["errors"] = Value::Object(errors);
    }
    let body = json!({
        "errors": [item],
        "meta": {"total": total, "success": total - failed, "failed": failed},
    });
    with_status(StatusCode::UNPROCESSABLE_ENTITY, json_response(&body))
}

/// `id:in`, required by the bulk deletes; when it is missing or malformed, the title of
/// the spec's 422.
fn required_ids(pairs: &[(String, String)]) -> Result<Vec<i64>, String> {
    match id_list(pairs, "id:in") {
        Ok(Some(ids)) if !ids.is_empty() => Ok(ids),
        Ok(_) => {
            Err("The query parameter `id:in` is required: a comma-separated list of ids.".into())
        }
        Err(e) => Err(e.title),
    }
}

async fn promotion_reply(
    state: &AppState,
    store_id: i64,
    p: &Promotion,
) -> ApiResult<PromotionWire> {
    let (uses, code_uses) = state
        .kassa
        .promotion_use_counts(store_id, std::slice::from_ref(p))
        .await?;
    Ok(promotion_wire(p, &uses, &code_uses))
}

/// Opaque cursors for code listings.
fn cursor(id: i64) -> String {
    hex::encode(id.to_string())
}

fn parse_cursor(name: &str, s: &str) -> ApiResult<i64> {
    hex::decode(s.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::unprocessable(
                name,
                format!("The query parameter `{name}` is not a cursor this API gave out."),
            )
        })
}

// ---------- promotions ----------

/// Get all promotions, filtered, sorted and paged.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/promotions", tag = "Promotions",
    operation_id = "getPromotions",
    params(("store_hash" = String, Path),
        ("id" = Option<i64>, Query), ("name" = Option<String>, Query, description = "exact, any case"),
        ("code" = Option<String>, Query), ("currency_code" = Option<String>, Query),
        ("redemption_type" = Option<String>, Query, description = "automatic or coupon"),
        ("status" = Option<String>, Query, description = "ENABLED, DISABLED or INVALID"),
        ("channels" = Option<String>, Query, description = "comma-separated channel ids; promotions for every channel are included"),
        ("query" = Option<String>, Query, description = "part of the name or of a code"),
        ("sort" = Option<String>, Query, description = "id (default), name, priority or start_date"),
        ("direction" = Option<String>, Query, description = "asc (default) or desc"),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1–250, default 50")),
    responses((status = 200, body = inline(Envelope<Vec<PromotionWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_promotions(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<PromotionWire>>> {
    who.require(Scope::V2MarketingReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let filter = PromotionFilter {
        id: int_param(&pairs, "id")?,
        name: param(&pairs, "name").map(String::from),
        code: param(&pairs, "code").map(String::from),
        currency_code: param(&pairs, "currency_code").map(String::from),
        redemption_type: param(&pairs, "redemption_type")
            .map(|v| {
                parse_redemption_type(v).ok_or_else(|| {
                    ApiError::unprocessable(
                        "redemption_type",
                        format!("The query parameter `redemption_type` must be `automatic` or `coupon`, not `{v}`."),
                    )
                })
            })
            .transpose()?,
        status: param(&pairs, "status")
            .map(|v| {
                parse_status_filter(v).ok_or_else(|| {
                    ApiError::unprocessable(
                        "status",
                        format!("The query parameter `status` must be ENABLED, DISABLED or INVALID, not `{v}`."),
                    )
                })
            })
            .transpose()?,
        channels: id_list(&pairs, "channels")?.filter(|c| !c.is_empty()),
        query: param(&pairs, "query").map(String::from),
    };
    let sort = match param(&pairs, "sort")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("id") => PromotionSort::Id,
        Some("name") => PromotionSort::Name,
        Some("priority") => PromotionSort::Priority,
        Some("start_date") => PromotionSort::StartDate,
        Some(other) => {
            return Err(ApiError::unprocessable(
                "sort",
                format!(
                    "The query parameter `sort` must be id, name, priority or start_date, not `{other}`."
                ),
            ));
        }
    };
    let descending = match param(&pairs, "direction")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::unprocessable(
                "direction",
                format!("The query parameter `direction` must be asc or desc, not `{other}`."),
            ));
        }
    };
    let (page, limit) = paging(&pairs)?;
    let (promotions, total) = state
        .kassa
        .list_promotions(&who.store, &filter, sort, descending, page, limit)
        .await?;
    let (uses, code_uses) = state
        .kassa
        .promotion_use_counts(who.store.id, &promotions)
        .await?;
    let data: Vec<PromotionWire> = promotions
        .iter()
        .map(|p| promotion_wire(p, &uses, &code_uses))
        .collect();
    let meta = pagination_meta(total as i64, data.len(), limit as i64, page as i64);
    Ok(Envelope::with_meta(data, meta))
}

/// Create a promotion (automatic or coupon); answers 201.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/promotions", tag = "Promotions",
    operation_id = "createPromotion",
    params(("store_hash" = String, Path)),
    request_body = PromotionWire,
    responses((status = 201, body = inline(Envelope<PromotionWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_promotion(
    State(state): State<AppState>,
    Auth(who): Auth,
    input: Result<JsonBody<PromotionInput>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Marketing)?;
    let JsonBody(input) = input?;
    let p = state
        .kassa
        .create_promotion(&who.store, &input)
        .await
        .map_err(code_conflict("codes.code"))?;
    let wire = promotion_reply(&state, who.store.id, &p).await?;
    Ok((StatusCode::CREATED, Envelope::new(wire)).into_response())
}

/// Delete the promotions `id:in` lists (at most 50); those that still have coupon codes
/// are kept and reported (422).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/promotions", tag = "Promotions",
    operation_id = "deletePromotions",
    params(("store_hash" = String, Path), ("id:in" = String, Query, description = "comma-separated promotion ids (required)")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "`id:in` missing or malformed, or some promotions were kept", body = Object)))]
async fn delete_promotions(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2Marketing)?;
    let pairs = query_pairs(q.as_deref());
    let ids = match required_ids(&pairs) {
        Ok(ids) => ids,
        Err(title) => return Ok(bulk_delete_error(&title, Default::default(), 0, 0)),
    };
    let outcome = match state.kassa.delete_promotions(&who.store, &ids).await {
        Ok(o) => o,
        Err(ServiceError::Rule(e)) => {
            return Ok(bulk_delete_error(
                &e.to_string(),
                Default::default(),
                ids.len(),
                ids.len(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if outcome.failures.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let errors = outcome
        .failures
        .iter()
        .map(|(_, k, m)| (k.clone(), Value::from(m.clone())))
        .collect();
    Ok(bulk_delete_error(
        "Some promotions were not deleted.",
        errors,
        outcome.total,
        outcome.failures.len(),
    ))
}

/// Get a promotion.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/promotions/{promotion_id}", tag = "Promotions",
    operation_id = "getPromotion",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path)),
    responses((status = 200, body = inline(Envelope<PromotionWire>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_promotion(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<Envelope<PromotionWire>> {
    who.require(Scope::V2MarketingReadOnly)?;
    let id = path_id(&path.1, "Promotion")?;
    let p = state.kassa.get_promotion(&who.store, id).await?;
    Ok(Envelope::new(
        promotion_reply(&state, who.store.id, &p).await?,
    ))
}

/// Update a promotion: the fields sent change.
#[utoipa::path(put, path = "/stores/{store_hash}/v3/promotions/{promotion_id}", tag = "Promotions",
    operation_id = "updatePromotion",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path)),
    request_body = PromotionWire,
    responses((status = 200, body = inline(Envelope<PromotionWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_promotion(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    input: Result<JsonBody<PromotionInput>, ApiError>,
) -> ApiResult<Envelope<PromotionWire>> {
    who.require(Scope::V2Marketing)?;
    let JsonBody(input) = input?;
    let id = path_id(&path.1, "Promotion")?;
    let p = state
        .kassa
        .update_promotion(&who.store, id, &input)
        .await
        .map_err(code_conflict("codes.code"))?;
    Ok(Envelope::new(
        promotion_reply(&state, who.store.id, &p).await?,
    ))
}

/// Delete a promotion and its codes (204 also when it did not exist).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/promotions/{promotion_id}", tag = "Promotions",
    operation_id = "deletePromotion",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_promotion(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Marketing)?;
    let id = path_id(&path.1, "Promotion")?;
    state.kassa.delete_promotion(&who.store, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- codes ----------

/// Get a promotion's coupon codes, by id, paged by cursor or page.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/promotions/{promotion_id}/codes", tag = "Promotions",
    operation_id = "getPromotionCodes",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path),
        ("before" = Option<String>, Query), ("after" = Option<String>, Query),
        ("page" = Option<i64>, Query), ("limit" = Option<i64>, Query, description = "1–250, default 50"),
        ("code" = Option<String>, Query)),
    responses((status = 200, body = inline(Envelope<Vec<CouponCodeWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_codes(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<CouponCodeWire>>> {
    who.require(Scope::V2MarketingReadOnly)?;
    let id = path_id(&path.1, "Promotion")?;
    let pairs = query_pairs(q.as_deref());
    let (page, limit) = paging(&pairs)?;
    let before = param(&pairs, "before")
        .map(|c| parse_cursor("before", c))
        .transpose()?;
    let after = param(&pairs, "after")
        .map(|c| parse_cursor("after", c))
        .transpose()?;
    if before.is_some() && after.is_some() {
        return Err(ApiError::unprocessable(
            "before",
            "The query parameters `before` and `after` cannot be used together.",
        ));
    }
    let by_page = param(&pairs, "page").is_some();
    if by_page && (before.is_some() || after.is_some()) {
        return Err(ApiError::unprocessable(
            "page",
            "The query parameter `page` cannot be used with `before` or `after`.",
        ));
    }
    let promotion = state.kassa.get_promotion(&who.store, id).await?;
    let mut codes = promotion.codes.clone();
    codes.sort_by_key(|c| c.id);
    if let Some(c) = param(&pairs, "code") {
        codes.retain(|k| k.code.trim().eq_ignore_ascii_case(c));
    }
    let total = codes.len();
    let (window, has_before, has_after): (Vec<PromotionCode>, bool, bool) = if let Some(a) = after {
        let rest: Vec<_> = codes.into_iter().filter(|c| c.id > a).collect();
        let more = rest.len() > limit;
        (rest.into_iter().take(limit).collect(), true, more)
    } else if let Some(b) = before {
        let rest: Vec<_> = codes.into_iter().filter(|c| c.id < b).collect();
        let skip = rest.len().saturating_sub(limit);
        (rest.into_iter().skip(skip).collect(), skip > 0, true)
    } else {
        let skip = page.saturating_sub(1).saturating_mul(limit);
        let more = total > skip.saturating_add(limit);
        (
            codes.into_iter().skip(skip).take(limit).collect(),
            skip > 0,
            more,
        )
    };
    let (_, code_uses) = state
        .kassa
        .promotion_use_counts(who.store.id, std::slice::from_ref(&promotion))
        .await?;
    let data: Vec<CouponCodeWire> = window.iter().map(|c| code_wire(c, &code_uses)).collect();
    let mut meta = serde_json::Map::new();
    if before.is_none() && after.is_none() {
        let p = pagination_meta(total as i64, data.len(), limit as i64, page as i64);
        meta.insert("pagination".into(), p["pagination"].clone());
    }
    if !by_page {
        let mut cp = json!({"count": data.len(), "per_page": limit, "links": {}});
        if let (Some(first), Some(last)) = (window.first(), window.last()) {
            cp["start_cursor"] = cursor(first.id).into();
            cp["end_cursor"] = cursor(last.id).into();
            if has_before {
                cp["links"]["previous"] =
                    format!("?limit={limit}&before={}", cursor(first.id)).into();
            }
            if has_after {
                cp["links"]["next"] = format!("?limit={limit}&after={}", cursor(last.id)).into();
            }
        }
        meta.insert("cursor_pagination".into(), cp);
    }
    Ok(Envelope::with_meta(data, Value::Object(meta)))
}

/// Add a coupon code to a coupon promotion; answers 201.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/promotions/{promotion_id}/codes", tag = "Promotions",
    operation_id = "createPromotionCode",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path)),
    request_body = CodeRequest,
    responses((status = 201, body = inline(Envelope<CouponCodeWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<CodeRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Marketing)?;
    let JsonBody(body) = body?;
    let id = path_id(&path.1, "Promotion")?;
    let input = CodeInput {
        code: body.code,
        max_uses: body.max_uses,
        max_uses_per_customer: body.max_uses_per_customer,
    };
    let code = state
        .kassa
        .create_promotion_code(&who.store, id, &input)
        .await
        .map_err(code_conflict("code"))?;
    let wire = code_wire(&code, &HashMap::new());
    Ok((StatusCode::CREATED, Envelope::new(wire)).into_response())
}

/// Delete the codes `id:in` lists (at most 250) from a promotion.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/promotions/{promotion_id}/codes", tag = "Promotions",
    operation_id = "deleteCouponCodes",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path),
        ("id:in" = String, Query, description = "comma-separated code ids (required)")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "`id:in` missing or malformed", body = Object)))]
async fn delete_codes(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    who.require(Scope::V2Marketing)?;
    let id = path_id(&path.1, "Promotion")?;
    let pairs = query_pairs(q.as_deref());
    let ids = match required_ids(&pairs) {
        Ok(ids) => ids,
        Err(title) => return Ok(bulk_delete_error(&title, Default::default(), 0, 0)),
    };
    match state
        .kassa
        .delete_promotion_codes(&who.store, id, &ids)
        .await
    {
        Ok(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(ServiceError::Rule(e)) => Ok(bulk_delete_error(
            &e.to_string(),
            Default::default(),
            ids.len(),
            ids.len(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Generate a batch of random codes for a BULK coupon promotion; answers 201.
#[utoipa::path(post, path = "/stores/{store_hash}/v3/promotions/{promotion_id}/codegen", tag = "Promotions",
    operation_id = "generatePromotionCodesBatch",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path)),
    request_body = CodegenRequest,
    responses((status = 201, body = inline(Envelope<CodegenWire>)), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 405, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn generate_codes(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String)>,
    body: Result<JsonBody<CodegenRequest>, ApiError>,
) -> ApiResult<Response> {
    who.require(Scope::V2Marketing)?;
    let JsonBody(body) = body?;
    let id = path_id(&path.1, "Promotion")?;
    let input = CodegenInput {
        batch_size: body.batch_size,
        max_uses: body.max_uses,
        max_uses_per_customer: body.max_uses_per_customer,
        prefix: body.prefix,
        suffix: body.suffix,
        delimiter: body.delimiter,
        exclude_characters: body.exclude_characters,
        code_length: body.code_length,
    };
    let codes = match state
        .kassa
        .generate_promotion_codes(&who.store, id, &input)
        .await?
    {
        CodegenOutcome::Generated(codes) => codes,
        CodegenOutcome::NotBulk => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "Promotion {id} is not a BULK coupon promotion; codes can be generated only for promotions with redemption_type COUPON and coupon_type BULK."
                ),
            ));
        }
    };
    let first = codes.first();
    let wire = CodegenWire {
        created: rfc3339(first.map_or_else(|| state.kassa.now(), |c| c.created)),
        max_uses: first.map_or(0, |c| c.max_uses),
        max_uses_per_customer: first.map_or(0, |c| c.max_uses_per_customer),
        batch_size: codes.len(),
        codes: codes
            .iter()
            .map(|c| BulkCouponCodeWire {
                code: c.code.clone(),
            })
            .collect(),
    };
    Ok((StatusCode::CREATED, Envelope::new(wire)).into_response())
}

/// Get the coupon code with this text (any case), from whichever promotion has it.
#[utoipa::path(get, path = "/stores/{store_hash}/v3/promotions/codes", tag = "Promotions",
    operation_id = "getCouponCodeByCode",
    params(("store_hash" = String, Path), ("code" = String, Query, description = "required")),
    responses((status = 200, body = inline(Envelope<Vec<CouponCodeWire>>)), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_code_by_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<Envelope<Vec<CouponCodeWire>>> {
    who.require(Scope::V2MarketingReadOnly)?;
    let pairs = query_pairs(q.as_deref());
    let Some(code) = param(&pairs, "code") else {
        return Err(ApiError::unprocessable(
            "code",
            "The query parameter `code` is required.",
        ));
    };
    let found = state.kassa.promotion_by_code(who.store.id, code).await?;
    let data: Vec<CouponCodeWire> = match &found {
        Some((p, c)) => {
            let (_, code_uses) = state
                .kassa
                .promotion_use_counts(who.store.id, std::slice::from_ref(p))
                .await?;
            vec![code_wire(c, &code_uses)]
        }
        None => Vec::new(),
    };
    let n = data.len();
    let mut meta = pagination_meta(n as i64, n, DEFAULT_LIMIT as i64, 1);
    meta["cursor_pagination"] = json!({"count": n, "per_page": DEFAULT_LIMIT, "links": {}});
    if let Some((_, c)) = &found {
        meta["cursor_pagination"]["start_cursor"] = cursor(c.id).into();
        meta["cursor_pagination"]["end_cursor"] = cursor(c.id).into();
    }
    Ok(Envelope::with_meta(data, meta))
}

/// Delete the coupon code with this text (any case); 204 also when none has it.
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/promotions/codes", tag = "Promotions",
    operation_id = "deleteCouponCodeByCode",
    params(("store_hash" = String, Path), ("code" = String, Query, description = "required")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn delete_code_by_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Marketing)?;
    let pairs = query_pairs(q.as_deref());
    let Some(code) = param(&pairs, "code") else {
        return Err(ApiError::unprocessable(
            "code",
            "The query parameter `code` is required.",
        ));
    };
    state
        .kassa
        .delete_promotion_code_by_code(&who.store, code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete one coupon code of a promotion (204 also when it did not exist).
#[utoipa::path(delete, path = "/stores/{store_hash}/v3/promotions/{promotion_id}/codes/{code_id}", tag = "Promotions",
    operation_id = "deleteCouponCode",
    params(("store_hash" = String, Path), ("promotion_id" = String, Path), ("code_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn delete_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    who.require(Scope::V2Marketing)?;
    let id = path_id(&path.1, "Promotion")?;
    let code_id = path_id(&path.2, "Coupon code")?;
    state
        .kassa
        .delete_promotion_codes(&who.store, id, &[code_id])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
