/**
 * The demo in vault mode (`?vault=<origin>`, issue 10): the demo built and served on a `localhost`
 * origin, apps/vault built with that origin on its allow-list and served on 127.0.0.1 with its real
 * headers (the vault tests' serveVault), in the vault tests' browser profile that allows third-party
 * site data. The explorer sends no PIN: each one is typed into the vault's dialog inside its iframe.
 * Any console error, in the page or the vault's frame, fails the test (the vault tests' `apps`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeTests } from '@playwright/test';
import type { Page } from '@playwright/test';
import { answerInFrame, expect, serveVault, test as vaultTest, vaultFrame } from '../vault/fixtures.js';
import { test as demoTest } from './fixtures.js';
import { objectRows, signAndVerify } from './steps.js';

const SO_PIN = 'vault-so-pin';
const USER_PIN = 'vault-user-pin';
const NEW_USER_PIN = 'vault-user-pin-2';
const KEY_LABEL = 'vault signing key';

interface Site {
  /** The demo's origin (another site than the vault's). */
  demo: string;
  vault: string;
}

const test = mergeTests(demoTest, vaultTest).extend<object, { site: Site }>({
  site: [async ({ origin }, use) => {
    // vite preview listens on 127.0.0.1; as localhost the demo is another site than the vault.
    const demo = origin.replace('//127.0.0.1:', '//localhost:');
    const dir = await mkdtemp(join(tmpdir(), 'vhsm-demo-vault-e2e-'));
    const closers: (() => Promise<void>)[] = [];
    try {
      const { vault } = await serveVault({ origins: [demo], grants: {}, consent: { sign: false }, dialog: 'auto' }, dir, closers);
      await use({ demo, vault });
    } finally {
      for (const close of closers) await close();
      await rm(dir, { recursive: true, force: true });
    }
  }, { scope: 'worker', timeout: 120_000 }],
});

async function openDemo(page: Page, site: Site): Promise<void> {
  await page.goto(`${site.demo}/?vault=${encodeURIComponent(site.vault)}#explorer`);
  await expect(page.locator('body[data-ready="true"]')).toBeAttached({ timeout: 30_000 });
}

function loginOutcome(page: Page): ReturnType<Page['locator']> {
  return page.getByRole('region', { name: 'Login' }).locator('output');
}

test('vault mode: init, login in the vault dialog, generate, sign, verify; no PIN reaches the page', async ({ apps, site }) => {
  test.setTimeout(240_000);
  const page = await apps.context.newPage();
  await openDemo(page, site);

  // The page says which mode is on; the token reports the protected authentication path, so the
  // explorer shows no PIN field at all.
  await expect(page.getByRole('note', { name: 'Mode' })).toContainText(`Vault mode. The token lives in the vault at ${site.vault}`);
  await expect(page.locator('#where')).toContainText(`in the vault at ${site.vault}`);
  await expect(page.getByLabel('Token flags')).toContainText('PROTECTED_AUTHENTICATION_PATH');
  await expect(page.locator('#view-explorer input[type=password]')).toHaveCount(5);
  for (const input of await page.locator('#view-explorer input[type=password]').all()) await expect(input).toBeHidden();
  await expect(page.getByRole('region', { name: 'Initialize token' })).toContainText('the vault asks for each PIN in its own dialog');

  // Init: three dialogs of the vault, each naming the demo's origin; the steps wait for each.
  await page.getByRole('button', { name: 'Initialize token' }).click();
  const done = page.locator('ol.steps li.done');
  await answerInFrame(page, site.demo, [SO_PIN, SO_PIN]);
  await expect(done).toHaveCount(2, { timeout: 60_000 });
  await answerInFrame(page, site.demo, [SO_PIN]);
  await expect(done).toHaveCount(3, { timeout: 60_000 });
  await answerInFrame(page, site.demo, [USER_PIN, USER_PIN]);
  await expect(page.getByText('Token ready: log in with the user PIN.')).toBeVisible({ timeout: 60_000 });
  await expect(done).toHaveCount(5);
  await expect(page.locator('ol.steps')).toContainText('C_InitToken (the vault asks for the new SO PIN)');
  await expect(vaultFrame(page).locator('input')).toHaveCount(0);

  // Login: cancelled, then a wrong PIN (counted by the page), then the right one.
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(vaultFrame(page).getByTestId('origin')).toHaveText(site.demo);
  await vaultFrame(page).getByRole('button', { name: 'Cancel' }).click();
  await expect(loginOutcome(page)).toHaveText('CKR_FUNCTION_CANCELED');
  await page.getByRole('button', { name: 'Log in' }).click();
  await answerInFrame(page, site.demo, ['not-the-pin']);
  await expect(loginOutcome(page)).toHaveText('CKR_PIN_INCORRECT');
  await expect(page.getByTestId('failed-logins')).toContainText(': 1');
  await page.getByRole('button', { name: 'Log in' }).click();
  await answerInFrame(page, site.demo, [USER_PIN]);
  await expect(loginOutcome(page)).toHaveText('Logged in');
  await expect(page.getByTestId('session-state')).toHaveText('CKS_RW_USER_FUNCTIONS');

  const generate = page.getByRole('region', { name: 'Generate a key' });
  await generate.getByLabel('Kind').selectOption({ label: 'EC P-256' });
  await generate.getByLabel('Label').fill(KEY_LABEL);
  await generate.getByRole('button', { name: 'Generate' }).click();
  await expect(generate.locator('output')).toHaveText(/Created objects \d+, \d+/);
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(2);
  await signAndVerify(page, KEY_LABEL);

  // The trace shows every call through the vault, PIN-less: C_Login carries no PIN at all.
  await page.getByRole('tab', { name: 'Call trace' }).click();
  const trace = page.getByRole('table', { name: 'Call trace' });
  await expect(trace.locator('tr', { hasText: 'C_InitToken' })).toHaveCount(1);
  await expect(trace.locator('tr.failed', { hasText: 'CKR_FUNCTION_CANCELED' })).toHaveCount(1);
  await expect(trace.locator('tr.failed', { hasText: 'CKR_PIN_INCORRECT' })).toHaveCount(1);
  await expect(trace.locator('tr', { hasText: 'C_Sign' }).first()).toBeVisible();
  const logins = trace.locator('tr', { hasText: 'C_Login' });
  await expect(logins).toHaveCount(4);
  await expect(logins.filter({ hasText: '<redacted>' })).toHaveCount(0);
  await page.getByRole('tab', { name: 'Token explorer' }).click();

  // C_SetPIN goes PIN-less too: the vault asks for the current and the new PIN, all three fields
  // fully in view (its OK stays disabled until they are).
  const change = page.getByRole('region', { name: 'Change PIN' });
  await change.getByRole('button', { name: 'Change PIN' }).click();
  await expect(vaultFrame(page).getByTestId('origin')).toHaveText(site.demo);
  await expect(vaultFrame(page).locator('form')).toContainText('asks to change the user PIN');
  await expect(vaultFrame(page).locator('input[type=password]')).toHaveCount(3);
  await vaultFrame(page).getByRole('button', { name: 'Cancel' }).click();
  await expect(change.locator('output')).toHaveText('CKR_FUNCTION_CANCELED');
  await change.getByRole('button', { name: 'Change PIN' }).click();
  await answerInFrame(page, site.demo, [USER_PIN, NEW_USER_PIN, NEW_USER_PIN]);
  await expect(change.locator('output')).toHaveText('PIN changed');

  // After a reload (a new application, the vault's records kept): the public half shows, login
  // through the dialog brings the private one back, and it still signs.
  await page.reload();
  await expect(page.locator('body[data-ready="true"]')).toBeAttached({ timeout: 30_000 });
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(1);
  await page.getByRole('button', { name: 'Log in' }).click();
  await answerInFrame(page, site.demo, [NEW_USER_PIN]);
  await expect(loginOutcome(page)).toHaveText('Logged in');
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(2);
  await signAndVerify(page, KEY_LABEL);

  // The attack lab keeps its own in-page tokens in vault mode.
  await page.getByRole('tab', { name: 'Attack lab' }).click();
  const a1 = page.getByRole('region', { name: 'A1: wrap/decrypt' });
  await a1.getByRole('button', { name: 'Run A1' }).click();
  await expect(a1.locator('[data-policy="spec"] .verdict')).toContainText("it is the victim's key", { timeout: 60_000 });
  await expect(a1.locator('[data-policy="strict"] li.refused')).toContainText('CKR_');

  // No PIN was ever in the app's document (typed only in the vault's frame).
  const html = await page.content();
  for (const pin of [SO_PIN, USER_PIN, NEW_USER_PIN]) expect(html).not.toContain(pin);
});

test('vault mode: a vault that does not allow this origin leaves the page with a notice, and worker mode is one link away', async ({ apps, site }) => {
  const page = await apps.context.newPage();
  // The vault's frame-ancestors refuses this embedder (another port: another origin) and logs it.
  apps.expectErrors(/frame-ancestors/);
  // The demo rethrows what stopped it, as it does in worker mode.
  apps.expectErrors(/did not accept this origin/);
  const stranger = site.demo.replace('//localhost:', '//127.0.0.1:');
  await page.goto(`${stranger}/?vault=${encodeURIComponent(site.vault)}#explorer`);
  await expect(page.getByRole('alert')).toContainText('The token did not start: CKR_DEVICE_ERROR', { timeout: 30_000 });
  await expect(page.getByRole('alert')).toContainText(`with ${stranger} on its allow-list`);
  await page.getByRole('link', { name: 'Switch to worker mode' }).click();
  await expect(page.locator('body[data-ready="true"]')).toBeAttached({ timeout: 30_000 });
  await expect(page.getByRole('note', { name: 'Mode' })).toContainText('Worker mode');
  expect(new URL(page.url()).searchParams.has('vault')).toBe(false);
});
