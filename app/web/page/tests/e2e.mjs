// End-to-end test of the allot page in headless Chromium with an injected Wallet Standard
// wallet (tests/test-wallet.js). The Rust side starts the validator and the allot server, runs
//
//   ALLOT_WEB_URL=http://127.0.0.1:PORT/ ALLOT_TEST_WALLET_SEED=<64 hex> \
//   ALLOT_SCREENSHOT_DIR=<dir> ALLOT_E2E_SCENARIO=happy|attested|reject node tests/e2e.mjs
//
// and parses the last stdout line, a JSON summary ({"ok":true,...}), to check the chain.
//
// happy:  connect → address and network shown → allocate → confirmed → holdings went up →
//         request exchange (the default, largest amount) → confirmed → a pending request listed.
// attested: the same steps, for a user whose evidence is a SAS attestation (no allot credential);
//         the summary carries the reason the page gave for allowing the allocation.
// reject: connect → the wallet rejects (code 4001) → the page says so (data-step=rejected),
//         no signature, holdings unchanged.
//
// Optional: ALLOT_CHROMIUM (default /usr/bin/chromium), ALLOT_E2E_TIMEOUT_MS (per transaction,
// default 120000). Exits 1 with a message (and failure.png) on any failure.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { chromium } from 'playwright-core';
import { base58, bytesFromHex } from './base58.mjs';
import { buildTestWallet } from './build-wallet.mjs';

const REJECTED_MESSAGE = 'You rejected the request in your wallet; nothing was sent.';
const TERMINAL_STEPS = ['confirmed', 'failed', 'rejected', 'expired', 'unconfirmed', 'error'];

class Failure extends Error {}

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Failure(`set ${name} (see the top of tests/e2e.mjs)`);
  return value;
}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

const log = (...args) => console.error('[e2e]', ...args);

async function main() {
  const url = env('ALLOT_WEB_URL');
  const seedHex = env('ALLOT_TEST_WALLET_SEED');
  const screenshots = env('ALLOT_SCREENSHOT_DIR');
  const scenario = env('ALLOT_E2E_SCENARIO', 'happy');
  const executablePath = env('ALLOT_CHROMIUM', '/usr/bin/chromium');
  const txTimeout = Number(env('ALLOT_E2E_TIMEOUT_MS', '120000'));
  check(/^[0-9a-fA-F]{64}$/.test(seedHex), 'ALLOT_TEST_WALLET_SEED must be 32 bytes in hex (64 characters)');
  check(
    ['happy', 'attested', 'reject'].includes(scenario),
    `unknown ALLOT_E2E_SCENARIO ${scenario} (happy | attested | reject)`,
  );
  mkdirSync(screenshots, { recursive: true });
  const address = base58(nacl.sign.keyPair.fromSeed(bytesFromHex(seedHex)).publicKey);
  const walletScript = await buildTestWallet();

  const userDataDir = mkdtempSync(join(tmpdir(), 'allot-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 900, height: 1100 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') log(`page ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  let step = 0;
  const shot = async (name) => {
    step += 1;
    const file = join(screenshots, `${String(step).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot ${file}`);
  };

  try {
    await context.addInitScript({ content: `window.__ALLOT_TEST_WALLET__ = ${JSON.stringify({ seedHex, reject: false })};` });
    await context.addInitScript({ path: walletScript });
    const summary = { ok: true, scenario, address };

    // Given the page with the test wallet: connect.
    log(`opening ${url}`);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-wallet="Allot Test Wallet"]', { timeout: 10_000 }).catch(async () => {
      const found = await page.getAttribute('body', 'data-wallet');
      throw new Failure(`the page did not find the test wallet (data-wallet=${found})`);
    });
    await page.click('#connect');
    await page.waitForFunction(() => ['loaded', 'error'].includes(document.querySelector('#account')?.dataset.state ?? ''), null, { timeout: 30_000 });
    const accountError = await textOf(page, '#account-error', true);
    check(!accountError, `the page could not load the account: ${accountError}`);
    const shownAddress = await page.getAttribute('#address', 'data-address');
    check(shownAddress === address, `#address is ${shownAddress}, expected ${address}`);
    const shortShown = await textOf(page, '#address');
    check(shortShown === `${address.slice(0, 4)}…${address.slice(-4)}`, `#address shows "${shortShown}"`);
    const config = await page.evaluate(() => fetch('/config.json').then((r) => r.json()));
    const network = await textOf(page, '#network');
    check(network === config.cluster, `#network shows "${network}", expected "${config.cluster}"`);
    summary.cluster = config.cluster;
    // The token's name comes from its mint's metadata, as a wallet reads it.
    const status = await page.evaluate((account) => fetch(`/api/status?account=${account}`).then((r) => r.json()), address);
    check(status.token !== null, 'the pool\'s token has no name in its mint');
    const token = await textOf(page, '#token');
    check(token === `${status.token.name} (${status.token.symbol})`, `#token shows "${token}", expected ${JSON.stringify(status.token)}`);
    summary.token = status.token;
    summary.holdingsBefore = await units(page);
    summary.solBefore = Number(await page.getAttribute('#sol', 'data-lamports'));
    log(`connected ${address} on ${network}: holdings ${summary.holdingsBefore}, ${summary.solBefore} lamports`);
    await shot('connected');

    if (scenario === 'happy' || scenario === 'attested') {
      // When the user allocates, then the transaction confirms and the holdings go up.
      await expectEnabled(page, '#allocate', '#allocation-reason');
      summary.allocationReason = await textOf(page, '#allocation-reason');
      await page.click('#allocate');
      summary.allocateSignature = await waitForStep(page, 'confirmed', txTimeout);
      summary.holdingsAfterAllocate = await waitForUnitsChange(page, summary.holdingsBefore);
      check(
        summary.holdingsAfterAllocate > summary.holdingsBefore,
        `holdings went from ${summary.holdingsBefore} to ${summary.holdingsAfterAllocate} after allocating`,
      );
      log(`allocated: holdings ${summary.holdingsAfterAllocate} (${summary.allocateSignature})`);
      await shot('allocated');

      // When the user requests an exchange of the default (largest) amount, then it confirms
      // and a pending request is listed.
      await expectEnabled(page, '#exchange', '#exchange-reason');
      const pendingBefore = await pendingRequests(page);
      summary.exchangeAmountShown = await page.inputValue('#exchange-amount');
      await page.click('#exchange');
      summary.exchangeSignature = await waitForStep(page, 'confirmed', txTimeout);
      await page
        .waitForFunction((n) => document.querySelectorAll('#pending li').length > n, pendingBefore.length, { timeout: 30_000 })
        .catch(() => {
          throw new Failure(`no new pending request listed after the exchange (had ${pendingBefore.length})`);
        });
      summary.pendingAfterExchange = await pendingRequests(page);
      summary.holdingsAfterExchange = await units(page);
      const cancel = await page.$$('#pending li button.cancel');
      check(cancel.length === summary.pendingAfterExchange.length, 'each pending request has a Cancel button');
      log(`exchange requested: pending ${JSON.stringify(summary.pendingAfterExchange)} (${summary.exchangeSignature})`);
      await shot('exchange-requested');
    } else {
      // When the wallet rejects, then the page says so and nothing is sent.
      await expectEnabled(page, '#allocate', '#allocation-reason');
      await page.evaluate(() => {
        window.__ALLOT_TEST_WALLET__.reject = true;
      });
      await page.click('#allocate');
      await waitForStep(page, 'rejected', txTimeout);
      const message = await textOf(page, '#status');
      check(message.includes(REJECTED_MESSAGE), `#status says "${message}"`);
      check((await page.getAttribute('#status', 'data-signature')) === null, 'a signature is shown after a rejection');
      const calls = await page.evaluate(() => window.__ALLOT_TEST_WALLET__.calls);
      check(
        calls.some((call) => call.method === 'signTransaction' && call.rejected),
        `the wallet was never asked to sign (calls: ${JSON.stringify(calls)})`,
      );
      await shot('rejected');
      // Ask the server again: the holdings must not have moved.
      await page.reload({ waitUntil: 'load' });
      await page.click('#connect');
      await page.waitForSelector('#account[data-state="loaded"]', { timeout: 30_000 });
      summary.holdingsAfterReject = await units(page);
      check(
        summary.holdingsAfterReject === summary.holdingsBefore,
        `holdings moved from ${summary.holdingsBefore} to ${summary.holdingsAfterReject} after a rejection`,
      );
      summary.pendingAfterReject = await pendingRequests(page);
    }
    console.log(JSON.stringify(summary));
  } catch (error) {
    await page.screenshot({ path: join(screenshots, 'failure.png'), fullPage: true }).catch(() => {});
    const status = await page
      .evaluate(() => {
        const el = document.querySelector('#status');
        return el ? `${el.getAttribute('data-step')}: ${el.textContent}` : '';
      })
      .catch(() => '');
    if (status) log(`#status at failure: ${status}`);
    throw error;
  } finally {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function textOf(page, selector, onlyVisible = false) {
  const element = await page.$(selector);
  if (!element) return '';
  if (onlyVisible && !(await element.isVisible())) return '';
  return ((await element.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

async function units(page) {
  const value = await page.getAttribute('#holdings', 'data-units');
  check(value !== null, '#holdings has no data-units (status not loaded)');
  return Number(value);
}

async function pendingRequests(page) {
  return page.$$eval('#pending li', (items) =>
    items.map((li) => ({ id: Number(li.dataset.id), amount: Number(li.dataset.amount) })),
  );
}

async function expectEnabled(page, button, reasonSelector) {
  if (await page.isDisabled(button)) {
    throw new Failure(`${button} is disabled: "${await textOf(page, reasonSelector)}"`);
  }
}

/** Waits until #status reaches a terminal step; fails unless it is `expected`. Returns data-signature. */
async function waitForStep(page, expected, timeout) {
  await page
    .waitForFunction((steps) => steps.includes(document.querySelector('#status')?.dataset.step ?? ''), TERMINAL_STEPS, {
      timeout,
    })
    .catch(() => {
      throw new Failure(`no final step within ${timeout} ms`);
    });
  const step = await page.getAttribute('#status', 'data-step');
  if (step !== expected) {
    const reason = await page.getAttribute('#status', 'data-reason');
    throw new Failure(`#status is ${step}${reason ? ` (${reason})` : ''}, expected ${expected}: ${await textOf(page, '#status')}`);
  }
  return page.getAttribute('#status', 'data-signature');
}

/** The page refreshes the status after a confirmation: waits for the holdings to change. */
async function waitForUnitsChange(page, before) {
  await page
    .waitForFunction((b) => {
      const value = document.querySelector('#holdings')?.getAttribute('data-units');
      return value !== null && value !== undefined && Number(value) !== b;
    }, before, { timeout: 30_000 })
    .catch(() => {
      throw new Failure(`holdings still ${before} 30 s after the allocation confirmed`);
    });
  return units(page);
}

main().catch((error) => {
  const message = error instanceof Failure ? error.message : error?.stack ?? String(error);
  console.error(`e2e FAILED: ${message}`);
  const firstLine = String(error?.message ?? error).split('\n')[0];
  console.log(JSON.stringify({ ok: false, error: firstLine }));
  process.exit(1);
});
