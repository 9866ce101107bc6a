"""Drives Kassa's Cart API with BigCommerce's own Python client library (`bigcommerce`
on PyPI), unchanged but for the host it talks to. Run by tests/client_library.rs.

Environment: KASSA_HOST (host:port serving HTTPS), KASSA_TOKEN, REQUESTS_CA_BUNDLE
(the test's self-signed certificate), KASSA_PRODUCT_ID (a 19.99 product, 3 in stock).
Exits non-zero with a message on the first mismatch.
"""

import os
import sys

import bigcommerce.api
from bigcommerce.connection import OAuthConnection
from bigcommerce.exception import ClientRequestException


def check(cond, what):
    if not cond:
        print("MISMATCH: " + what, file=sys.stderr)
        sys.exit(1)


conn = OAuthConnection(
    client_id="any-client-id",
    store_hash="demo",
    access_token=os.environ["KASSA_TOKEN"],
    host=os.environ["KASSA_HOST"],
    api_path="/stores/{}/v3/{}",
)
product_id = int(os.environ["KASSA_PRODUCT_ID"])

created = conn.create(
    "carts",
    {
        "line_items": [{"product_id": product_id, "quantity": 2}],
        "custom_items": [{"sku": "PY-1", "name": "Python item", "quantity": 1, "list_price": 5.25}],
    },
)
cart = created["data"]
cart_id = cart["id"]
check(cart["cart_amount"] == 45.23, "cart_amount after create: %r" % cart["cart_amount"])
check(cart["line_items"]["physical_items"][0]["extended_sale_price"] == 39.98, "extended price")

got = conn.get("carts", cart_id)["data"]
check(got["id"] == cart_id and got["version"] == 1, "get: %r" % got.get("version"))

added = conn.post("carts/%s/items" % cart_id, {"line_items": [{"product_id": product_id, "quantity": 1}]})["data"]
line = added["line_items"]["physical_items"][0]
check(line["quantity"] == 3, "merged quantity: %r" % line["quantity"])
check(added["cart_amount"] == 65.22, "cart_amount after add: %r" % added["cart_amount"])

try:
    conn.post("carts/%s/items" % cart_id, {"line_items": [{"product_id": product_id, "quantity": 1}]})
    check(False, "a fourth unit of a product with 3 in stock was accepted")
except ClientRequestException as e:
    check(e.response.status_code == 422, "out of stock status: %r" % e.response.status_code)

updated = conn.update("carts/%s/items" % cart_id, line["id"], {"line_item": {"quantity": 1}})["data"]
check(updated["cart_amount"] == 25.24, "cart_amount after update: %r" % updated["cart_amount"])

# The headless checkout flow: billing address, a consignment with its shipping options,
# the chosen option, and the totals (lamp 19.99 + custom 5.25, Standard 7.50 + 1.00
# handling, CA tax 1.45 + 0.38 + 0.54 + 0.07).
address = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
           "address1": "1 Market St", "city": "San Francisco", "state_or_province": "California",
           "country_code": "US", "postal_code": "94105"}
checkout = conn.create("checkouts/%s/billing-address" % cart_id, address)["data"]
check(checkout["billing_address"]["state_or_province_code"] == "CA", "billing address")
custom_id = checkout["cart"]["line_items"]["custom_items"][0]["id"]
checkout = conn.make_request(
    "POST", "checkouts/%s/consignments" % cart_id,
    [{"address": address, "line_items": [{"item_id": line["id"], "quantity": 1}, {"item_id": custom_id, "quantity": 1}]}],
    params={"include": "consignments.available_shipping_options"},
)["data"]
consignment = checkout["consignments"][0]
standard = [o for o in consignment["available_shipping_options"] if o["description"] == "Standard"][0]
checkout = conn.update("checkouts/%s/consignments" % cart_id, consignment["id"], {"shipping_option_id": standard["id"]})["data"]
check(checkout["shipping_cost_total_ex_tax"] == 7.5, "shipping: %r" % checkout["shipping_cost_total_ex_tax"])
check(checkout["handling_cost_total_ex_tax"] == 1.0, "handling: %r" % checkout["handling_cost_total_ex_tax"])
check(checkout["tax_total"] == 2.44, "tax_total: %r" % checkout["tax_total"])
check(checkout["grand_total"] == 36.18, "grand_total: %r" % checkout["grand_total"])
updated = conn.get("carts", cart_id)["data"]

urls = conn.make_request("POST", "carts/%s/redirect_urls" % cart_id)["data"]
check(urls["checkout_url"].startswith("https://"), "checkout_url: %r" % urls["checkout_url"])

customer = conn.update("carts", cart_id, {"customer_id": 0, "version": updated["version"]})["data"]
check(customer["version"] == updated["version"] + 1, "version after update")

try:
    conn.update("carts", cart_id, {"customer_id": 0, "version": 1})
    check(False, "a stale version was accepted")
except ClientRequestException as e:
    check(e.response.status_code == 409, "stale version status: %r" % e.response.status_code)

conn.delete("carts", cart_id)
try:
    conn.get("carts", cart_id)
    check(False, "deleted cart still readable")
except ClientRequestException as e:
    check(e.response.status_code == 404, "deleted cart status: %r" % e.response.status_code)

# The whole seed flow to a paid order: a coupon made through the library's V2 Coupons
# resource, a checkout, the order, a payment access token, a card payment (process-payment
# takes `Authorization: PAT …`), then the paid order read through the V2 Orders resource.
os.environ["BC_API_ENDPOINT"] = os.environ["KASSA_HOST"]
api = bigcommerce.api.BigcommerceApi(client_id="any-client-id", store_hash="demo",
                                     access_token=os.environ["KASSA_TOKEN"])
coupon = api.Coupons.create(name="Python five off", code="PY5", type="per_total_discount",
                            amount="5.00", applies_to={"entity": "categories", "ids": [0]})
check(coupon.code == "PY5", "coupon: %r" % coupon)

cart_id = conn.create("carts", {"line_items": [{"product_id": product_id, "quantity": 1}]})["data"]["id"]
checkout = conn.create("checkouts/%s/billing-address" % cart_id, address)["data"]
item_id = checkout["cart"]["line_items"]["physical_items"][0]["id"]
checkout = conn.make_request(
    "POST", "checkouts/%s/consignments" % cart_id,
    [{"address": address, "line_items": [{"item_id": item_id, "quantity": 1}]}],
    params={"include": "consignments.available_shipping_options"},
)["data"]
consignment = checkout["consignments"][0]
standard = [o for o in consignment["available_shipping_options"] if o["description"] == "Standard"][0]
conn.update("checkouts/%s/consignments" % cart_id, consignment["id"], {"shipping_option_id": standard["id"]})
checkout = conn.create("checkouts/%s/coupons" % cart_id, {"coupon_code": "py5"})["data"]
check(checkout["coupons"][0]["discounted_amount"] == 5, "coupon amount: %r" % checkout["coupons"])
# 19.99 - 5.00 = 14.99 (+1.09 CA tax) + Standard 7.50 (+0.54) + handling 1.00 (+0.07)
check(checkout["grand_total"] == 25.19, "grand_total with coupon: %r" % checkout["grand_total"])

order_id = conn.make_request("POST", "checkouts/%s/orders" % cart_id)["data"]["id"]
pat = conn.create("payments/access_tokens", {"order": {"id": order_id}})["data"]["id"]
payments = OAuthConnection(client_id="any-client-id", store_hash="demo", access_token=os.environ["KASSA_TOKEN"],
                           host=os.environ["KASSA_HOST"], api_path="/stores/{}/{}")
paid = payments.make_request(
    "POST", "payments",
    {"payment": {"payment_method_id": "testgateway.card",
                 "instrument": {"type": "card", "number": "4111111111111111", "cardholder_name": "Ada Lovelace",
                                "expiry_month": 12, "expiry_year": 2040, "verification_value": "123"}}},
    headers={"Authorization": "PAT " + pat, "Accept": "application/vnd.bc.v1+json"},
)["data"]
check(paid["status"] == "success", "payment: %r" % paid)
try:
    conn.get("carts", cart_id)
    check(False, "the cart of a paid order is still readable")
except ClientRequestException as e:
    check(e.response.status_code == 404, "paid cart status: %r" % e.response.status_code)

order = api.Orders.get(order_id)
check(order.status_id == 11 and order.status == "Awaiting Fulfillment", "order status: %r" % order.status)
check(order.total_inc_tax == "25.1900", "order total_inc_tax: %r" % order.total_inc_tax)
check(order.coupon_discount == "5.0000", "order coupon_discount: %r" % order.coupon_discount)
products = order.products()
check(len(products) == 1 and products[0].quantity == 1, "order products: %r" % products)
coupons = order.coupons()
check(len(coupons) == 1 and coupons[0].code == "PY5", "order coupons: %r" % coupons)
check(api.Orders.count() >= 1, "orders count")

print("bigcommerce python client: all cart operations and the seed flow to a paid order matched")
