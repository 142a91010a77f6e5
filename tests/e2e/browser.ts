// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for
// the account page tests. Without Chromium the tests fail loudly; they never skip.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { GATEWAY_URL } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// No background networking: this machine has no network beyond the package registries.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

// WebAuthn refuses IP addresses as relying party ids: the page is opened as localhost (WEBAUTHN_RP_ID's default).
export const PAGE_URL = `${GATEWAY_URL.replace('://127.0.0.1', '://localhost')}/account/`;

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (see .ci/run)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** One Chromium for the test file that calls this (at its top level); the returned function gives it to the tests. */
export function sharedChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running (sharedChromium must be called at the top level of a test file)');
    return browser;
  };
}
