// A shopper on a phone-sized screen (375px) buys with the mouse: from the cart link to
// the cart page, then checkout (details, shipping, a coupon, a gift certificate, a
// test card) and the confirmation page.
import { env, launch, shot, totals, report, main, checkoutByMouse } from "./lib.mjs";

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
  const { orderId, shown } = await checkoutByMouse(page, {
    beforePay: () => shot(page, "checkout.png"),
  });
  const confirmed = await totals(page);
  if (confirmed.total !== shown.total) {
    throw new Error(`confirmation total ${confirmed.total} differs from checkout ${shown.total}`);
  }
  await shot(page, "confirmation.png");
  await browser.close();
  report({ orderId, link, ...shown });
});
