/**
 * The engine + IndexedDB store in a real Chromium module worker: tokens, keys and PIN counters
 * survive reloads, new workers and browser restarts; the records hold no key bytes and no PIN; a
 * page closed mid-burst leaves a consistent token.
 */
import type { Page } from '@playwright/test';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_EC_PARAMS, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE,
  CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKF_RW_SESSION, CKF_SERIAL_SESSION,
  CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKK_AES, CKM_AES_GCM, CKM_AES_KEY_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKU_SO, CKU_USER,
} from '@vhsm/token';
import { expect, test } from './fixtures.js';
import { bytes, call, hex, rv, start } from './helpers.js';

const SO_PIN = 'so-pin-e2e-1';
const USER_PIN = 'user-pin-e2e-7';
const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const FAST = { pbkdf2Iterations: 2000 };
const KNOWN_PRIVATE = Uint8Array.from({ length: 32 }, (_, i) => (0x5a + i * 29) & 0xff);
const KNOWN_PUBLIC = Uint8Array.from({ length: 16 }, (_, i) => (0xc3 + i * 13) & 0xff);
const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const MESSAGE = new TextEncoder().encode('kept across restarts');
const gcm = (iv: number) => ({ mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(iv) } });

/**
 * A key imported with known bytes. The strict policy keeps sensitive keys private, so the public one
 * is a readable key: its bytes must still never appear in a record (they are sealed under DK).
 */
function importTemplate(label: string, value: Uint8Array, isPrivate: boolean) {
  return [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_TOKEN, value: true },
    { type: CKA_PRIVATE, value: isPrivate }, { type: CKA_LABEL, value: label }, { type: CKA_ENCRYPT, value: true },
    { type: CKA_DECRYPT, value: true }, { type: CKA_SENSITIVE, value: isPrivate }, { type: CKA_EXTRACTABLE, value: !isPrivate },
    { type: CKA_VALUE, value },
  ];
}

async function initToken(page: Page): Promise<void> {
  await call(page, 'C_InitToken', 0, SO_PIN, 'e2e token');
  const so = await call<number>(page, 'C_OpenSession', 0, RW);
  await call(page, 'C_Login', so, CKU_SO, SO_PIN);
  await call(page, 'C_InitPIN', so, USER_PIN);
  await call(page, 'C_CloseSession', so);
}

async function userSession(page: Page): Promise<number> {
  const session = await call<number>(page, 'C_OpenSession', 0, RW);
  await call(page, 'C_Login', session, CKU_USER, USER_PIN);
  return session;
}

async function find(page: Page, session: number, template: { type: number; value: unknown }[]): Promise<number[]> {
  await call(page, 'C_FindObjectsInit', session, template);
  const found = await call<number[]>(page, 'C_FindObjects', session, 100_000);
  await call(page, 'C_FindObjectsFinal', session);
  return found;
}

async function byLabel(page: Page, session: number, label: string, objectClass: number): Promise<number> {
  const found = await find(page, session, [{ type: CKA_LABEL, value: label }, { type: CKA_CLASS, value: objectClass }]);
  expect(found, `${label} (class ${objectClass})`).toHaveLength(1);
  return found[0] as number;
}

async function decrypt(page: Page, session: number, key: number, iv: number, data: unknown): Promise<string> {
  await call(page, 'C_DecryptInit', session, gcm(iv), key);
  return bytes(await call(page, 'C_Decrypt', session, data));
}

/** Every key made in `seed` still works: decrypts what it encrypted then, verifies and signs. */
async function useKeys(page: Page, made: { ciphertexts: unknown[]; signature: unknown }): Promise<void> {
  const session = await userSession(page);
  const keys = [
    await byLabel(page, session, 'imported-private', CKO_SECRET_KEY),
    await byLabel(page, session, 'imported-public', CKO_SECRET_KEY),
    await byLabel(page, session, 'generated', CKO_SECRET_KEY),
  ];
  for (const [i, key] of keys.entries()) {
    expect(await decrypt(page, session, key, i + 1, made.ciphertexts[i])).toBe(hex(MESSAGE));
  }
  const publicKey = await byLabel(page, session, 'ec', CKO_PUBLIC_KEY);
  const privateKey = await byLabel(page, session, 'ec', CKO_PRIVATE_KEY);
  await call(page, 'C_VerifyInit', session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
  expect(await call(page, 'C_Verify', session, MESSAGE, made.signature)).toBe(true);
  await call(page, 'C_SignInit', session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
  const again = await call(page, 'C_Sign', session, MESSAGE);
  await call(page, 'C_VerifyInit', session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
  expect(await call(page, 'C_Verify', session, MESSAGE, again)).toBe(true);
  await call(page, 'C_CloseSession', session);
}

async function seed(page: Page) {
  await initToken(page);
  const session = await userSession(page);
  const keys = [
    await call<number>(page, 'C_CreateObject', session, importTemplate('imported-private', KNOWN_PRIVATE, true)),
    await call<number>(page, 'C_CreateObject', session, importTemplate('imported-public', KNOWN_PUBLIC, false)),
    await call<number>(page, 'C_GenerateKey', session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
      { type: CKA_LABEL, value: 'generated' }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
    ]),
  ];
  const ciphertexts: unknown[] = [];
  for (const [i, key] of keys.entries()) {
    await call(page, 'C_EncryptInit', session, gcm(i + 1), key);
    ciphertexts.push(await call(page, 'C_Encrypt', session, MESSAGE));
  }
  const pair = await call<{ privateKey: number }>(page, 'C_GenerateKeyPair', session, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_TOKEN, value: true }, { type: CKA_VERIFY, value: true }, { type: CKA_LABEL, value: 'ec' }],
    [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SIGN, value: true }, { type: CKA_LABEL, value: 'ec' }]);
  await call(page, 'C_SignInit', session, { mechanism: CKM_ECDSA_SHA256 }, pair.privateKey);
  const signature = await call(page, 'C_Sign', session, MESSAGE);
  return { ciphertexts, signature };
}

/** Every 8-byte window of `secret`, as hex: none may appear in any record. */
function windows(secret: Uint8Array): string[] {
  return Array.from({ length: secret.length - 7 }, (_, i) => hex(secret.subarray(i, i + 8)));
}

test('keys survive a reload, a new worker and a browser restart; no record holds their bytes or a PIN', async ({ profile }) => {
  let page = await profile.page();
  await start(page, FAST);
  const made = await seed(page);

  await page.reload();
  await start(page, FAST);
  await useKeys(page, made);

  // A second worker in the same page, the first one gone.
  await page.evaluate(() => window.vhsm.stop());
  await start(page, FAST);
  await useKeys(page, made);

  await profile.quit();
  page = await profile.page();
  await start(page, FAST);
  await useKeys(page, made);

  const databases = await page.evaluate(() => window.vhsm.dump());
  expect(databases.map((d) => d.name)).toEqual(['vhsm']);
  const db = databases[0]!;
  expect(Object.keys(db.stores).sort()).toEqual(['objects', 'tokens']);
  expect(db.stores.objects!.values).toHaveLength(5);
  const text = JSON.stringify(databases);
  // The dump does reach sealed blobs and the device key (non-extractable).
  expect(text).toContain('"$hex"');
  expect(text).toContain('"$cryptoKey":{"algorithm":{"name":"AES-GCM","length":256},"extractable":false');
  for (const secret of [KNOWN_PRIVATE, KNOWN_PUBLIC]) {
    for (const w of windows(secret)) expect(text).not.toContain(w);
  }
  for (const pin of [SO_PIN, USER_PIN]) {
    expect(text).not.toContain(pin);
    expect(text).not.toContain(hex(new TextEncoder().encode(pin)));
  }
});

test('wrong-PIN counts survive reloads and lock the PIN', async ({ profile }) => {
  const page = await profile.page();
  const options = { ...FAST, maxPinTries: 3 };
  await start(page, options);
  await initToken(page);
  let session = await call<number>(page, 'C_OpenSession', 0, RW);
  expect(await rv(page, 'C_Login', session, CKU_USER, 'wrong-pin-1')).toBe('CKR_PIN_INCORRECT');

  await page.reload();
  await start(page, options);
  const flags = async () => (await call<{ flags: number }>(page, 'C_GetTokenInfo', 0)).flags;
  expect(await flags() & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
  session = await call<number>(page, 'C_OpenSession', 0, RW);
  expect(await rv(page, 'C_Login', session, CKU_USER, 'wrong-pin-2')).toBe('CKR_PIN_INCORRECT');
  expect(await flags() & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);

  await page.reload();
  await start(page, options);
  expect(await flags() & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
  session = await call<number>(page, 'C_OpenSession', 0, RW);
  expect(await rv(page, 'C_Login', session, CKU_USER, 'wrong-pin-3')).toBe('CKR_PIN_INCORRECT');

  await page.reload();
  await start(page, options);
  expect(await flags() & CKF_USER_PIN_LOCKED).toBe(CKF_USER_PIN_LOCKED);
  session = await call<number>(page, 'C_OpenSession', 0, RW);
  expect(await rv(page, 'C_Login', session, CKU_USER, USER_PIN)).toBe('CKR_PIN_LOCKED');
});

test('two tabs racing wrong PINs count every attempt, and see each other\'s objects', async ({ profile }) => {
  const [a, b] = [await profile.page(), await profile.page()] as const;
  await start(a, { ...FAST, maxPinTries: 20 });
  await initToken(a);
  await start(b, { ...FAST, maxPinTries: 20 });
  const sessions = await Promise.all([a, b].map((p) => call<number>(p, 'C_OpenSession', 0, RW)));
  const attempts = [];
  for (let i = 0; i < 5; i++) {
    for (const [j, p] of [a, b].entries()) attempts.push(rv(p, 'C_Login', sessions[j], CKU_USER, `wrong-pin-${i}`));
  }
  expect(await Promise.all(attempts)).toEqual(Array(10).fill('CKR_PIN_INCORRECT'));
  const tokens = (await a.evaluate(() => window.vhsm.dump()))[0]?.stores.tokens?.values as { user: { failures: number } }[];
  expect(tokens[0]?.user.failures).toBe(10);

  await call(a, 'C_Login', sessions[0], CKU_USER, USER_PIN);
  await call(a, 'C_CreateObject', sessions[0], importTemplate('from-a', KNOWN_PUBLIC, false));
  expect(await find(b, sessions[1] as number, [{ type: CKA_LABEL, value: 'from-a' }])).toHaveLength(1);
  expect((await call<{ flags: number }>(b, 'C_GetTokenInfo', 0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
});

test('a page closed during the PIN check keeps the attempt counted', async ({ profile }) => {
  const first = await profile.page();
  await start(first, FAST);
  await call(first, 'C_InitToken', 0, SO_PIN, 'e2e token');
  // The user PIN gets a PBKDF2 count that takes seconds, so the page can close in the middle of it.
  await first.evaluate(() => window.vhsm.stop());
  await start(first, { pbkdf2Iterations: 20_000_000 });
  const so = await call<number>(first, 'C_OpenSession', 0, RW);
  await call(first, 'C_Login', so, CKU_SO, SO_PIN);
  await call(first, 'C_InitPIN', so, USER_PIN);
  await call(first, 'C_CloseSession', so);
  const session = await call<number>(first, 'C_OpenSession', 0, RW);
  const failures = () => first.evaluate(async () => {
    const tokens = (await window.vhsm.dump())[0]?.stores.tokens?.values as { user?: { failures: number } }[];
    return tokens[0]?.user?.failures;
  });
  // The right PIN: counted first, forgiven only when the check completes, which it never does.
  void first.evaluate(([s, user, pin]) => window.vhsm.call('C_Login', s, user, pin), [session, CKU_USER, USER_PIN] as const)
    .catch(() => undefined);
  await expect.poll(failures, { intervals: [20] }).toBe(1);
  await first.close();

  const page = await profile.page();
  await start(page, FAST);
  expect((await call<{ flags: number }>(page, 'C_GetTokenInfo', 0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
  await userSession(page);
  expect((await call<{ flags: number }>(page, 'C_GetTokenInfo', 0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
});

test('closing the page in the middle of a burst of writes leaves a consistent token', async ({ profile }) => {
  const first = await profile.page();
  await start(first, FAST);
  await initToken(first);
  await first.evaluate((pin) => window.vhsm.burst(pin), USER_PIN);
  await first.waitForFunction(() => window.vhsm.progress >= 12);
  const before = await first.evaluate(() => window.vhsm.progress);
  await first.close();

  const page = await profile.page();
  await start(page, FAST);
  const session = await userSession(page);
  const all = await find(page, session, []);
  const labels = new Map<string, number[]>();
  for (const handle of all) {
    const [label, objectClass] = await call<{ value: unknown }[]>(page, 'C_GetAttributeValue', session, handle, [{ type: CKA_LABEL }, { type: CKA_CLASS }]);
    const key = `${String(label?.value)}/${String(objectClass?.value)}`;
    labels.set(key, [...(labels.get(key) ?? []), handle]);
  }
  // Rounds reported finished are all there (the worker went on for a while until the close).
  const rounds = Math.max(...[...labels.keys()].map((k) => Number(/^(?:pair|secret)-(\d+)/.exec(k)?.[1] ?? -1))) + 1;
  expect(rounds).toBeGreaterThanOrEqual(before);
  for (let round = 0; round < rounds; round++) {
    const publics = labels.get(`pair-${round}/${CKO_PUBLIC_KEY}`) ?? [];
    const privates = labels.get(`pair-${round}/${CKO_PRIVATE_KEY}`) ?? [];
    const secrets = [...(labels.get(`secret-${round}/${CKO_SECRET_KEY}`) ?? []), ...(labels.get(`secret-${round}-renamed/${CKO_SECRET_KEY}`) ?? [])];
    // A key pair is whole or absent; a secret key exists once, under its old or its new label.
    expect(publics.length, `pair ${round}`).toBe(privates.length);
    expect(publics.length, `pair ${round}`).toBeLessThanOrEqual(1);
    expect(secrets.length, `secret ${round}`).toBeLessThanOrEqual(1);
    if (round < before) {
      expect(publics.length, `pair ${round}`).toBe(1);
      expect(labels.has(`secret-${round}-renamed/${CKO_SECRET_KEY}`), `secret ${round}`).toBe(true);
    }
    if (privates[0] !== undefined) {
      await call(page, 'C_SignInit', session, { mechanism: CKM_ECDSA_SHA256 }, privates[0]);
      const signature = await call(page, 'C_Sign', session, MESSAGE);
      await call(page, 'C_VerifyInit', session, { mechanism: CKM_ECDSA_SHA256 }, publics[0]);
      expect(await call(page, 'C_Verify', session, MESSAGE, signature)).toBe(true);
    }
    if (secrets[0] !== undefined) {
      await call(page, 'C_EncryptInit', session, gcm(7), secrets[0]);
      const ciphertext = await call(page, 'C_Encrypt', session, MESSAGE);
      expect(await decrypt(page, session, secrets[0], 7, ciphertext)).toBe(hex(MESSAGE));
    }
  }
  expect(all.length).toBe([...labels.values()].reduce((n, h) => n + h.length, 0));
  // The store holds exactly what the engine sees: no orphan record.
  const dumped = await page.evaluate(() => window.vhsm.dump());
  expect(dumped[0]?.stores.objects?.values).toHaveLength(all.length);
});

test('the persistent-storage request is offered to the window and reported unavailable in the worker', async ({ profile }) => {
  const page = await profile.page();
  await start(page, FAST);
  expect(['persisted', 'denied']).toContain(await page.evaluate(() => window.vhsm.persist()));
  expect(await page.evaluate(() => window.vhsm.persistFromWorker())).toBe('unavailable');
});
