// The same purchase with the keyboard alone: Tab to move, typing, Space and the arrow
// keys for choices, Enter to submit. Fails if a control cannot be reached by Tab.
import { env, launch, shot, totals, report, main, settled, updatedMark, text } from "./lib.mjs";

/// Presses Tab until the element with `id` has focus (and checks focus is visible).
async function tabTo(page, id) {
  for (let i = 0; i < 80; i++) {
    const at = await page.evaluate(() => document.activeElement && document.activeElement.id);
    if (at === id) {
      const outlined = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return s.outlineStyle !== "none" && s.outlineWidth !== "0px";
      });
      if (!outlined) throw new Error(`#${id} has focus but shows no focus outline`);
      return;
    }
    await page.keyboard.press("Tab");
  }
  throw new Error(`#${id} cannot be reached with Tab`);
}

async function typeInto(page, id, value) {
  await tabTo(page, id);
  await page.keyboard.press("Control+A");
  await page.keyboard.type(value);
}

main(async () => {
  const link = env("KASSA_URL");
  const { browser, page } = await launch();
  await page.goto(link);
  await page.waitForURL(/\/checkout$/);
  await typeInto(page, "email", "grace@example.com");
  await typeInto(page, "bill_first_name", "Grace");
  await typeInto(page, "bill_last_name", "Hopper");
  await typeInto(page, "bill_address1", "1 Market St");
  await typeInto(page, "bill_city", "San Francisco");
  await typeInto(page, "bill_state_or_province", "California");
  await typeInto(page, "bill_postal_code", "94105");
  // A signed-in customer's checkout offers to keep the address: Tab to the box, Space ticks it.
  const savedAddress = (await page.locator("#bill_save").count()) > 0;
  if (savedAddress) {
    await tabTo(page, "bill_save");
    await page.keyboard.press("Space");
    if (!(await page.locator("#bill_save").isChecked())) throw new Error("Space did not tick #bill_save");
  }
  await tabTo(page, "save-details");
  let mark = await updatedMark(page);
  await page.keyboard.press("Enter");
  await settled(page, mark);
  await page.locator("#ship-opt-0").waitFor();

  // Into the shipping radios from the top: Tab reaches the group, Space picks one.
  await tabTo(page, "ship-opt-0");
  mark = await updatedMark(page);
  await page.keyboard.press("Space");
  await settled(page, mark);
  await page.locator("#shipping-total").waitFor();

  await typeInto(page, "coupon_code", "SAVE5");
  mark = await updatedMark(page);
  await page.keyboard.press("Enter");
  await settled(page, mark);
  await page.locator("#coupon-discount").waitFor();

  await typeInto(page, "gift_code", "GIFT-DEMO-10");
  mark = await updatedMark(page);
  await page.keyboard.press("Enter");
  await settled(page, mark);
  await page.locator("#gift-certificate-used").waitFor();
  const errors = await text(page, "#errors");
  if (errors) throw new Error(`checkout shows errors: ${errors}`);

  const shown = await totals(page);
  await typeInto(page, "card_name", "Grace Hopper");
  await typeInto(page, "card_number", "4111111111111111");
  await typeInto(page, "exp_month", "12");
  await typeInto(page, "exp_year", "2040");
  await typeInto(page, "cvv", "123");
  await tabTo(page, "place-order");
  await page.keyboard.press("Enter");
  await page.waitForURL(/order-confirmation/);
  const orderId = Number(await page.locator("#order-id").getAttribute("data-order-id"));
  await shot(page, "confirmation-keyboard.png");
  await browser.close();
  report({ orderId, link, savedAddress, ...shown });
});
