/**
 * `strict`'s rules for known-value local keys (A19) and for hidden keys that must stay private (A20),
 * entry point by entry point, with `spec` as the contrast where the spec permits it.
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL,
  CKA_LOCAL, CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_PRIVATE, CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_WRAP, CKF_HKDF_SALT_DATA, CKK_AES,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_HKDF_DERIVE, CKM_PKCS5_PBKD2, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_SHA256, CKO_SECRET_KEY, CKP_PKCS5_PBKD2_HMAC_SHA256, CKR_ATTRIBUTE_READ_ONLY, CKR_OK, CKR_TEMPLATE_INCONSISTENT,
  CKZ_SALT_SPECIFIED, Cryptoki, MemoryStore, ckrName, isPkcs11Error,
} from '@vhsm/token';
import type { Attribute, Template } from '@vhsm/token';
import { prepareToken } from '@vhsm/attacks';
import type { PolicyName } from '@vhsm/attacks';
import { gcmDecrypt, kwWrap, openDeviceSealed, pbkdf2 } from '../src/offline.js';

const on = (type: number): Attribute => ({ type, value: true });
const off = (type: number): Attribute => ({ type, value: false });
const session = (...attributes: Attribute[]): Template => [{ type: CKA_TOKEN, value: false }, ...attributes];
const aes = (...attributes: Attribute[]) => session({ type: CKA_VALUE_LEN, value: 32 }, ...attributes);
const aesObject = (...attributes: Attribute[]) =>
  session({ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, ...attributes);
const AES_GEN = { mechanism: CKM_AES_KEY_GEN };
const KW = { mechanism: CKM_AES_KEY_WRAP };
const PASSWORD = 'correct horse';
const SALT = new Uint8Array(16).fill(7);
const PBKDF2 = {
  mechanism: CKM_PKCS5_PBKD2,
  parameter: { saltSource: CKZ_SALT_SPECIFIED, saltSourceData: SALT, iterations: 1000, prf: CKP_PKCS5_PBKD2_HMAC_SHA256, password: PASSWORD },
};
const HKDF = {
  mechanism: CKM_HKDF_DERIVE,
  parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt: new Uint8Array(8) },
};

async function token(policy: PolicyName, store = new MemoryStore()) {
  return prepareToken(new Cryptoki({ policy, pbkdf2Iterations: 1000, store }));
}

async function rv(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (isPkcs11Error(e)) return ckrName(e.code);
    throw e;
  }
  return ckrName(CKR_OK);
}

describe('A19: a key generated from a password is a known key', () => {
  test('strict refuses it the wrapping role; spec reports it never-known and lets it wrap', async () => {
    const strict = await token('strict');
    expect(await rv(strict.p11.C_GenerateKey(strict.session, PBKDF2, aes({ type: CKA_KEY_TYPE, value: CKK_AES }, on(CKA_WRAP)))))
      .toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    const spec = await token('spec');
    const k = await spec.p11.C_GenerateKey(spec.session, PBKDF2,
      aes({ type: CKA_KEY_TYPE, value: CKK_AES }, on(CKA_SENSITIVE), off(CKA_EXTRACTABLE), on(CKA_WRAP)));
    const provenance = await spec.p11.C_GetAttributeValue(spec.session, k,
      [{ type: CKA_LOCAL }, { type: CKA_ALWAYS_SENSITIVE }, { type: CKA_NEVER_EXTRACTABLE }, { type: CKA_KEY_GEN_MECHANISM }]);
    expect(provenance.map((a) => a.value)).toEqual([true, true, true, CKM_PKCS5_PBKD2]);
  });

  test('under strict it keeps what an imported key may do: decrypt, unwrap what its owner sends, derive', async () => {
    const { p11, session: s, crypto } = await token('strict');
    const key = await p11.C_GenerateKey(s, PBKDF2, aes({ type: CKA_KEY_TYPE, value: CKK_AES }, on(CKA_DECRYPT), on(CKA_UNWRAP), on(CKA_DERIVE)));
    const value = await pbkdf2(crypto, PASSWORD, SALT, 1000, 32);
    // Whoever knows the password encrypts for the token, and sends it a data key.
    const iv = new Uint8Array(12).fill(1);
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await crypto.subtle.importKey('raw', value, 'AES-GCM', false, ['encrypt']),
      new TextEncoder().encode('for the password holder'));
    await p11.C_DecryptInit(s, { mechanism: CKM_AES_GCM, parameter: { iv } }, key);
    expect(new TextDecoder().decode(await p11.C_Decrypt(s, new Uint8Array(sealed)))).toBe('for the password holder');
    const dataKey = crypto.getRandomValues(new Uint8Array(32));
    const unwrapped = await p11.C_UnwrapKey(s, KW, key, await kwWrap(crypto, value, dataKey), aesObject(on(CKA_ENCRYPT)));
    // What comes out of a known key is a known key too: it never wraps.
    expect(await rv(p11.C_UnwrapKey(s, KW, key, await kwWrap(crypto, value, dataKey), aesObject(on(CKA_WRAP)))))
      .toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    expect(await rv(p11.C_DeriveKey(s, HKDF, key, session({ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 }, on(CKA_WRAP)))))
      .toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    const [local] = await p11.C_GetAttributeValue(s, unwrapped, [{ type: CKA_LOCAL }]);
    expect(local?.value).toBe(false);
  });
});

describe('A20: a sensitive or unextractable key is private', () => {
  test('strict refuses a public hidden key at every entry point that makes one', async () => {
    const { p11, session: s, crypto } = await token('strict');
    const inconsistent = ckrName(CKR_TEMPLATE_INCONSISTENT);
    expect(await rv(p11.C_GenerateKey(s, AES_GEN, aes(off(CKA_PRIVATE), on(CKA_ENCRYPT))))).toBe(inconsistent);
    // Unextractable alone is enough.
    expect(await rv(p11.C_GenerateKey(s, AES_GEN, aes(off(CKA_PRIVATE), off(CKA_SENSITIVE), off(CKA_EXTRACTABLE))))).toBe(inconsistent);
    expect(await rv(p11.C_GenerateKey(s, PBKDF2, aes({ type: CKA_KEY_TYPE, value: CKK_AES }, off(CKA_PRIVATE))))).toBe(inconsistent);
    expect(await rv(p11.C_GenerateKeyPair(s, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      session({ type: CKA_MODULUS_BITS, value: 2048 }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }),
      session(off(CKA_PRIVATE), on(CKA_SIGN))))).toBe(inconsistent);
    const value = crypto.getRandomValues(new Uint8Array(32));
    expect(await rv(p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value }, off(CKA_PRIVATE))))).toBe(inconsistent);
    const kek = await p11.C_GenerateKey(s, AES_GEN, aes(on(CKA_WRAP), on(CKA_UNWRAP)));
    const data = await p11.C_GenerateKey(s, AES_GEN, aes(on(CKA_EXTRACTABLE), on(CKA_ENCRYPT), on(CKA_DERIVE)));
    const blob = await p11.C_WrapKey(s, KW, kek, data);
    expect(await rv(p11.C_UnwrapKey(s, KW, kek, blob, aesObject(off(CKA_PRIVATE), on(CKA_ENCRYPT))))).toBe(inconsistent);
    expect(await rv(p11.C_DeriveKey(s, HKDF, data, session({ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 }, off(CKA_PRIVATE)))))
      .toBe(inconsistent);
    // A copy cannot lower CKA_PRIVATE; it may move the key between session and token.
    expect(await rv(p11.C_CopyObject(s, data, [off(CKA_PRIVATE)]))).toBe(ckrName(CKR_ATTRIBUTE_READ_ONLY));
    expect(await rv(p11.C_CopyObject(s, data, [off(CKA_PRIVATE), on(CKA_TOKEN)]))).toBe(ckrName(CKR_ATTRIBUTE_READ_ONLY));
    expect(await rv(p11.C_CopyObject(s, data, [on(CKA_TOKEN)]))).toBe(ckrName(CKR_OK));
  });

  test('a readable key may still be public, but hiding it later needs it private', async () => {
    const { p11, session: s, crypto } = await token('strict');
    const value = crypto.getRandomValues(new Uint8Array(32));
    const open = await p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value }, off(CKA_PRIVATE), off(CKA_SENSITIVE), on(CKA_EXTRACTABLE), on(CKA_ENCRYPT)));
    const generated = await p11.C_GenerateKey(s, AES_GEN, aes(off(CKA_PRIVATE), off(CKA_SENSITIVE), on(CKA_EXTRACTABLE)));
    expect(await rv(p11.C_SetAttributeValue(s, open, [on(CKA_SENSITIVE)]))).toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    expect(await rv(p11.C_SetAttributeValue(s, generated, [off(CKA_EXTRACTABLE)]))).toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    expect(await rv(p11.C_CopyObject(s, open, [on(CKA_SENSITIVE)]))).toBe(ckrName(CKR_TEMPLATE_INCONSISTENT));
    // Made private in the same copy, it may be hidden.
    expect(await rv(p11.C_CopyObject(s, open, [on(CKA_PRIVATE), on(CKA_SENSITIVE)]))).toBe(ckrName(CKR_OK));
    expect(await rv(p11.C_SetAttributeValue(s, open, [{ type: CKA_LABEL, value: 'still readable, still public' }]))).toBe(ckrName(CKR_OK));
  });

  test("why: under spec a public token copy's material is sealed under the device key, which opens it", async () => {
    for (const policy of ['spec', 'strict'] as const) {
      const store = new MemoryStore();
      const { p11, session: s, slot, crypto } = await token(policy, store);
      const t = await p11.C_GenerateKey(s, AES_GEN, aes(on(CKA_SENSITIVE), on(CKA_ENCRYPT)));
      const iv = new Uint8Array(12).fill(2);
      await p11.C_EncryptInit(s, { mechanism: CKM_AES_GCM, parameter: { iv } }, t);
      const ciphertext = await p11.C_Encrypt(s, new TextEncoder().encode('under T'));
      const copied = await rv(p11.C_CopyObject(s, t, [off(CKA_PRIVATE), on(CKA_TOKEN)]));
      // A script of the origin reads the records and uses DK (it cannot export it, it need not).
      const record = await store.loadToken(slot);
      const opened: Uint8Array[] = [];
      for (const object of await store.loadObjects(slot)) {
        if (object.private || object.material?.sealedWith !== 'device' || !record) continue;
        const raw = await openDeviceSealed(crypto, record.deviceKey, record.tokenId, object.id, object.material.blob);
        if (raw) opened.push(raw);
      }
      if (policy === 'spec') {
        expect(copied).toBe(ckrName(CKR_OK));
        expect(opened).toHaveLength(1);
        const plain = await gcmDecrypt(crypto, opened[0] as Uint8Array, iv, ciphertext);
        expect(new TextDecoder().decode(plain)).toBe('under T');
      } else {
        expect(copied).toBe(ckrName(CKR_ATTRIBUTE_READ_ONLY));
        expect(opened).toEqual([]);
      }
    }
  });
});
