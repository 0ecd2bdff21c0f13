/** The engine over the IndexedDB store: tokens, keys and PIN counters outlive the Cryptoki that made them. */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_LABEL, CKA_PRIVATE, CKA_SIGN, CKA_TOKEN, CKA_VALUE_LEN, CKA_VERIFY, CKA_DECRYPT, CKA_ENCRYPT,
  CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKM_AES_GCM, CKM_AES_KEY_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_DEVICE_MEMORY, CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKU_USER,
} from '@vhsm/token';
import type { Cryptoki } from '@vhsm/token';
import { IDBObjectStore } from 'fake-indexeddb';
import { aesTemplate, cryptokiOver, dump, expectRv, hex, initToken, newFactory, RW, USER_PIN } from './helpers.js';

const KNOWN_PRIVATE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ (i * 7));
const KNOWN_PUBLIC = Uint8Array.from({ length: 16 }, (_, i) => 0x3c ^ (i * 11));
const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const GCM = (iv: number) => ({ mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(iv) } });
const MESSAGE = new TextEncoder().encode('persisted');

async function findByLabel(p11: Cryptoki, session: number, label: string): Promise<number[]> {
  await p11.C_FindObjectsInit(session, [{ type: CKA_LABEL, value: label }]);
  const found = await p11.C_FindObjects(session, 10);
  await p11.C_FindObjectsFinal(session);
  return found;
}

async function one(p11: Cryptoki, session: number, label: string): Promise<number> {
  const found = await findByLabel(p11, session, label);
  expect(found, label).toHaveLength(1);
  return found[0] as number;
}

async function encrypt(p11: Cryptoki, session: number, key: number, iv: number): Promise<Uint8Array> {
  await p11.C_EncryptInit(session, GCM(iv), key);
  return p11.C_Encrypt(session, MESSAGE);
}

async function decrypt(p11: Cryptoki, session: number, key: number, iv: number, data: Uint8Array): Promise<Uint8Array> {
  await p11.C_DecryptInit(session, GCM(iv), key);
  return p11.C_Decrypt(session, data);
}

/** A token with four persistent keys, and what they produced before the restart. */
async function seed(factory: IDBFactory) {
  const { p11, store } = await cryptokiOver(factory);
  const session = await initToken(p11);
  await p11.C_Login(session, CKU_USER, USER_PIN);
  const imported = await p11.C_CreateObject(session, aesTemplate('imported-private', KNOWN_PRIVATE, true));
  const importedPublic = await p11.C_CreateObject(session, aesTemplate('imported-public', KNOWN_PUBLIC, false));
  const generated = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
    { type: CKA_LABEL, value: 'generated' }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
  ]);
  const pair = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_TOKEN, value: true }, { type: CKA_VERIFY, value: true }, { type: CKA_LABEL, value: 'ec' }],
    [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SIGN, value: true }, { type: CKA_LABEL, value: 'ec' }]);
  const before = {
    imported: await encrypt(p11, session, imported, 1),
    importedPublic: await encrypt(p11, session, importedPublic, 2),
    generated: await encrypt(p11, session, generated, 3),
  };
  await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, pair.privateKey);
  const signature = await p11.C_Sign(session, MESSAGE);
  await p11.C_Finalize();
  await store.close?.();
  return { before, signature };
}

describe('engine over IndexedDB', () => {
  test('keys made by one Cryptoki work in a new one over the same database', async () => {
    const factory = newFactory();
    const { before, signature } = await seed(factory);

    const { p11 } = await cryptokiOver(factory);
    const session = await p11.C_OpenSession(0, RW);
    // Private objects are invisible until login; the public ones are there at once.
    expect(await findByLabel(p11, session, 'imported-private')).toHaveLength(0);
    const importedPublic = await one(p11, session, 'imported-public');
    expect(await decrypt(p11, session, importedPublic, 2, before.importedPublic)).toEqual(MESSAGE);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    expect(await decrypt(p11, session, await one(p11, session, 'imported-private'), 1, before.imported)).toEqual(MESSAGE);
    expect(await decrypt(p11, session, await one(p11, session, 'generated'), 3, before.generated)).toEqual(MESSAGE);
    // The stored private key signs; the stored public key verifies both old and new signatures.
    let publicKey: number | undefined;
    let privateKey: number | undefined;
    for (const h of await findByLabel(p11, session, 'ec')) {
      const [kind] = await p11.C_GetAttributeValue(session, h, [{ type: CKA_CLASS }]);
      if (kind?.value === CKO_PRIVATE_KEY) privateKey = h;
      if (kind?.value === CKO_PUBLIC_KEY) publicKey = h;
    }
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey as number);
    expect(await p11.C_Verify(session, MESSAGE, signature)).toBe(true);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey as number);
    const again = await p11.C_Sign(session, MESSAGE);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey as number);
    expect(await p11.C_Verify(session, MESSAGE, again)).toBe(true);
  });

  test('no stored record holds the bytes of an imported key or a PIN', async () => {
    const factory = newFactory();
    await seed(factory);
    const text = JSON.stringify(await dump(factory));
    expect(text).toContain('"cryptoKey"'); // the dump does reach the device key
    expect(text).toContain('hex:'); // and the sealed blobs
    for (const secret of [KNOWN_PRIVATE, KNOWN_PUBLIC]) {
      expect(text).not.toContain(hex(secret));
      expect(text).not.toContain(hex(secret.subarray(0, 8)));
    }
    expect(text).not.toContain(USER_PIN);
    expect(text).not.toContain(hex(new TextEncoder().encode(USER_PIN)));
  });

  test('wrong-PIN counts survive a new Cryptoki and lock the PIN for every instance', async () => {
    const factory = newFactory();
    const first = await cryptokiOver(factory, { maxPinTries: 3 });
    const session = await initToken(first.p11);
    await expectRv(first.p11.C_Login(session, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    await first.p11.C_Finalize();
    await first.store.close?.();

    const second = await cryptokiOver(factory, { maxPinTries: 3 });
    expect((await second.p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(CKF_USER_PIN_COUNT_LOW);
    const s2 = await second.p11.C_OpenSession(0, RW);
    await expectRv(second.p11.C_Login(s2, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);
    expect((await second.p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_FINAL_TRY).toBe(CKF_USER_PIN_FINAL_TRY);
    await expectRv(second.p11.C_Login(s2, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT);

    const third = await cryptokiOver(factory, { maxPinTries: 3 });
    expect((await third.p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_LOCKED).toBe(CKF_USER_PIN_LOCKED);
    const s3 = await third.p11.C_OpenSession(0, RW);
    await expectRv(third.p11.C_Login(s3, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
  });

  test('two live instances share objects and count racing wrong PINs exactly', async () => {
    const factory = newFactory();
    const a = await cryptokiOver(factory, { maxPinTries: 20 });
    const b = await cryptokiOver(factory, { maxPinTries: 20 });
    const sa = await initToken(a.p11);
    const sb = await b.p11.C_OpenSession(0, RW);
    expect((await b.p11.C_GetTokenInfo(0)).label.trim()).toBe('persistent');

    await a.p11.C_CreateObject(sa, aesTemplate('shared', KNOWN_PUBLIC, false));
    const seen = await one(b.p11, sb, 'shared');
    await b.p11.C_DestroyObject(sb, seen);
    expect(await findByLabel(a.p11, sa, 'shared')).toHaveLength(0);

    const attempts = [a, b, a, b, a, b].map(({ p11 }) =>
      p11.C_OpenSession(0, RW).then((s) => expectRv(p11.C_Login(s, CKU_USER, 'wrong-pin'), CKR_PIN_INCORRECT)));
    await Promise.all(attempts);
    const dumped = (await dump(factory)).tokens as { user: { failures: number } }[];
    expect(dumped[0]?.user.failures).toBe(6);
    // A success on one instance resets the count for both.
    await b.p11.C_Login(sb, CKU_USER, USER_PIN);
    expect((await a.p11.C_GetTokenInfo(0)).flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
  });

  test('a call that fails while storing leaves the store as it was', async () => {
    const factory = newFactory();
    const { p11 } = await cryptokiOver(factory);
    const session = await initToken(p11);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    await p11.C_CreateObject(session, aesTemplate('kept', KNOWN_PRIVATE, true));
    const before = await dump(factory);

    // The disk fills up at the second record of a key pair: the first must not stay behind.
    const put = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'objects' && ++puts === 2) throw new DOMException('disk full', 'QuotaExceededError');
      return put.apply(this, args);
    };
    try {
      await expectRv(p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
        [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_TOKEN, value: true }, { type: CKA_VERIFY, value: true }, { type: CKA_LABEL, value: 'half' }],
        [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SIGN, value: true }, { type: CKA_LABEL, value: 'half' }]),
      CKR_DEVICE_MEMORY);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    expect(puts).toBe(2);
    expect(await dump(factory)).toEqual(before);
    expect(await findByLabel(p11, session, 'half')).toHaveLength(0);
    // The token goes on working.
    const kept = await one(p11, session, 'kept');
    const ct = await encrypt(p11, session, kept, 9);
    expect(await decrypt(p11, session, kept, 9, ct)).toEqual(MESSAGE);
  });
});
