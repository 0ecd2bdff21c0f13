/**
 * The cross-origin vault in Chromium: apps on localhost origins, the vault on 127.0.0.1 (another
 * site), each app embedding it through connect({ vault }). The PIN dialogs are answered inside the
 * vault's iframe (or its popup window) as a user would, through Playwright.
 */
import {
  CKR_ACTION_PROHIBITED, CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_FUNCTION_CANCELED, CKR_FUNCTION_REJECTED,
  CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID, CKR_PIN_INCORRECT,
} from '@vhsm/token';
import type { Page } from '@playwright/test';
import { answerInFrame, expect, test, vaultFrame, vaultFrameOf } from './fixtures.js';

const SO_PIN = 'so-pin-vault-1';
const USER_PIN = 'user-pin-vault-1';

/** Initializes the vault's token from `page` (SO PIN, SO login, user PIN: three dialogs). */
async function initToken(page: Page, origin: string): Promise<void> {
  const done = page.evaluate(() => window.vhsmVaultTest.initToken());
  await answerInFrame(page, origin, [SO_PIN, SO_PIN]);
  await answerInFrame(page, origin, [SO_PIN]);
  await answerInFrame(page, origin, [USER_PIN, USER_PIN]);
  expect(await done).toEqual([0, 0, 0]);
}

/** Opens a session and logs the user in through the vault's dialog. */
async function login(page: Page, origin: string): Promise<void> {
  await page.evaluate(() => window.vhsmVaultTest.openSession());
  const code = page.evaluate(() => window.vhsmVaultTest.login());
  await answerInFrame(page, origin, [USER_PIN]);
  expect(await code).toBe(0);
}

async function connected(page: Page): Promise<void> {
  expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: 0 });
}

test('the app signs through the vault; PINs are typed in the vault, which names the app, and never reach the app', async ({ apps, origins }) => {
  const { app1, main } = origins;
  const page = await apps.open(app1, main.vault);
  await connected(page);
  expect(await page.evaluate(() => window.vhsmVaultTest.protectedPath())).toBe(true);
  await initToken(page, app1);
  await page.evaluate(() => window.vhsmVaultTest.openSession());

  // The app may not pass a PIN of its own.
  expect(await page.evaluate(() => window.vhsmVaultTest.login('a-pin-the-app-knows'))).toBe(CKR_ARGUMENTS_BAD);
  // Cancel, then a wrong PIN, then the right one: the app learns only each CK_RV.
  let code = page.evaluate(() => window.vhsmVaultTest.login());
  await expect(vaultFrame(page).getByTestId('origin')).toHaveText(app1);
  await vaultFrame(page).getByRole('button', { name: 'Cancel' }).click();
  expect(await code).toBe(CKR_FUNCTION_CANCELED);
  code = page.evaluate(() => window.vhsmVaultTest.login());
  await answerInFrame(page, app1, ['not-the-pin']);
  expect(await code).toBe(CKR_PIN_INCORRECT);
  code = page.evaluate(() => window.vhsmVaultTest.login());
  await answerInFrame(page, app1, [USER_PIN]);
  expect(await code).toBe(0);

  const pair = await page.evaluate(() => window.vhsmVaultTest.generate('app1-key'));
  expect(await page.evaluate(({ privateKey, publicKey }) => window.vhsmVaultTest.signAndVerify(privateKey, publicKey), pair))
    .toEqual({ code: 0, verified: true });
  expect(await page.evaluate(() => window.vhsmVaultTest.facade())).toBe(true);

  // The token's database exists in the vault's origin; the app reaches neither it nor the vault's document.
  const vaultDatabases = await vaultFrameOf(page, main.vault).evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  expect(vaultDatabases).toContain('vhsm-vault');
  const reach = await page.evaluate(() => window.vhsmVaultTest.reach());
  expect(reach.databases).not.toContain('vhsm-vault');
  expect(reach.document).toBe('SecurityError');
  expect(reach.storage).toBe('SecurityError');
  // Nothing this origin's scripts observed (port and window messages, key events) holds a PIN.
  const observed = await page.evaluate(() => window.vhsmVaultTest.observed());
  expect(observed.length).toBeGreaterThan(0);
  for (const pin of [SO_PIN, USER_PIN, 'not-the-pin']) expect(observed.filter((o) => o.includes(pin))).toEqual([]);
  expect(observed.filter((o) => o.startsWith('key') || o.startsWith('input'))).toEqual([]);
});

test('the PIN dialog cannot be confirmed while the app covers the vault', async ({ apps, origins }) => {
  const { app1, main } = origins;
  const page = await apps.open(app1, main.vault);
  await connected(page);
  await initToken(page, app1);
  await page.evaluate(() => window.vhsmVaultTest.openSession());
  const code = page.evaluate(() => window.vhsmVaultTest.login());
  const frame = vaultFrame(page);
  await expect(frame.getByRole('button', { name: 'OK' })).toBeEnabled();
  await frame.locator('input[type=password]').fill(USER_PIN);
  await page.evaluate(() => window.vhsmVaultTest.overlay(true));
  await expect(frame.getByRole('button', { name: 'OK' })).toBeDisabled();
  // Still disabled a while later: the overlay stays, so does the refusal.
  await page.waitForTimeout(1000);
  await expect(frame.getByRole('button', { name: 'OK' })).toBeDisabled();
  await page.evaluate(() => window.vhsmVaultTest.overlay(false));
  await frame.getByRole('button', { name: 'OK' }).click();
  expect(await code).toBe(0);
});

test('each origin sees only its own objects and those granted to it', async ({ apps, origins }) => {
  const { app1, app2, app3, main } = origins;
  const one = await apps.open(app1, main.vault);
  await connected(one);
  await initToken(one, app1);
  await login(one, app1);
  const pair1 = await one.evaluate(() => window.vhsmVaultTest.generate('app1-key'));

  const two = await apps.open(app2, main.vault);
  await connected(two);
  await login(two, app2);
  const pair2 = await two.evaluate(() => window.vhsmVaultTest.generate('app2-key'));
  expect(await two.evaluate(() => window.vhsmVaultTest.labels())).toEqual(['app2-key', 'app2-key']);
  expect(await two.evaluate(() => window.vhsmVaultTest.findKey('app1-key'))).toEqual([]);
  // Guessed handles: none of app1's objects can be read or used.
  const guessed = await two.evaluate((own) => window.vhsmVaultTest.guess(40, own), [pair2.publicKey, pair2.privateKey]);
  expect(new Set(guessed.read)).toEqual(new Set([CKR_OBJECT_HANDLE_INVALID]));
  expect(new Set(guessed.sign)).toEqual(new Set([CKR_KEY_HANDLE_INVALID]));
  expect(await one.evaluate(() => window.vhsmVaultTest.labels())).toEqual(['app1-key', 'app1-key']);

  // app3 was granted app1's objects by the vault: it finds and uses them, but may not destroy them.
  const three = await apps.open(app3, main.vault);
  await connected(three);
  await login(three, app3);
  expect(await three.evaluate(() => window.vhsmVaultTest.labels())).toEqual(['app1-key', 'app1-key']);
  const [privateKey = 0] = await three.evaluate(() => window.vhsmVaultTest.findKey('app1-key'));
  const [publicKey = 0] = await three.evaluate(() => window.vhsmVaultTest.findKey('app1-key', true));
  expect(await three.evaluate(({ privateKey, publicKey }) => window.vhsmVaultTest.signAndVerify(privateKey, publicKey), { privateKey, publicKey }))
    .toEqual({ code: 0, verified: true });
  expect(await three.evaluate((h) => window.vhsmVaultTest.destroy(h), privateKey)).toBe(CKR_ACTION_PROHIBITED);
  // The owner may.
  expect(await one.evaluate((h) => window.vhsmVaultTest.destroy(h), pair1.privateKey)).toBe(0);
  expect(await three.evaluate(() => window.vhsmVaultTest.findKey('app1-key'))).toEqual([]);
});

test('an origin that is not on the allow-list gets nothing', async ({ apps, origins }) => {
  const { app1, stranger, main } = origins;
  // frame-ancestors keeps the vault from loading in the stranger's page at all.
  apps.expectErrors(/frame-ancestors/);
  const page = await apps.open(stranger, main.vault);
  expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: CKR_DEVICE_ERROR });
  expect(await page.locator('iframe').count()).toBe(0);
  // Served without headers, the vault still answers only allow-listed origins' handshakes.
  expect(await page.evaluate((vault) => window.vhsmVaultTest.connect(vault), main.bareVault)).toEqual({ code: CKR_DEVICE_ERROR });
  const allowed = await apps.open(app1, main.bareVault);
  await connected(allowed);
});

/** Presses a button of the vault's popup, which closes it at once (so the click may see it gone). */
async function pressAndClose(popupPage: Page, name: string): Promise<void> {
  const closed = popupPage.waitForEvent('close');
  await popupPage.getByRole('button', { name }).click().catch((e: Error) => {
    if (!/closed/.test(e.message)) throw e;
  });
  await closed;
}

test('popup dialogs and signing consent remembered per origin', async ({ apps, origins }) => {
  const { app1, popup } = origins;
  const page = await apps.open(app1, popup.vault);
  await connected(page);
  /** Opens the vault's window from its iframe and returns it. */
  const openPopup = async (): Promise<Page> => {
    const frame = vaultFrame(page);
    await expect(frame.getByTestId('origin')).toHaveText(app1);
    const [opened] = await Promise.all([apps.context.waitForEvent('page'), frame.getByRole('button', { name: 'Open the vault window' }).click()]);
    await expect(opened.getByTestId('origin')).toHaveText(app1);
    return opened;
  };
  const answer = async (pins: string[]): Promise<void> => {
    const opened = await openPopup();
    for (const [i, pin] of pins.entries()) await opened.locator('input[type=password]').nth(i).fill(pin);
    await pressAndClose(opened, 'OK');
  };
  const init = page.evaluate(() => window.vhsmVaultTest.initToken());
  await answer([SO_PIN, SO_PIN]);
  await answer([SO_PIN]);
  await answer([USER_PIN, USER_PIN]);
  expect(await init).toEqual([0, 0, 0]);
  await page.evaluate(() => window.vhsmVaultTest.openSession());
  const code = page.evaluate(() => window.vhsmVaultTest.login());
  await answer([USER_PIN]);
  expect(await code).toBe(0);
  const pair = await page.evaluate(() => window.vhsmVaultTest.generate('consent'));
  const sign = (): Promise<{ code: number; verified?: boolean }> =>
    page.evaluate(({ privateKey, publicKey }) => window.vhsmVaultTest.signAndVerify(privateKey, publicKey), pair);

  let signed = sign();
  let popupPage = await openPopup();
  await pressAndClose(popupPage, 'Deny');
  expect(await signed).toEqual({ code: CKR_FUNCTION_REJECTED });
  signed = sign();
  popupPage = await openPopup();
  await pressAndClose(popupPage, 'Allow');
  expect(await signed).toEqual({ code: 0, verified: true });
  // Remembered: no prompt this time.
  expect(await sign()).toEqual({ code: 0, verified: true });
});
