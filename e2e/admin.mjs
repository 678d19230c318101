// Browser test of the operator console in real headless Chromium.
//
// Run by cmd/webhook-receiver/browser_test.go (TestBrowserAdmin), which
// starts the service and the fake LMS, prepares a failed order and a
// rejected delivery, and passes everything through the environment:
//
//   BASE_URL        the service, e.g. http://127.0.0.1:8000
//   ADMIN_PASSWORD  the password of user "admin"
//   LEARNER_EMAIL   the learner of the failed order
//   ORDER_ID        the shop's order number of the failed order
//   EVIL_URL        a page on another site with a form that POSTs to /admin/actions/retry
//   SCREENSHOT_DIR  where admin-dashboard.png and admin-order.png go
//   CHROMIUM        the browser binary (Debian's /usr/bin/chromium)
//
// playwright-core only drives a browser; it never downloads one.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return v;
};
const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const ADMIN_PASSWORD = env('ADMIN_PASSWORD');
const LEARNER_EMAIL = env('LEARNER_EMAIL');
const ORDER_ID = env('ORDER_ID');
const EVIL_URL = env('EVIL_URL');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
const CHROMIUM = env('CHROMIUM');
const ADMIN_USER = process.env.ADMIN_USER || 'admin';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

mkdirSync(SCREENSHOT_DIR, { recursive: true });

let current = '(start)';
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1).padStart(5);

async function step(name, f) {
  current = name;
  const t0 = Date.now();
  await f();
  console.log(`${seconds()}s ok   ${name} (${Date.now() - t0} ms)`);
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// waitUntil polls f until it returns a truthy value or the time is up.
async function waitUntil(what, within, f) {
  const deadline = Date.now() + within;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${within} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const text = async (locator) => ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();

// The badge of the learner's item on an order page.
const itemBadge = (page) => page.locator('section.item', { hasText: LEARNER_EMAIL }).locator('.badge');

// Every request a console page makes stays on the service (no CDNs, no
// external fonts); the evil site is the test's own.
const strayRequests = [];
function watch(page) {
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(BASE_URL + '/') && !url.startsWith(new URL(EVIL_URL).origin + '/') && !url.startsWith('data:')) {
      strayRequests.push(url);
    }
  });
  page.on('pageerror', (err) => console.log(`      page error: ${err.message}`));
  page.on('console', (msg) => {
    // Pages answered with an error status (401, 403) are checked where they
    // are expected; anything else the browser complains about is shown.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      console.log(`      console error: ${msg.text()}`);
    }
  });
}

async function signIn(page) {
  await page.getByLabel('Username').fill(ADMIN_USER);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/admin/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
}

async function noHorizontalOverflow(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  check(scrollWidth <= innerWidth + 1, `${what} scrolls sideways at ${innerWidth} px: the page is ${scrollWidth} px wide`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // CI runs as root, where Chromium's sandbox cannot start. The other flags
  // keep Chromium from calling home on a machine without a network.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let page;
let failed = false;
try {
  console.log(`chromium ${browser.version()} against ${BASE_URL}`);
  const desktop = await browser.newContext({ viewport: DESKTOP });
  desktop.setDefaultTimeout(15000);
  page = await desktop.newPage();
  watch(page);

  await step('without a session, /admin/orders redirects to the login page', async () => {
    const resp = await page.goto(`${BASE_URL}/admin/orders`);
    const url = new URL(page.url());
    check(url.pathname === '/admin/login', `landed on ${page.url()}, not /admin/login`);
    check(url.searchParams.get('next') === '/admin/orders', `next is ${JSON.stringify(url.searchParams.get('next'))}, want "/admin/orders"`);
    const redirect = resp.request().redirectedFrom();
    check(redirect, 'no redirect was followed');
    const status = (await redirect.response()).status();
    check(status === 303, `the redirect was ${status}, want 303`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  await step('a wrong password is refused', async () => {
    await page.getByLabel('Username').fill(ADMIN_USER);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD + 'x');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    check(new URL(page.url()).pathname === '/admin/login', `a wrong password led to ${page.url()}`);
    await page.getByRole('alert').waitFor();
  });

  await step('sign in, back to the page asked for', async () => {
    await signIn(page);
    check(new URL(page.url()).pathname === '/admin/orders', `signed in to ${page.url()}, want /admin/orders`);
  });

  await step('dashboard (screenshot admin-dashboard.png)', async () => {
    await Promise.all([page.waitForURL(`${BASE_URL}/admin/`), page.getByRole('navigation').getByRole('link', { name: 'Dashboard' }).click()]);
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-dashboard.png'), fullPage: true });
  });

  await step('rejected deliveries list the bad signature', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Rejected deliveries' }).click();
    await page.waitForURL((u) => u.pathname === '/admin/deliveries' && u.searchParams.get('rejected') === '1');
    await page.getByRole('cell', { name: /signature/i }).first().waitFor();
  });

  await step(`search by learner email finds order ${ORDER_ID}`, async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Orders' }).click();
    await page.getByLabel('Order number, learner email or course').fill(LEARNER_EMAIL);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/admin/orders' && u.searchParams.get('q') === LEARNER_EMAIL),
      page.getByRole('button', { name: 'Search', exact: true }).click(),
    ]);
    await page.getByRole('link', { name: ORDER_ID, exact: true }).waitFor();
  });

  await step('the order page shows the item failed (screenshot admin-order.png)', async () => {
    await page.getByRole('link', { name: ORDER_ID, exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/admin/orders/${ORDER_ID}`);
    const h1 = await text(page.getByRole('heading', { level: 1 }));
    check(h1.startsWith(`Order ${ORDER_ID}`), `heading is ${JSON.stringify(h1)}`);
    const badge = await text(itemBadge(page));
    check(badge === 'failed', `the item's badge reads ${JSON.stringify(badge)}, want "failed"`);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-order.png'), fullPage: true });
  });

  const orderURL = page.url();

  await step('Retry queues the item', async () => {
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Retry', exact: true }).click()]);
    await page.waitForURL((u) => u.pathname === `/admin/orders/${ORDER_ID}`);
    const flash = await text(page.getByRole('status'));
    check(flash === '1 item queued for enrollment now.', `the flash reads ${JSON.stringify(flash)}`);
  });

  await step('the item is enrolled (reloading the order page)', async () => {
    let last = '';
    await waitUntil('the badge "enrolled"', 30000, async () => {
      await page.goto(orderURL);
      last = await text(itemBadge(page));
      return last === 'enrolled';
    }).catch((err) => {
      throw new Error(`${err.message}; the badge still reads ${JSON.stringify(last)}`);
    });
  });

  await step('a form POST from another site is refused with 403', async () => {
    await page.goto(EVIL_URL);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${BASE_URL}/admin/actions/retry`) && r.request().method() === 'POST'),
      page.getByRole('button').first().click(),
    ]);
    check(resp.status() === 403, `the cross-site POST got ${resp.status()}, want 403`);
  });

  await desktop.close();

  const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  phone.setDefaultTimeout(15000);
  page = await phone.newPage();
  watch(page);

  await step('phone width: Tab goes username → password → Sign in', async () => {
    await page.goto(`${BASE_URL}/admin/login`);
    // Walk the tab order from the first link of the page.
    await page.getByRole('link').first().focus();
    const order = [await page.evaluate(() => document.activeElement.textContent.trim())];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        return el.id ? `#${el.id}` : `${el.tagName.toLowerCase()} "${el.textContent.trim()}"`;
      });
      if (!focused || order.includes(focused)) break;
      order.push(focused);
    }
    const i = order.indexOf('#username');
    const got = order.slice(i, i + 3);
    check(i >= 0 && got[1] === '#password' && got[2] === 'button "Sign in"', `tab order is ${order.join(' → ')}`);
  });

  await step('phone width: sign in with the keyboard', async () => {
    await page.getByLabel('Username').focus();
    await page.keyboard.type(ADMIN_USER);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(`${BASE_URL}/admin/`), page.keyboard.press('Enter')]);
  });

  await step('phone width: dashboard, orders and the order page fit the screen', async () => {
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    await noHorizontalOverflow(page, 'the dashboard');
    await page.goto(`${BASE_URL}/admin/orders?q=${encodeURIComponent(LEARNER_EMAIL)}`);
    await noHorizontalOverflow(page, 'the order search');
    await page.goto(orderURL);
    await noHorizontalOverflow(page, 'the order page');
  });

  await phone.close();

  current = 'no request left the service';
  check(strayRequests.length === 0, `pages requested other hosts: ${strayRequests.join(', ')}`);
} catch (err) {
  failed = true;
  console.error(`${seconds()}s FAIL ${current}`);
  console.error(`      ${err.message.split('\n').join('\n      ')}`);
  if (page && !page.isClosed()) {
    console.error(`      at ${page.url()}`);
    const shot = path.join(SCREENSHOT_DIR, 'failure.png');
    await page.screenshot({ path: shot, fullPage: true }).then(
      () => console.error(`      screenshot: ${shot}`),
      () => {},
    );
    const body = await page.locator('body').innerText().catch(() => '');
    if (body) console.error(`      page text:\n        ${body.slice(0, 2000).split('\n').join('\n        ')}`);
  }
} finally {
  await browser.close();
}
if (failed) process.exit(1);
console.log(`${seconds()}s all browser checks passed`);
