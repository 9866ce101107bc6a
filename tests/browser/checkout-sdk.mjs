// BigCommerce's own Checkout JS SDK (@bigcommerce/checkout-sdk from npm, unchanged)
// drives a Kassa checkout from a page at the store's storefront origin: a cart made
// through the Storefront API, then loadCheckout, addresses, shipping, a coupon, a gift
// certificate, payment methods, and submitOrder with the test card. A second cart is
// bought with an offline method (cash on delivery), and a third by a customer who
// signs in through the SDK (after a wrong password, and a sign-out and back in) and has
// the address saved to the address book (`shouldSaveAddress`), and a
// fourth by a shopper who opens an account (createCustomerAccount) and saves an address
// (createCustomerAddress) through the SDK.
// Prints the orders, the totals the SDK showed before paying, and the messages the SDK
// gave for refused requests.
import { env, launch, report, main } from "./lib.mjs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

main(async () => {
  const origin = env("KASSA_STOREFRONT_ORIGIN");
  const productId = Number(env("KASSA_PRODUCT_ID"));
  // The SDK's CommonJS build, given a `module` to fill so a plain <script> can load it.
  const bundle = await readFile(require.resolve("@bigcommerce/checkout-sdk"), "utf8");
  const umd = `var module = { exports: {} }; var exports = module.exports;\n${bundle}\nwindow.checkoutKit = module.exports;`;

  const { browser, page } = await launch();
  page.on("console", (m) => {
    if (m.type() === "error") console.error("console:", m.text());
  });
  await page.route(`${origin}/sdk/checkout-sdk.js`, (r) =>
    r.fulfill({ contentType: "application/javascript; charset=utf-8", body: umd }),
  );
  await page.route(`${origin}/sdk/`, (r) =>
    r.fulfill({
      contentType: "text/html; charset=utf-8",
      body: '<!doctype html><html><head><title>SDK checkout</title><script src="/sdk/checkout-sdk.js"></script></head><body><h1>Checkout SDK</h1></body></html>',
    }),
  );
  await page.goto(`${origin}/sdk/`);

  const buy = (args) =>
    page.evaluate(async ({ productId, methodId, card, giftCertificate, customer, newAccount, saveAddress }) => {
      const address = {
        firstName: "Grace", lastName: "Hopper", email: "grace@example.com", company: "",
        address1: "1 Market St", address2: "", city: "San Francisco",
        stateOrProvince: "California", stateOrProvinceCode: "CA", countryCode: "US",
        postalCode: "94105", phone: "", customFields: [],
      };
      // A storefront adds to the cart through the Storefront API; that starts the
      // shopper's session (cookies) the SDK then rides on.
      const r = await fetch("/api/storefront/carts", {
        method: "POST",
        credentials: "include",
        headers: {
          "Content-Type": "application/json",
          "X-XSRF-TOKEN": (document.cookie.match(/XSRF-TOKEN=([^;]+)/) || [])[1] || "",
        },
        body: JSON.stringify({ lineItems: [{ productId, quantity: 2 }] }),
      });
      if (!r.ok) throw new Error(`cart: ${r.status} ${await r.text()}`);
      const cart = await r.json();

      const service = window.checkoutKit.createCheckoutService();
      let state = await service.loadCheckout(cart.id);
      const messages = {};
      const refusal = async (what, call) => {
        try {
          await call();
        } catch (e) {
          messages[what] = e.message;
          return;
        }
        throw new Error(`${what} was not refused`);
      };
      let signedIn = null;
      if (customer) {
        await refusal("signIn", () =>
          service.signInCustomer({ email: customer.email, password: `${customer.password}-wrong` }),
        );
        state = await service.signInCustomer(customer);
        const first = state.data.getCustomer();
        if (!first || first.isGuest) throw new Error(`not signed in: ${JSON.stringify(first)}`);
        state = await service.signOutCustomer();
        if (!state.data.getCustomer().isGuest) throw new Error("still signed in after signOutCustomer");
        state = await service.signInCustomer(customer);
        const c = state.data.getCustomer();
        signedIn = { id: c.id, isGuest: c.isGuest, email: c.email, fullName: c.fullName, storeCredit: c.storeCredit };
      }
      let created = null;
      if (newAccount) {
        await refusal("account", () =>
          service.createCustomerAccount({ ...newAccount, password: "short" }),
        );
        state = await service.createCustomerAccount(newAccount);
        const c = state.data.getCustomer();
        if (!c || c.isGuest) throw new Error(`not signed in after createCustomerAccount: ${JSON.stringify(c)}`);
        const { email, ...saved } = address;
        state = await service.createCustomerAddress(saved);
        const book = state.data.getCustomer().addresses || [];
        created = {
          id: c.id, isGuest: c.isGuest, email: c.email, fullName: c.fullName,
          addresses: book.map((a) => ({ id: a.id, city: a.city, stateOrProvince: a.stateOrProvince, postalCode: a.postalCode })),
        };
      }
      state = await service.loadBillingCountries();
      await service.loadShippingCountries();
      const countries = state.data.getBillingCountries() || [];
      if (!countries.some((c) => c.code === "US")) throw new Error("no United States in countries");
      // `shouldSaveAddress`, as the checkout's "save this address" box sends it.
      const sent = saveAddress ? { ...address, shouldSaveAddress: true } : address;
      await service.updateBillingAddress(sent);
      state = await service.updateShippingAddress(sent);
      const options = state.data.getShippingOptions() || [];
      if (!options.length) throw new Error("no shipping options");
      state = await service.selectShippingOption(options[0].id);
      if (customer) await refusal("coupon", () => service.applyCoupon("NO-SUCH-CODE"));
      state = await service.applyCoupon("SAVE5");
      if (giftCertificate) state = await service.applyGiftCertificate(giftCertificate);
      state = await service.loadPaymentMethods();
      const methods = state.data.getPaymentMethods() || [];
      const method = methods.find((m) => m.id === methodId);
      if (!method) throw new Error(`no ${methodId} in ${JSON.stringify(methods.map((m) => m.id))}`);

      const ck = state.data.getCheckout();
      const sum = (list, key) => (list || []).reduce((s, x) => s + x[key], 0);
      const shown = {
        subtotal: ck.subtotal.toFixed(2),
        couponDiscount: sum(ck.coupons, "discountedAmount").toFixed(2),
        shipping: (ck.shippingCostTotal + ck.handlingCostTotal).toFixed(2),
        tax: ck.taxTotal.toFixed(2),
        total: ck.grandTotal.toFixed(2),
        giftCertificate: sum(ck.giftCertificates, "used").toFixed(2),
        due: ck.outstandingBalance.toFixed(2),
      };
      await service.initializePayment({ methodId: method.id });
      state = await service.submitOrder({
        payment: card ? { methodId: method.id, paymentData: card } : { methodId: method.id },
      });
      const order = state.data.getOrder();
      if (!order) throw new Error("the SDK has no order after submitOrder");
      if (order.orderAmount.toFixed(2) !== shown.total) {
        throw new Error(`order amount ${order.orderAmount} differs from checkout ${shown.total}`);
      }
      return { orderId: order.orderId, status: order.status, method: method.id, ...shown, signedIn, created, messages };
    }, args);

  const card = await buy({
    productId,
    methodId: "testgateway.card",
    giftCertificate: "GIFT-DEMO-10",
    card: { ccName: "Grace Hopper", ccNumber: "4111111111111111", ccExpiry: { month: 12, year: 2040 }, ccCvv: "123" },
  });
  // The gift certificate is spent; the second order pays all of it on delivery.
  const offline = await buy({ productId, methodId: "cod", card: null, giftCertificate: null });
  const customer = {
    email: env("KASSA_CUSTOMER_EMAIL"),
    password: env("KASSA_CUSTOMER_PASSWORD"),
  };
  // The signed-in customer asks for the address to be saved to the address book.
  const signedIn = await buy({ productId, methodId: "cod", card: null, giftCertificate: null, customer, saveAddress: true });
  // A fourth shopper opens an account and saves an address through the SDK first.
  const newAccount = {
    firstName: "Alan", lastName: "Turing", email: env("KASSA_NEW_ACCOUNT_EMAIL"),
    password: "enigma-1912", acceptsMarketingEmails: false, customFields: [],
  };
  const created = await buy({ productId, methodId: "cod", card: null, giftCertificate: null, newAccount });
  await browser.close();
  report({ ...card, offline, signedIn, created });
});
