/**
 * The vault where the browser gives its iframe no storage of its own (Chromium's default profile:
 * third-party cookies blocked; Playwright also turns storage partitioning off, so the iframe gets
 * nothing, not even partitioned storage). The vault asks for its storage with the Storage Access
 * API; until it has it, the app's calls fail with CKR_DEVICE_ERROR. docs/vault.md, "Third-party storage".
 */
import { CKR_CRYPTOKI_NOT_INITIALIZED, CKR_DEVICE_ERROR } from '@vhsm/token';
import type { BrowserContext, Page } from '@playwright/test';
import { answerInFrame, expect, test, vaultFrame, vaultFrameOf } from './fixtures.js';

const SO_PIN = 'so-pin-storage-1';
const USER_PIN = 'user-pin-storage-1';

/** The databases the vault's origin has as a top-level page (its first-party, unpartitioned storage). */
async function firstPartyDatabases(context: BrowserContext, vault: string): Promise<string[]> {
  const top = await context.newPage();
  await top.goto(`${vault}/`);
  const names = await top.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
  await top.close();
  return names;
}

async function storageOf(page: Page, vault: string): Promise<string | undefined> {
  return vaultFrameOf(page, vault).evaluate(() => document.body.dataset.storage);
}

test.describe('third-party storage blocked', () => {
  test.use({ thirdParty: 'blocked' });

  test('the vault asks for its storage; until allowed, and once refused, calls fail with CKR_DEVICE_ERROR', async ({ apps, origins }) => {
    const { app1, main } = origins;
    // Chromium says why it refused, on the console.
    apps.expectErrors(/^console: requestStorageAccess: /);
    const page = await apps.open(app1, main.vault);
    // Connected (the iframe must stay for the user to answer), but C_Initialize fails at once.
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: CKR_DEVICE_ERROR, connected: true });
    const frame = vaultFrame(page);
    await expect(frame.getByText('Allow this vault to use its storage')).toBeVisible();
    await expect(frame.getByTestId('vault-origin')).toHaveText(main.vault);
    await expect(frame.getByTestId('origin')).toHaveText(app1);
    expect(await page.evaluate(() => window.vhsmVaultTest.frameShown())).toBe(true);
    expect(await page.evaluate(() => window.vhsmVaultTest.slots())).toBe(CKR_DEVICE_ERROR);
    expect(await page.evaluate(() => window.vhsmVaultTest.slotsMessage())).toContain('until the user allows it');

    // The user declines: the prompt goes, the calls keep failing, saying why.
    await frame.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => page.evaluate(() => window.vhsmVaultTest.frameShown())).toBe(false);
    expect(await storageOf(page, main.vault)).toBe('refused');
    expect(await page.evaluate(() => window.vhsmVaultTest.initialize())).toBe(CKR_DEVICE_ERROR);
    expect(await page.evaluate(() => window.vhsmVaultTest.slotsMessage())).toContain('the user declined');

    // Connecting again asks again; Allow is a real click in the iframe, but this browser holds no
    // grant and headless Chromium shows no prompt of its own: it refuses.
    await page.evaluate(() => window.vhsmVaultTest.close());
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: CKR_DEVICE_ERROR, connected: true });
    await vaultFrame(page).getByRole('button', { name: 'Allow' }).click();
    await expect.poll(() => page.evaluate(() => window.vhsmVaultTest.frameShown())).toBe(false);
    expect(await page.evaluate(() => window.vhsmVaultTest.slots())).toBe(CKR_DEVICE_ERROR);
    expect(await page.evaluate(() => window.vhsmVaultTest.slotsMessage())).toContain('the browser refused the vault storage access (NotAllowedError)');
    // Nothing was stored anywhere, and the app's page still works.
    expect(await firstPartyDatabases(apps.context, main.vault)).not.toContain('vhsm-vault');
    expect(await page.evaluate(() => document.title)).toBe('vhsm vault e2e app');
  });
  test('Allow cannot be pressed while the app covers the storage prompt', async ({ apps, origins }) => {
    const { app1, main } = origins;
    apps.expectErrors(/^console: requestStorageAccess: /);
    const page = await apps.open(app1, main.vault);
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: CKR_DEVICE_ERROR, connected: true });
    const allow = vaultFrame(page).getByRole('button', { name: 'Allow' });
    await expect(allow).toBeEnabled();
    await page.evaluate(() => window.vhsmVaultTest.overlay(true));
    await expect(allow).toBeDisabled();
    // Still disabled a while later: the overlay stays, so does the refusal.
    await page.waitForTimeout(1000);
    await expect(allow).toBeDisabled();
    expect(await storageOf(page, main.vault)).toBe('asking');
    // Uncovered, Allow works again (and this browser refuses, as above).
    await page.evaluate(() => window.vhsmVaultTest.overlay(false));
    await allow.click();
    await expect.poll(() => page.evaluate(() => window.vhsmVaultTest.slotsMessage())).toContain('(NotAllowedError)');
  });
});

/**
 * Headless Chromium never grants storage access from a click (above), so this test stands in for the
 * browser inside the vault's frame: its own storage throws as where blocked, and requestStorageAccess,
 * called with a user activation, hands out the frame's real storage as the handle — with a Web Lock
 * granted only after 1 s, the vault's slowest step before its gate takes the app's port over.
 */
test.describe('switching to the allowed storage', () => {
  test('calls the app posts while the vault switches are all answered', async ({ apps, origins }) => {
    const { app1, main } = origins;
    await apps.context.addInitScript((vault) => {
      if (location.origin !== vault || window.parent === window) return;
      const storage = window.localStorage;
      const locks = navigator.locks;
      Object.defineProperty(window, 'localStorage', { configurable: true, get: () => {
        throw new DOMException('blocked for the test', 'SecurityError');
      } });
      const handle = {
        localStorage: storage,
        locks: {
          query: () => locks.query(),
          request: (name: string, callback: LockGrantedCallback<unknown>) =>
            new Promise((resolve) => setTimeout(resolve, 1000)).then(() => locks.request(name, callback)),
        },
        SharedWorker: (url: string | URL, options?: WorkerOptions) => new SharedWorker(url, options),
      };
      Object.defineProperty(document, 'requestStorageAccess', { value: () => navigator.userActivation.isActive
        ? Promise.resolve(handle)
        : Promise.reject(new DOMException('no user activation', 'NotAllowedError')) });
    }, main.vault);
    const page = await apps.open(app1, main.vault);
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: CKR_DEVICE_ERROR, connected: true });
    const flood = page.evaluate(() => window.vhsmVaultTest.flood());
    await vaultFrame(page).getByRole('button', { name: 'Allow' }).click();
    const codes = await flood;
    // Refused while the vault had no storage, then the engine's own answer (not initialized yet); none lost.
    expect(codes.filter((c) => c !== CKR_DEVICE_ERROR && c !== CKR_CRYPTOKI_NOT_INITIALIZED)).toEqual([]);
    expect(codes.filter((c) => c === CKR_DEVICE_ERROR).length).toBeGreaterThan(50);
    expect(codes.at(-1)).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
    expect(await storageOf(page, main.vault)).toBe('granted');
    expect(await page.evaluate(() => window.vhsmVaultTest.initialize())).toBe(0);
    expect(await page.evaluate(() => window.vhsmVaultTest.protectedPath())).toBe(true);
  });
});

test.describe('storage access granted', () => {
  test.use({ thirdParty: 'granted' });

  test('the vault opens its unpartitioned storage without asking, and the app signs through it', async ({ apps, origins }) => {
    const { app1, main } = origins;
    const page = await apps.open(app1, main.vault);
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: 0 });
    expect(await storageOf(page, main.vault)).toBe('granted');
    expect(await page.evaluate(() => window.vhsmVaultTest.frameShown())).toBe(false);

    const init = page.evaluate(() => window.vhsmVaultTest.initToken());
    await answerInFrame(page, app1, [SO_PIN, SO_PIN]);
    await answerInFrame(page, app1, [SO_PIN]);
    await answerInFrame(page, app1, [USER_PIN, USER_PIN]);
    expect(await init).toEqual([0, 0, 0]);
    await page.evaluate(() => window.vhsmVaultTest.openSession());
    const login = page.evaluate(() => window.vhsmVaultTest.login());
    await answerInFrame(page, app1, [USER_PIN]);
    expect(await login).toBe(0);
    const pair = await page.evaluate(() => window.vhsmVaultTest.generate('granted-key'));
    expect(await page.evaluate(({ privateKey, publicKey }) => window.vhsmVaultTest.signAndVerify(privateKey, publicKey), pair))
      .toEqual({ code: 0, verified: true });
    // Unpartitioned: the token is the vault origin's first-party database, not in the iframe's partition.
    expect(await firstPartyDatabases(apps.context, main.vault)).toContain('vhsm-vault');
    expect(await vaultFrameOf(page, main.vault).evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).not.toContain('vhsm-vault');
  });
});

test.describe("Chromium's own storage partitioning", () => {
  test.use({ thirdParty: 'partitioned' });

  test('blocked third-party cookies leave the vault partitioned storage: no prompt, a token of this site only', async ({ apps, origins }) => {
    const { app1, main } = origins;
    const page = await apps.open(app1, main.vault);
    expect(await page.evaluate(() => window.vhsmVaultTest.connect())).toEqual({ code: 0 });
    expect(await storageOf(page, main.vault)).toBe('own');
    expect(await page.evaluate(() => window.vhsmVaultTest.frameShown())).toBe(false);
    expect(await page.evaluate(() => window.vhsmVaultTest.protectedPath())).toBe(true);
    expect(await vaultFrameOf(page, main.vault).evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toContain('vhsm-vault');
    expect(await firstPartyDatabases(apps.context, main.vault)).not.toContain('vhsm-vault');
  });
});
