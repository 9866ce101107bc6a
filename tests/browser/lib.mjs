// Shared by the scenarios: start the system Chromium (never a downloaded one), read
// the totals a page shows, and report one JSON line for tests/browser.rs.
import { chromium } from "playwright-core";
import path from "node:path";

export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

export async function launch({ width = 1000, height = 900 } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return { browser, context, page };
}

export async function shot(page, name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  await page.screenshot({ path: path.join(dir, name), fullPage: true });
}

export async function text(page, selector) {
  return (await page.locator(selector).first().textContent())?.trim() ?? "";
}

/// Waits until the page's background update (if any) has landed.
export async function settled(page, before) {
  await page.waitForFunction((b) => document.body.dataset.updated !== b, before);
}

export async function updatedMark(page) {
  return page.evaluate(() => document.body.dataset.updated);
}

export async function totals(page) {
  return {
    subtotal: await text(page, "#subtotal"),
    couponDiscount: await text(page, "#coupon-discount"),
    shipping: await text(page, "#shipping-total"),
    tax: await text(page, "#tax-total"),
    total: await text(page, "#grand-total"),
    giftCertificate: await text(page, "#gift-certificate-used"),
    due: await text(page, "#amount-due"),
  };
}

export function report(result) {
  console.log(JSON.stringify(result));
}

export async function main(fn) {
  try {
    await fn();
    process.exit(0);
  } catch (e) {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  }
}

/// Fills the one-page checkout with the mouse, in a page or in a frame; returns the
/// totals it shows just before paying.
export async function checkoutByMouse(page, { beforePay } = {}) {
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
  if (beforePay) await beforePay();
  await page.fill("#card_name", "Grace Hopper");
  await page.fill("#card_number", "4111 1111 1111 1111");
  await page.fill("#exp_month", "12");
  await page.fill("#exp_year", "2040");
  await page.fill("#cvv", "123");
  await page.click("#place-order");
  await page.waitForURL(/order-confirmation/);
  const orderId = Number(await page.locator("#order-id").getAttribute("data-order-id"));
  return { orderId, shown };
}
