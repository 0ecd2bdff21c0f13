/**
 * The demo end to end, as a person would use it: the token lives in the worker behind connect() and
 * persists in IndexedDB; the attack lab runs every scenario on a spec and a strict token.
 */
import { readFile } from 'node:fs/promises';
import type { Page, TestInfo } from '@playwright/test';
import { expect, test } from './fixtures.js';
import { choose, objectRows, signAndVerify } from './steps.js';

const SO_PIN = 'e2e-so-pin';
const USER_PIN = 'e2e-user-pin';
const NEW_USER_PIN = 'e2e-new-user-pin';
const KEY_LABEL = 'e2e signing key';

async function keep(page: Page, info: TestInfo, name: string): Promise<void> {
  await info.attach(name, { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
}

async function login(page: Page, pin: string): Promise<void> {
  await page.getByLabel('PIN', { exact: true }).fill(pin);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('init, login, generate, sign, verify; after a reload the key is still there; logout hides private objects', async ({ demo }, info) => {
  const { page } = demo;
  await demo.open();
  await expect(page.locator('#where')).toContainText('Worker');

  await page.getByLabel('SO PIN').fill(SO_PIN);
  await page.getByLabel('User PIN').fill(USER_PIN);
  await page.getByRole('button', { name: 'Initialize token' }).click();
  await expect(page.getByText('Token ready: log in with the user PIN.')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('ol.steps li.done')).toHaveCount(5);

  // A wrong PIN first: the token answers CKR_PIN_INCORRECT and the page counts it.
  await login(page, 'not-the-pin');
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('CKR_PIN_INCORRECT');
  await expect(page.getByTestId('failed-logins')).toContainText(': 1');
  await login(page, USER_PIN);
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('Logged in');
  await expect(page.getByTestId('session-state')).toHaveText('CKS_RW_USER_FUNCTIONS');

  const generate = page.getByRole('region', { name: 'Generate a key' });
  await generate.getByLabel('Kind').selectOption({ label: 'EC P-256' });
  await generate.getByLabel('Label').fill(KEY_LABEL);
  await generate.getByRole('button', { name: 'Generate' }).click();
  await expect(generate.locator('output')).toHaveText(/Created objects \d+, \d+/);
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(2);
  await keep(page, info, 'explorer-after-generate');

  await signAndVerify(page, KEY_LABEL);

  // The private key's value is withheld: the details view shows the CK_RV that answered.
  await objectRows(page).filter({ hasText: 'PRIVATE_KEY' }).getByRole('button').click();
  const details = page.getByRole('region', { name: 'Object details' });
  await expect(details.locator('tr.withheld', { hasText: 'CKA_VALUE' })).toContainText('CKR_ATTRIBUTE_SENSITIVE');
  await expect(details.locator('tr', { hasText: 'CKA_NEVER_EXTRACTABLE' })).toContainText('true');

  // The trace saw it all, with the PINs redacted.
  await page.getByRole('tab', { name: 'Call trace' }).click();
  const trace = page.getByRole('table', { name: 'Call trace' });
  await expect(trace.locator('tr', { hasText: 'C_InitToken' })).toHaveCount(1);
  await expect(trace.locator('tr.failed', { hasText: 'CKR_PIN_INCORRECT' })).toHaveCount(1);
  await expect(trace.locator('tr', { hasText: 'C_Sign' }).first()).toBeVisible();
  await expect(trace).toContainText('<redacted>');
  await expect(trace).not.toContainText(USER_PIN);
  await expect(trace).not.toContainText(SO_PIN);
  await keep(page, info, 'trace');
  // The export is the same record as JSON, constants by name, secrets still redacted.
  await page.getByLabel('Filter').fill('C_Login');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export JSON' }).click();
  const exported = await readFile(await (await download).path(), 'utf8');
  const calls = JSON.parse(exported) as { fn: string; rv: string; args: unknown[] }[];
  expect(calls.map((c) => `${c.fn} ${c.rv}`)).toEqual(['C_Login CKR_OK', 'C_Login CKR_PIN_INCORRECT', 'C_Login CKR_OK']);
  expect(calls[1]?.args).toEqual([1, 'CKU_USER', '<redacted>']);
  expect(exported).not.toContain(USER_PIN);
  await page.getByLabel('Filter').fill('');
  await page.getByRole('tab', { name: 'Token explorer' }).click();

  await page.reload();
  await expect(page.locator('body[data-ready="true"]')).toBeAttached({ timeout: 30_000 });
  // A new application: not logged in, so only the public half shows; after login both, and they work.
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(1);
  await expect(objectRows(page).filter({ hasText: 'PUBLIC_KEY' })).toHaveCount(1);
  await login(page, USER_PIN);
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('Logged in');
  await expect(objectRows(page).filter({ hasText: KEY_LABEL })).toHaveCount(2);
  await signAndVerify(page, KEY_LABEL);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByText('Logged out: private objects are out of reach')).toBeVisible();
  await expect(page.getByTestId('session-state')).toHaveText('CKS_RW_PUBLIC_SESSION');
  await expect(objectRows(page).filter({ hasText: 'PRIVATE_KEY' })).toHaveCount(0);
  await expect(objectRows(page).filter({ hasText: 'PUBLIC_KEY' })).toHaveCount(1);
  await keep(page, info, 'explorer-after-logout');

  // Worker mode says so; C_SetPIN in a public session changes the user PIN, checking the old one.
  await expect(page.getByRole('note', { name: 'Mode' })).toContainText('Worker mode');
  const change = page.getByRole('region', { name: 'Change PIN' });
  await change.getByLabel('Current PIN').fill('not-the-pin');
  await change.getByLabel('New PIN').fill(NEW_USER_PIN);
  await change.getByRole('button', { name: 'Change PIN' }).click();
  await expect(change.locator('output')).toHaveText('CKR_PIN_INCORRECT');
  await change.getByLabel('Current PIN').fill(USER_PIN);
  await change.getByLabel('New PIN').fill(NEW_USER_PIN);
  await change.getByRole('button', { name: 'Change PIN' }).click();
  await expect(change.locator('output')).toHaveText('PIN changed');
  await login(page, USER_PIN);
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('CKR_PIN_INCORRECT');
  await login(page, NEW_USER_PIN);
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('Logged in');

});

test('attack lab: every scenario runs on both tokens; strict refuses each one at a named step', async ({ demo }, info) => {
  test.setTimeout(300_000);
  const { page } = demo;
  await demo.open('attacks');
  await page.getByRole('button', { name: 'Run every attack' }).click();
  await expect(page.getByText(/^ran \d+ scenarios$/)).toBeVisible({ timeout: 240_000 });

  const rows = page.getByRole('table', { name: 'Attack results' }).locator('tbody tr');
  const results = await rows.evaluateAll((trs) => trs.map((tr) => {
    const cell = (policy: string): HTMLElement => tr.querySelector(`td[data-policy="${policy}"]`) as HTMLElement;
    return {
      id: (tr as HTMLElement).dataset['scenario'],
      spec: cell('spec').dataset['status'], specExpected: cell('spec').dataset['expect'],
      strict: cell('strict').dataset['status'], strictExpected: cell('strict').dataset['expect'],
    };
  }));
  expect(results.length).toBeGreaterThanOrEqual(18);
  for (const r of results) {
    // Each outcome is the one the scenario states (status, and for refusals the step and CK_RV).
    expect.soft(r.spec, `${r.id} under spec`).toBe(r.specExpected);
    expect.soft(r.strict, `${r.id} under strict`).toBe('refused');
    expect.soft(r.strictExpected, `${r.id}: the scenario expects strict to refuse`).toBe('refused');
  }
  const recoveredUnderSpec = results.filter((r) => r.spec === 'recovered').map((r) => r.id);
  expect(recoveredUnderSpec, 'the spec token gives keys away').toEqual(expect.arrayContaining(['A1', 'A2', 'A3', 'A7', 'A8', 'A13']));
  await expect(page.locator('.badge', { hasText: 'unexpected' })).toHaveCount(0);

  // A card shows the recovered key beside its proof under spec, and the refused step under strict.
  const a1 = page.getByRole('region', { name: 'A1: wrap/decrypt' });
  await expect(a1.locator('[data-policy="spec"] .verdict')).toContainText("it is the victim's key");
  await expect(a1.locator('[data-policy="strict"] li.refused')).toContainText('CKR_');
  await expect(a1.locator('.rule')).toContainText('wrap and decrypt');
  await keep(page, info, 'attack-lab');
});

test('playground: encrypt/decrypt, wrap/unwrap, ECDH derive, digest, public key export, CSR and a stored certificate — offline', async ({ demo, context }) => {
  const { page } = demo;
  await demo.open();
  await page.getByLabel('SO PIN').fill(SO_PIN);
  await page.getByLabel('User PIN').fill(USER_PIN);
  await page.getByRole('button', { name: 'Initialize token' }).click();
  await expect(page.getByText('Token ready: log in with the user PIN.')).toBeVisible({ timeout: 60_000 });
  // Loaded once, the demo needs no network: the token, the lab and x509 are all in the page and its worker.
  await context.setOffline(true);
  await login(page, USER_PIN);
  await expect(page.getByRole('region', { name: 'Login' }).locator('output')).toHaveText('Logged in');

  const generate = page.getByRole('region', { name: 'Generate a key' });
  const make = async (kind: string, label: string, usages: readonly string[], extractable = false): Promise<void> => {
    await generate.getByLabel('Kind').selectOption({ label: kind });
    await generate.getByLabel('Label').fill(label);
    for (const box of await generate.locator('fieldset.usages').first().getByRole('checkbox').all()) {
      const name = (await box.getAttribute('name'))?.replace('usage-', '') ?? '';
      await box.setChecked(usages.includes(name));
    }
    await generate.getByRole('checkbox', { name: 'extractable' }).setChecked(extractable);
    await generate.getByRole('button', { name: 'Generate' }).click();
    await expect(generate.locator('output')).toHaveText(/Created object/);
    await expect(objectRows(page).filter({ hasText: label }).first()).toBeVisible();
  };
  await make('AES-256', 'data key', ['encrypt', 'decrypt']);
  await make('AES-256', 'kek', ['wrap', 'unwrap']);
  await make('AES-256', 'exportable key', ['encrypt'], true);
  await make('EC P-256', 'alice', ['sign', 'verify', 'derive']);
  await make('EC P-256', 'bob', ['derive']);

  await page.getByRole('tab', { name: 'Playground' }).click();
  const enc = page.getByRole('region', { name: 'Encrypt and decrypt' });
  await choose(enc.getByLabel('Encryption key'), 'data key');
  await choose(enc.getByLabel('Decryption key'), 'data key');
  await enc.getByLabel('Mechanism').selectOption({ label: 'CKM_AES_GCM' });
  await enc.getByLabel('Plaintext (UTF-8)').fill('attack at dawn');
  await enc.getByRole('button', { name: 'Encrypt' }).click();
  await expect(enc.locator('output')).toHaveText('C_Encrypt: 30 bytes');
  await enc.getByLabel('Plaintext (UTF-8)').fill('');
  await enc.getByRole('button', { name: 'Decrypt' }).click();
  await expect(enc.locator('output')).toHaveText('C_Decrypt: "attack at dawn"');

  const wrap = page.getByRole('region', { name: 'Wrap and unwrap' });
  await choose(wrap.getByLabel('Wrapping key', { exact: true }), 'kek');
  await wrap.getByLabel('Mechanism').selectOption({ label: 'CKM_AES_KEY_WRAP' });
  // A non-extractable key does not leave the token, even wrapped.
  await choose(wrap.getByLabel('Key to wrap'), 'data key');
  await wrap.getByRole('button', { name: 'Wrap', exact: true }).click();
  await expect(wrap.locator('output')).toHaveText('CKR_KEY_UNEXTRACTABLE');
  await choose(wrap.getByLabel('Key to wrap'), 'exportable key');
  await wrap.getByRole('button', { name: 'Wrap', exact: true }).click();
  await expect(wrap.locator('output')).toHaveText('C_WrapKey: 40 bytes');
  await choose(wrap.getByLabel('Unwrapping key'), 'kek');
  await wrap.getByLabel('Label of the unwrapped key').fill('unwrapped copy');
  await wrap.getByRole('button', { name: 'Unwrap' }).click();
  await expect(wrap.locator('output')).toHaveText(/C_UnwrapKey: session object \d+/);

  const derive = page.getByRole('region', { name: 'Derive' });
  await choose(derive.getByLabel('Base key'), 'alice');
  await derive.getByLabel('Mechanism').selectOption({ label: 'CKM_ECDH1_DERIVE' });
  await choose(derive.getByLabel('Other party (ECDH)'), 'bob — PUBLIC_KEY');
  await derive.getByRole('button', { name: 'Derive' }).click();
  await expect(derive.locator('output')).toHaveText(/C_DeriveKey: session object \d+/);

  const digest = page.getByRole('region', { name: 'Digest' });
  await digest.getByLabel('Mechanism').selectOption({ label: 'CKM_SHA256' });
  await digest.getByLabel('Data (UTF-8)').fill('abc');
  await digest.getByRole('button', { name: 'Digest' }).click();
  await expect(digest.locator('output')).toHaveText('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');

  const exporter = page.getByRole('region', { name: 'Export a public key' });
  await choose(exporter.getByLabel('Public key', { exact: true }), 'alice — PUBLIC_KEY');
  await exporter.getByRole('button', { name: 'PEM' }).click();
  await expect(exporter.locator('pre')).toContainText('-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE');
  await exporter.getByRole('button', { name: 'JWK' }).click();
  await expect(exporter.locator('pre')).toContainText('"crv": "P-256"');

  const certs = page.getByRole('region', { name: 'Certificate request and self-signed certificate' });
  await choose(certs.getByLabel('Key pair (private key)'), 'alice');
  await certs.getByLabel('Subject').fill('CN=alice');
  await certs.getByRole('button', { name: 'Make CSR' }).click();
  await expect(certs.locator('pre')).toContainText('-----BEGIN CERTIFICATE REQUEST-----');
  await certs.getByRole('button', { name: 'Make self-signed certificate and store it' }).click();
  await expect(certs.locator('output')).toHaveText(/Stored as CKO_CERTIFICATE object \d+/);
  await expect(certs.locator('pre')).toContainText('-----BEGIN CERTIFICATE-----');

  await page.getByRole('tab', { name: 'Token explorer' }).click();
  await expect(objectRows(page).filter({ hasText: 'CERTIFICATE' }).filter({ hasText: 'CN=alice' })).toHaveCount(1);
  await expect(objectRows(page).filter({ hasText: 'unwrapped copy' })).toHaveCount(1);
});
