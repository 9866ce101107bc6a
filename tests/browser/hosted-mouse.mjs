// A shopper on a phone-sized screen (375px) buys with the mouse: from the cart link to
// the cart page, then checkout (details, shipping, a coupon, a gift certificate, a
// test card) and the confirmation page.
import { env, launch, shot, totals, report, main, settled, updatedMark, text } from "./lib.mjs";

main(async () => {
  const link = env("KASSA_CART_URL");
  const { browser, page } = await launch({ width: 375, height: 812 });
  await page.goto(link);
  await page.waitForURL(/\/cart$/);
  await shot(page, "cart.png");
  await page.click("#to-checkout");
  await page.waitForURL(/\/checkout$/);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  if (overflow) throw new Error("the checkout is wider than a 375px screen");
  await page.fill("#email", "grace@example.com");
  await page.fill("#bill_first_name", "Grace");
  await page.fill("#bill_last_name", "Hopper");
  await page.fill("#bill_address1", "1 Market St");
  await page.fill("#bill_city", "San Francisco");
  await page.fill("#bill_state_or_province", "California");
  await page.fill("#bill_postal_code", "94105");
  await page.selectOption("#bill_country_code", "US");
  let mark = await updatedMark(page);
  await page.click("#save-details");
  await settled(page, mark);
  await page.locator("#ship-opt-0").waitFor();

  mark = await updatedMark(page);
  await page.click("label[for=ship-opt-0]");
  await settled(page, mark);
  await page.locator("#shipping-total").waitFor();

  await page.fill("#coupon_code", "SAVE5");
  mark = await updatedMark(page);
  await page.click("#apply-coupon");
  await settled(page, mark);
  await page.locator("#coupon-discount").waitFor();

  await page.fill("#gift_code", "GIFT-DEMO-10");
  mark = await updatedMark(page);
  await page.click("#apply-gift");
  await settled(page, mark);
  await page.locator("#gift-certificate-used").waitFor();
  const errors = await text(page, "#errors");
  if (errors) throw new Error(`checkout shows errors: ${errors}`);

  const shown = await totals(page);
  await shot(page, "checkout.png");
  await page.fill("#card_name", "Grace Hopper");
  await page.fill("#card_number", "4111 1111 1111 1111");
  await page.fill("#exp_month", "12");
  await page.fill("#exp_year", "2040");
  await page.fill("#cvv", "123");
  await page.click("#place-order");
  await page.waitForURL(/order-confirmation/);
  const orderId = Number(await page.locator("#order-id").getAttribute("data-order-id"));
  const confirmed = await totals(page);
  if (confirmed.total !== shown.total) {
    throw new Error(`confirmation total ${confirmed.total} differs from checkout ${shown.total}`);
  }
  await shot(page, "confirmation.png");
  await browser.close();
  report({ orderId, link, ...shown });
});
