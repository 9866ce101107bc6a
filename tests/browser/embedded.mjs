// The embedded checkout inside a merchant's page on another origin: the shopper buys
// in the frame, and the merchant's page hears `COMPLETE` with the order id.
import { env, launch, shot, report, main, checkoutByMouse } from "./lib.mjs";

main(async () => {
  const merchant = env("KASSA_EMBED_PAGE");
  const link = env("KASSA_URL");
  const { browser, page } = await launch();
  await page.goto(merchant);
  const frame = await (await page.waitForSelector("#kassa-frame")).contentFrame();
  if (!frame) throw new Error("the checkout frame did not load");
  await frame.waitForURL(/\/checkout$/);
  const { orderId, shown } = await checkoutByMouse(frame);
  await page.waitForFunction(() => window.kassaMessages.length > 0);
  const [message] = await page.evaluate(() => window.kassaMessages);
  if (message.data.type !== "COMPLETE" || message.data.orderId !== orderId) {
    throw new Error(`unexpected message from the checkout: ${JSON.stringify(message)}`);
  }
  if (message.origin !== new URL(link).origin) {
    throw new Error(`message came from ${message.origin}, not the checkout's origin`);
  }
  await shot(page, "embedded.png");
  await browser.close();
  report({ orderId, link, message, ...shown });
});
