import { createHmac } from 'node:crypto';
import {
  CKA_KEY_GEN_MECHANISM,
  CKA_VALUE_LEN,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_SHA256_HMAC,
  CKK_SHA384_HMAC,
  CKK_SHA512_HMAC,
  CKK_SHA_1_HMAC,
  CKM_GENERIC_SECRET_KEY_GEN,
  CKM_SHA224_HMAC,
  CKM_SHA256_HMAC,
  CKM_SHA384_HMAC,
  CKM_SHA512_HMAC,
  CKM_SHA_1_HMAC,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  CKR_ATTRIBUTE_VALUE_INVALID,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { genericSecretKeyGen } from '../../../src/mechanisms/symmetric/generic-keygen.js';
import { hmacProviders } from '../../../src/mechanisms/symmetric/hmac.js';
import { symmetricProviders } from '../../../src/mechanisms/symmetric/index.js';
import type { MechanismProvider, SignOperation, VerifyOperation } from '../../../src/mechanisms/types.js';
import { attribute, hex, implementations, keyAccess, materialBytes, request, rvOf, toHex, utf8 } from './fixture.js';

const byMechanism = (m: number): MechanismProvider<undefined> => {
  const p = hmacProviders.find((x) => x.mechanism === m);
  if (!p) throw new Error(`no provider for ${m}`);
  return p;
};

const JEFE = utf8('Jefe');
const WANT = utf8('what do ya want for nothing?');
// RFC 2202 (SHA-1) and RFC 4231 (SHA-2) test cases 1, 2 and 6.
const vectors: { mechanism: number; keyType: number; key: Uint8Array; data: Uint8Array; mac: string }[] = [
  { mechanism: CKM_SHA_1_HMAC, keyType: CKK_SHA_1_HMAC, key: new Uint8Array(20).fill(0x0b), data: utf8('Hi There'), mac: 'b617318655057264e28bc0b6fb378c8ef146be00' },
  { mechanism: CKM_SHA_1_HMAC, keyType: CKK_GENERIC_SECRET, key: JEFE, data: WANT, mac: 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79' },
  {
    mechanism: CKM_SHA256_HMAC,
    keyType: CKK_SHA256_HMAC,
    key: new Uint8Array(20).fill(0x0b),
    data: utf8('Hi There'),
    mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  { mechanism: CKM_SHA256_HMAC, keyType: CKK_GENERIC_SECRET, key: JEFE, data: WANT, mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  {
    mechanism: CKM_SHA256_HMAC,
    keyType: CKK_GENERIC_SECRET,
    key: new Uint8Array(131).fill(0xaa),
    data: utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    mechanism: CKM_SHA384_HMAC,
    keyType: CKK_SHA384_HMAC,
    key: JEFE,
    data: WANT,
    mac: 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
  },
  {
    mechanism: CKM_SHA512_HMAC,
    keyType: CKK_SHA512_HMAC,
    key: JEFE,
    data: WANT,
    mac: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
];

async function signed(op: SignOperation, ...chunks: Uint8Array[]): Promise<string> {
  for (const c of chunks) await op.update(c);
  return toHex(await op.final());
}

async function verified(op: VerifyOperation, signature: Uint8Array, ...chunks: Uint8Array[]): Promise<boolean> {
  for (const c of chunks) await op.update(c);
  return op.final(signature);
}

test('CKM_SHA224_HMAC is not offered (WebCrypto has no SHA-224 HMAC)', () => {
  expect(symmetricProviders.some((p) => p.mechanism === CKM_SHA224_HMAC)).toBe(false);
});

test('HMAC takes no parameter and accepts generic secrets and its own key type only', async () => {
  for (const p of hmacProviders) {
    expect(await rvOf(() => p.check({}))).toBe(CKR_MECHANISM_PARAM_INVALID);
    expect(p.keyTypes).toContain(CKK_GENERIC_SECRET);
    expect(p.keyTypes).not.toContain(CKK_AES);
  }
  expect(byMechanism(CKM_SHA256_HMAC).keyTypes).not.toContain(CKK_SHA_1_HMAC);
});

describe.each(implementations)('HMAC on %s WebCrypto', (_name, crypto) => {
  test.each(vectors)('mechanism $mechanism, key type $keyType: $mac', async (v) => {
    const p = byMechanism(v.mechanism);
    expect(await p.probe?.(crypto)).toBe(true);
    const key = keyAccess(crypto, v.key, v.keyType);
    expect(await signed(await p.sign!(key, undefined, crypto), v.data)).toBe(v.mac);
    expect(await signed(await p.sign!(key, undefined, crypto), v.data.subarray(0, 3), v.data.subarray(3))).toBe(v.mac);
    expect(await verified(await p.verify!(key, undefined, crypto), hex(v.mac), v.data.subarray(0, 5), v.data.subarray(5))).toBe(true);
    const wrong = hex(v.mac);
    wrong[wrong.length - 1]! ^= 1;
    expect(await verified(await p.verify!(key, undefined, crypto), wrong, v.data)).toBe(false);
    // A truncated MAC is a wrong-length signature: false, not an error.
    expect(await verified(await p.verify!(key, undefined, crypto), hex(v.mac).subarray(0, 10), v.data)).toBe(false);
    expect(key.requests.every((r) => !r.extractable)).toBe(true);
  });

  test('random keys and messages agree with node:crypto', async () => {
    const names: Record<number, string> = {
      [CKM_SHA_1_HMAC]: 'sha1',
      [CKM_SHA256_HMAC]: 'sha256',
      [CKM_SHA384_HMAC]: 'sha384',
      [CKM_SHA512_HMAC]: 'sha512',
    };
    for (const p of hmacProviders) {
      const raw = crypto.getRandomValues(new Uint8Array(37));
      const data = crypto.getRandomValues(new Uint8Array(300));
      const mac = await signed(await p.sign!(keyAccess(crypto, raw, CKK_GENERIC_SECRET), undefined, crypto), data);
      expect(mac).toBe(createHmac(names[p.mechanism] ?? '', raw).update(data).digest('hex'));
    }
  });

  test('CKM_GENERIC_SECRET_KEY_GEN makes extractable raw secrets of CKA_VALUE_LEN bytes', async () => {
    expect(await genericSecretKeyGen.probe?.(crypto)).toBe(true);
    for (const len of [1, 20, 64, 512]) {
      const m = await genericSecretKeyGen.generateKey!(request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: len }), undefined, crypto);
      expect(m.format).toBe('raw');
      expect((await materialBytes(crypto, m)).length).toBe(len);
      expect(attribute(m, CKA_VALUE_LEN)).toBe(len);
      expect(attribute(m, CKA_KEY_GEN_MECHANISM)).toBe(CKM_GENERIC_SECRET_KEY_GEN);
    }
    const gen = (keyType: number, values = {}) =>
      genericSecretKeyGen.generateKey!(request(keyType, values), undefined, crypto);
    expect(await rvOf(gen(CKK_GENERIC_SECRET))).toBe(CKR_TEMPLATE_INCOMPLETE);
    expect(await rvOf(gen(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 0 }))).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
    expect(await rvOf(gen(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 513 }))).toBe(CKR_ATTRIBUTE_VALUE_INVALID);
    expect(await rvOf(gen(CKK_AES, { [CKA_VALUE_LEN]: 16 }))).toBe(CKR_TEMPLATE_INCONSISTENT);
  });

  test('a generated secret signs like the same bytes imported', async () => {
    const m = await genericSecretKeyGen.generateKey!(request(CKK_GENERIC_SECRET, { [CKA_VALUE_LEN]: 32 }), undefined, crypto);
    const raw = await materialBytes(crypto, m);
    const p = byMechanism(CKM_SHA256_HMAC);
    const data = utf8('message');
    const mac = await signed(await p.sign!(keyAccess(crypto, raw, CKK_GENERIC_SECRET), undefined, crypto), data);
    expect(mac).toBe(createHmac('sha256', raw).update(data).digest('hex'));
  });
});

test('HMAC signatures verify across the two implementations', async () => {
  const [[, a], [, b]] = implementations as [[string, Crypto], [string, Crypto]];
  const raw = a.getRandomValues(new Uint8Array(48));
  const data = a.getRandomValues(new Uint8Array(200));
  for (const p of hmacProviders) {
    const sa = await signed(await p.sign!(keyAccess(a, raw, CKK_GENERIC_SECRET), undefined, a), data);
    const sb = await signed(await p.sign!(keyAccess(b, raw, CKK_GENERIC_SECRET), undefined, b), data);
    expect(sa).toBe(sb);
    expect(await verified(await p.verify!(keyAccess(b, raw, CKK_GENERIC_SECRET), undefined, b), hex(sa), data)).toBe(true);
  }
});
