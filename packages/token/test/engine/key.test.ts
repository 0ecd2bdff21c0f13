/**
 * Key management (PKCS#11 v3.0 §5.18): generation, key pairs, wrap/unwrap, derivation, and the
 * attributes that govern them (WRAP/UNWRAP/DERIVE_TEMPLATE, WRAP_WITH_TRUSTED, ALLOWED_MECHANISMS).
 * Results are checked against Node's own WebCrypto where bytes can be compared.
 */
import { webcrypto } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_DERIVE_TEMPLATE, CKA_EC_PARAMS,
  CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL,
  CKA_MODULUS, CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE,
  CKA_SIGN, CKA_TOKEN, CKA_TRUSTED, CKA_UNWRAP, CKA_UNWRAP_TEMPLATE, CKA_VALUE, CKA_VALUE_LEN, CKA_WRAP,
  CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKA_ALLOWED_MECHANISMS, CKA_VERIFY, CKD_NULL,
  CKF_HKDF_SALT_DATA, CKG_MGF1_SHA256, CKK_AES, CKK_EC_EDWARDS, CKK_GENERIC_SECRET, CKK_RSA,
  CKM_AES_CBC_PAD, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_ECDH1_DERIVE, CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_GENERIC_SECRET_KEY_GEN, CKM_HKDF_DERIVE, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_NOT_WRAPPABLE, CKR_KEY_UNEXTRACTABLE, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT, CKR_KEY_HANDLE_INVALID,
  CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_TYPE_INCONSISTENT, CKR_KEY_TYPE_INCONSISTENT,
  CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_VALUE_INVALID, CKU_SO, CKU_USER, CK_UNAVAILABLE_INFORMATION,
  CKK_EC, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT,
  CKM_SHA256_RSA_PKCS,
} from '@vhsm/token';
import type { Template } from '@vhsm/token';
import {
  ED25519_PARAMS, P256_PARAMS, P384_PARAMS, RW, SO_PIN, USER_PIN, attr, bytes, ecPointBytes, expectRv,
  generateAes, generateEc, generateRsa, readyToken, userSession,
} from './helpers.js';

const subtle = webcrypto.subtle;
const KEK_VALUE = new Uint8Array(16).map((_, i) => 0x10 + i);
const TARGET_VALUE = new Uint8Array(32).map((_, i) => 0x80 + i);

const secret = (value: Uint8Array, extra: Template = [], keyType = CKK_AES): Template => [
  { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: keyType }, { type: CKA_VALUE, value }, ...extra,
];
const unwrapAes: Template = [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_EXTRACTABLE, value: true }];

describe('C_GenerateKey', () => {
  test('AES keys of 16, 24 and 32 bytes; other sizes and a missing length are refused', async () => {
    const { p11, session } = await userSession();
    for (const n of [16, 24, 32]) {
      const k = await generateAes(p11, session, [], n);
      expect(await attr(p11, session, k, CKA_VALUE_LEN)).toBe(n);
      expect((await attr(p11, session, k, CKA_VALUE) as Uint8Array).length).toBe(n);
    }
    // SoftHSM2's generateAES answers CKR_ATTRIBUTE_VALUE_INVALID for a length AES does not have.
    await expectRv(generateAes(p11, session, [], 20), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, []), CKR_TEMPLATE_INCOMPLETE);
    // Two keys are not the same key.
    expect(await attr(p11, session, await generateAes(p11, session), CKA_VALUE)).not.toEqual(await attr(p11, session, await generateAes(p11, session), CKA_VALUE));
  });

  test('generic secrets', async () => {
    const { p11, session } = await userSession();
    const k = await p11.C_GenerateKey(session, { mechanism: CKM_GENERIC_SECRET_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 20 }]);
    expect(await attr(p11, session, k, CKA_KEY_TYPE)).toBe(CKK_GENERIC_SECRET);
    expect(await attr(p11, session, k, CKA_KEY_GEN_MECHANISM)).toBe(CKM_GENERIC_SECRET_KEY_GEN);
    expect((await attr(p11, session, k, CKA_VALUE) as Uint8Array).length).toBe(20);
  });

  test('a key-pair mechanism or an unknown one is CKR_MECHANISM_INVALID; a parameter where none is taken is refused', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }]), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_GenerateKey(session, { mechanism: 0x7777 }, [{ type: CKA_VALUE_LEN, value: 16 }]), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_GenerateKeyPair(session, { mechanism: CKM_AES_KEY_GEN }, [], []), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN, parameter: new Uint8Array(4) }, [{ type: CKA_VALUE_LEN, value: 16 }]), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('C_GenerateKeyPair', () => {
  test('RSA: modulus, exponent, bits; the pair works together', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session);
    const modulus = await attr(p11, session, publicKey, CKA_MODULUS) as Uint8Array;
    expect(modulus.length).toBe(256);
    expect((modulus[0] as number) & 0x80).toBe(0x80);
    expect(await attr(p11, session, publicKey, CKA_PUBLIC_EXPONENT)).toEqual(new Uint8Array([1, 0, 1]));
    expect(await attr(p11, session, publicKey, CKA_MODULUS_BITS)).toBe(2048);
    expect(await attr(p11, session, privateKey, CKA_MODULUS)).toEqual(modulus);
    expect(await attr(p11, session, privateKey, CKA_KEY_TYPE)).toBe(CKK_RSA);
    expect(await attr(p11, session, privateKey, CKA_KEY_GEN_MECHANISM)).toBe(CKM_RSA_PKCS_KEY_PAIR_GEN);
    await expectRv(p11.C_GenerateKeyPair(session, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN }, [], []), CKR_TEMPLATE_INCOMPLETE);
  });

  test('EC P-256 and P-384: CKA_EC_POINT is a DER OCTET STRING of the uncompressed point', async () => {
    const { p11, session } = await userSession();
    for (const [params, size] of [[P256_PARAMS, 65], [P384_PARAMS, 97]] as const) {
      const { publicKey, privateKey } = await generateEc(p11, session, [], [], params);
      const point = ecPointBytes(await attr(p11, session, publicKey, CKA_EC_POINT) as Uint8Array);
      expect(point.length).toBe(size);
      expect(point[0]).toBe(0x04);
      expect(await attr(p11, session, privateKey, CKA_EC_PARAMS)).toEqual(params);
      // The point is a real point of the curve: Node imports it.
      await subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: size === 65 ? 'P-256' : 'P-384' }, true, ['verify']);
    }
    await expectRv(p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [], []), CKR_TEMPLATE_INCOMPLETE);
  });

  test('Ed25519', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: ED25519_PARAMS }], []);
    expect(await attr(p11, session, publicKey, CKA_KEY_TYPE)).toBe(CKK_EC_EDWARDS);
    expect(ecPointBytes(await attr(p11, session, publicKey, CKA_EC_POINT) as Uint8Array).length).toBe(32);
    expect(await attr(p11, session, privateKey, CKA_CLASS)).toBe(CKO_PRIVATE_KEY);
  });

  test('the public half defaults to CKA_PRIVATE false, so it stays usable after logout', async () => {
    // PKCS#11 leaves the default to the token; SoftHSM2's C_GenerateKeyPair takes ispublicKeyPrivate =
    // CK_FALSE when the public template is silent (the private half stays private).
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session, [{ type: CKA_TOKEN, value: true }], [{ type: CKA_TOKEN, value: true }]);
    expect(await attr(p11, session, publicKey, CKA_PRIVATE)).toBe(false);
    expect(await attr(p11, session, privateKey, CKA_PRIVATE)).toBe(true);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    const signature = await p11.C_Sign(session, bytes('m'));
    await p11.C_Logout(session);
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, bytes('m'), signature)).toBe(true);
    // Asked for explicitly, it is private.
    await p11.C_Login(session, CKU_USER, USER_PIN);
    const hidden = await generateEc(p11, session, [{ type: CKA_PRIVATE, value: true }]);
    expect(await attr(p11, session, hidden.publicKey, CKA_PRIVATE)).toBe(true);
  });

  test('token key pairs are stored whole; classes are fixed by the call', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session, [{ type: CKA_TOKEN, value: true }], [{ type: CKA_TOKEN, value: true }]);
    expect(await attr(p11, session, publicKey, CKA_CLASS)).toBe(CKO_PUBLIC_KEY);
    expect(await attr(p11, session, privateKey, CKA_TOKEN)).toBe(true);
    await expectRv(generateEc(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }]), CKR_TEMPLATE_INCONSISTENT);
    await expectRv(generateEc(p11, session, [{ type: CKA_KEY_TYPE, value: CKK_RSA }]), CKR_TEMPLATE_INCONSISTENT);
  });
});

describe('wrap and unwrap', () => {
  test('AES key wrap (RFC 3394) is byte-identical to WebCrypto and unwraps to the same key', async () => {
    const { p11, session } = await userSession();
    const kek = await p11.C_CreateObject(session, secret(KEK_VALUE, [{ type: CKA_EXTRACTABLE, value: false }]));
    const target = await p11.C_CreateObject(session, secret(TARGET_VALUE));
    const wrapped = await p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, target);
    const nodeKek = await subtle.importKey('raw', KEK_VALUE, 'AES-KW', false, ['wrapKey']);
    const nodeTarget = await subtle.importKey('raw', TARGET_VALUE, 'AES-GCM', true, ['encrypt']);
    expect(wrapped).toEqual(new Uint8Array(await subtle.wrapKey('raw', nodeTarget, nodeKek, 'AES-KW')));
    const unwrapped = await p11.C_UnwrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, unwrapAes);
    expect(await attr(p11, session, unwrapped, CKA_VALUE)).toEqual(TARGET_VALUE);
    expect(await attr(p11, session, unwrapped, CKA_VALUE_LEN)).toBe(32);
    // An unwrapped key was not made here.
    expect(await attr(p11, session, unwrapped, CKA_LOCAL)).toBe(false);
    expect(await attr(p11, session, unwrapped, CKA_KEY_GEN_MECHANISM)).toBe(CK_UNAVAILABLE_INFORMATION);
    expect(await attr(p11, session, unwrapped, CKA_ALWAYS_SENSITIVE)).toBe(false);
    expect(await attr(p11, session, unwrapped, CKA_NEVER_EXTRACTABLE)).toBe(false);
  });

  test('AES-GCM wraps and unwraps', async () => {
    const { p11, session } = await userSession();
    const kek = await generateAes(p11, session);
    const target = await p11.C_CreateObject(session, secret(TARGET_VALUE));
    const mechanism = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(1) } };
    const wrapped = await p11.C_WrapKey(session, mechanism, kek, target);
    expect(wrapped.length).toBe(32 + 16);
    const unwrapped = await p11.C_UnwrapKey(session, mechanism, kek, wrapped, unwrapAes);
    expect(await attr(p11, session, unwrapped, CKA_VALUE)).toEqual(TARGET_VALUE);
  });

  test('RSA-OAEP wraps with the public key and unwraps with the private key', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateRsa(p11, session);
    const target = await p11.C_CreateObject(session, secret(TARGET_VALUE));
    const mechanism = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
    const wrapped = await p11.C_WrapKey(session, mechanism, publicKey, target);
    expect(wrapped.length).toBe(256);
    const unwrapped = await p11.C_UnwrapKey(session, mechanism, privateKey, wrapped, unwrapAes);
    expect(await attr(p11, session, unwrapped, CKA_VALUE)).toEqual(TARGET_VALUE);
  });

  test('refusals: CKA_WRAP/CKA_UNWRAP false, unextractable target, wrong key types, public keys', async () => {
    const { p11, session } = await userSession();
    const noWrap = await generateAes(p11, session, [{ type: CKA_WRAP, value: false }, { type: CKA_UNWRAP, value: false }]);
    const kek = await generateAes(p11, session);
    const target = await generateAes(p11, session);
    const locked = await generateAes(p11, session, [{ type: CKA_EXTRACTABLE, value: false }]);
    const kw = { mechanism: CKM_AES_KEY_WRAP };
    await expectRv(p11.C_WrapKey(session, kw, noWrap, target), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectRv(p11.C_UnwrapKey(session, kw, noWrap, new Uint8Array(40), unwrapAes), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectRv(p11.C_WrapKey(session, kw, kek, locked), CKR_KEY_UNEXTRACTABLE);
    const ec = await generateEc(p11, session);
    await expectRv(p11.C_WrapKey(session, kw, ec.publicKey, target), CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
    await expectRv(p11.C_UnwrapKey(session, kw, ec.privateKey, new Uint8Array(40), unwrapAes), CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
    await expectRv(p11.C_WrapKey(session, kw, kek, ec.publicKey), CKR_KEY_HANDLE_INVALID);
    await expectRv(p11.C_WrapKey(session, kw, kek + 1000, target), CKR_WRAPPING_KEY_HANDLE_INVALID);
    await expectRv(p11.C_UnwrapKey(session, kw, kek, new Uint8Array(40), [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_UnwrapKey(session, kw, kek, new Uint8Array(40), [...unwrapAes, { type: CKA_LOCAL, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
  });

  test('CKA_WRAP_TEMPLATE: only keys that match it are wrapped', async () => {
    const { p11, session } = await userSession();
    const kek = await generateAes(p11, session, [{ type: CKA_WRAP_TEMPLATE, value: [{ type: CKA_LABEL, value: 'wrappable' }] }]);
    const ok = await generateAes(p11, session, [{ type: CKA_LABEL, value: 'wrappable' }]);
    const other = await generateAes(p11, session, [{ type: CKA_LABEL, value: 'other' }]);
    await p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, ok);
    await expectRv(p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, other), CKR_KEY_NOT_WRAPPABLE);
  });

  test('CKA_UNWRAP_TEMPLATE: its values are imposed; a contradiction is CKR_TEMPLATE_INCONSISTENT', async () => {
    const { p11, session } = await userSession();
    const kek = await generateAes(p11, session, [{ type: CKA_UNWRAP_TEMPLATE, value: [{ type: CKA_SENSITIVE, value: true }, { type: CKA_ENCRYPT, value: false }] }]);
    const target = await p11.C_CreateObject(session, secret(TARGET_VALUE));
    const wrapped = await p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, target);
    const k = await p11.C_UnwrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, unwrapAes);
    expect(await attr(p11, session, k, CKA_SENSITIVE)).toBe(true);
    expect(await attr(p11, session, k, CKA_ENCRYPT)).toBe(false);
    await expectRv(p11.C_UnwrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, kek, wrapped, [...unwrapAes, { type: CKA_SENSITIVE, value: false }]), CKR_TEMPLATE_INCONSISTENT);
  });

  test('CKA_WRAP_WITH_TRUSTED keys wrap only under a CKA_TRUSTED key, which only the SO can make', async () => {
    const { p11, slot, session } = await readyToken();
    await p11.C_Login(session, CKU_SO, SO_PIN);
    await p11.C_CreateObject(session, secret(KEK_VALUE, [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_TRUSTED, value: true }, { type: CKA_LABEL, value: 'trusted kek' }]));
    await p11.C_CloseAllSessions(slot);
    const user = await p11.C_OpenSession(slot, RW);
    await p11.C_Login(user, CKU_USER, USER_PIN);
    await p11.C_FindObjectsInit(user, [{ type: CKA_LABEL, value: 'trusted kek' }]);
    const [trusted] = await p11.C_FindObjects(user);
    await p11.C_FindObjectsFinal(user);
    const untrusted = await p11.C_CreateObject(user, secret(KEK_VALUE));
    const guarded = await generateAes(p11, user, [{ type: CKA_WRAP_WITH_TRUSTED, value: true }]);
    await expectRv(p11.C_WrapKey(user, { mechanism: CKM_AES_KEY_WRAP }, untrusted, guarded), CKR_KEY_NOT_WRAPPABLE);
    const wrapped = await p11.C_WrapKey(user, { mechanism: CKM_AES_KEY_WRAP }, trusted as number, guarded);
    expect(wrapped.length).toBe(40);
  });

  test('CKA_ALLOWED_MECHANISMS limits what a key is used with', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session, [{ type: CKA_ALLOWED_MECHANISMS, value: [CKM_AES_GCM] }]);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, k);
    await expectRv(p11.C_DecryptInit(session, { mechanism: CKM_AES_CBC_PAD, parameter: new Uint8Array(16) }, k), CKR_MECHANISM_INVALID);
    await expectRv(p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, k, await generateAes(p11, session)), CKR_MECHANISM_INVALID);
    expect(await attr(p11, session, k, CKA_ALLOWED_MECHANISMS)).toEqual([CKM_AES_GCM]);
  });
});

describe('derive', () => {
  const ecdh = (publicData: Uint8Array) => ({ mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData } });
  const derived = (extra: Template = []): Template => [
    { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_VALUE_LEN, value: 32 }, ...extra,
  ];

  test('ECDH1 with CKD_NULL agrees with Node WebCrypto ECDH', async () => {
    const { p11, session } = await userSession();
    const mine = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    const theirs = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']) as CryptoKeyPair;
    const theirPoint = new Uint8Array(await subtle.exportKey('raw', theirs.publicKey));
    const k = await p11.C_DeriveKey(session, ecdh(theirPoint), mine.privateKey, derived());
    const myPoint = ecPointBytes(await attr(p11, session, mine.publicKey, CKA_EC_POINT) as Uint8Array);
    const myPublic = await subtle.importKey('raw', myPoint, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const expected = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: myPublic }, theirs.privateKey, 256));
    expect(await attr(p11, session, k, CKA_VALUE)).toEqual(expected);
    expect(await attr(p11, session, k, CKA_LOCAL)).toBe(false);
  });

  test('two token key pairs agree with each other, and the DER form of the point is accepted', async () => {
    const { p11, session } = await userSession();
    const a = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    const b = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    const pointA = await attr(p11, session, a.publicKey, CKA_EC_POINT) as Uint8Array;
    const pointB = await attr(p11, session, b.publicKey, CKA_EC_POINT) as Uint8Array;
    const ab = await p11.C_DeriveKey(session, ecdh(ecPointBytes(pointB)), a.privateKey, derived());
    const ba = await p11.C_DeriveKey(session, ecdh(pointA), b.privateKey, derived());
    expect(await attr(p11, session, ab, CKA_VALUE)).toEqual(await attr(p11, session, ba, CKA_VALUE));
  });

  test('refusals: CKA_DERIVE false, bad parameters, wrong key type', async () => {
    const { p11, session } = await userSession();
    const a = await generateEc(p11, session);
    const point = ecPointBytes(await attr(p11, session, a.publicKey, CKA_EC_POINT) as Uint8Array);
    await expectRv(p11.C_DeriveKey(session, ecdh(point), a.privateKey, derived()), CKR_KEY_FUNCTION_NOT_PERMITTED);
    const b = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    await expectRv(p11.C_DeriveKey(session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: new Uint8Array() } }, b.privateKey, derived()), CKR_MECHANISM_PARAM_INVALID);
    await expectRv(p11.C_DeriveKey(session, { mechanism: CKM_ECDH1_DERIVE }, b.privateKey, derived()), CKR_MECHANISM_PARAM_INVALID);
    await expectRv(p11.C_DeriveKey(session, ecdh(point), await generateAes(p11, session, [{ type: CKA_DERIVE, value: true }]), derived()), CKR_KEY_TYPE_INCONSISTENT);
    await expectRv(p11.C_DeriveKey(session, ecdh(point), b.privateKey, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]), CKR_TEMPLATE_INCOMPLETE);
  });

  test('CKA_DERIVE_TEMPLATE imposes its values on derived keys', async () => {
    const { p11, session } = await userSession();
    const a = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }, { type: CKA_DERIVE_TEMPLATE, value: [{ type: CKA_SENSITIVE, value: true }] }]);
    const point = ecPointBytes(await attr(p11, session, a.publicKey, CKA_EC_POINT) as Uint8Array);
    const k = await p11.C_DeriveKey(session, ecdh(point), a.privateKey, derived());
    expect(await attr(p11, session, k, CKA_SENSITIVE)).toBe(true);
    await expectRv(p11.C_DeriveKey(session, ecdh(point), a.privateKey, derived([{ type: CKA_SENSITIVE, value: false }])), CKR_TEMPLATE_INCONSISTENT);
  });

  test('derived keys inherit ALWAYS_SENSITIVE / NEVER_EXTRACTABLE from the base key', async () => {
    const { p11, session } = await userSession();
    const strong = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }, { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]);
    const weak = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    const point = ecPointBytes(await attr(p11, session, weak.publicKey, CKA_EC_POINT) as Uint8Array);
    const fromStrong = await p11.C_DeriveKey(session, ecdh(point), strong.privateKey, derived([{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]));
    expect([await attr(p11, session, fromStrong, CKA_ALWAYS_SENSITIVE), await attr(p11, session, fromStrong, CKA_NEVER_EXTRACTABLE)]).toEqual([true, true]);
    const fromWeak = await p11.C_DeriveKey(session, ecdh(point), weak.privateKey, derived([{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]));
    expect([await attr(p11, session, fromWeak, CKA_ALWAYS_SENSITIVE), await attr(p11, session, fromWeak, CKA_NEVER_EXTRACTABLE)]).toEqual([false, false]);
  });

  test('HKDF derive matches RFC 5869 test case 1', async () => {
    const { p11, session } = await userSession();
    const ikm = new Uint8Array(22).fill(0x0b);
    const base = await p11.C_CreateObject(session, secret(ikm, [{ type: CKA_DERIVE, value: true }], CKK_GENERIC_SECRET));
    const salt = new Uint8Array(13).map((_, i) => i);
    const info = new Uint8Array(10).map((_, i) => 0xf0 + i);
    const k = await p11.C_DeriveKey(session, {
      mechanism: CKM_HKDF_DERIVE,
      parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt, info },
    }, base, derived().map((a) => (a.type === CKA_VALUE_LEN ? { type: CKA_VALUE_LEN, value: 42 } : a)));
    const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
    expect(Buffer.from(await attr(p11, session, k, CKA_VALUE) as Uint8Array).toString('hex')).toBe(okm);
    await expectRv(p11.C_DeriveKey(session, { mechanism: CKM_HKDF_DERIVE, parameter: { extract: true, expand: true, prfHashMechanism: 0x7777, saltType: CKF_HKDF_SALT_DATA, salt } }, base, derived()), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('keys made here are used as made', () => {
  test('an EC key pair signs with the private half and verifies with the public half only', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session, [{ type: CKA_VERIFY, value: true }], [{ type: CKA_SIGN, value: true }]);
    await expectRv(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
    const signature = await p11.C_Sign(session, bytes('data'));
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, bytes('data'), signature)).toBe(true);
  });

  test('a key generated with CKA_ENCRYPT false cannot encrypt', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session, [{ type: CKA_ENCRYPT, value: false }, { type: CKA_DECRYPT, value: true }]);
    await expectRv(p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, k), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });
});

describe('private key values in and out', () => {
  const b64u = (s: string | undefined) => Uint8Array.from(Buffer.from(s as string, 'base64url'));

  test('an EC private key made from Node bytes signs; a readable one reads back the same scalar', async () => {
    const { p11, session } = await userSession();
    const node = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
    const jwk = await subtle.exportKey('jwk', node.privateKey);
    const d = b64u(jwk.d);
    const key = await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_EC_PARAMS, value: P256_PARAMS },
      { type: CKA_VALUE, value: d }, { type: CKA_SIGN, value: true },
    ]);
    expect(await attr(p11, session, key, CKA_VALUE)).toEqual(d);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key);
    const signature = await p11.C_Sign(session, bytes('imported'));
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, node.publicKey, signature, bytes('imported'))).toBe(true);
  });

  test('a generated, readable EC private key exports a scalar Node signs with', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session);
    const d = await attr(p11, session, privateKey, CKA_VALUE) as Uint8Array;
    const point = ecPointBytes(await attr(p11, session, publicKey, CKA_EC_POINT) as Uint8Array);
    const b = (x: Uint8Array) => Buffer.from(x).toString('base64url');
    const nodeKey = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', d: b(d), x: b(point.slice(1, 33)), y: b(point.slice(33)) }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const signature = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, nodeKey, bytes('exported')));
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, bytes('exported'), signature)).toBe(true);
  });

  test('an RSA private key made from its components signs like Node', async () => {
    const { p11, session } = await userSession();
    const node = await subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']) as CryptoKeyPair;
    const jwk = await subtle.exportKey('jwk', node.privateKey);
    const key = await p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_KEY_TYPE, value: CKK_RSA }, { type: CKA_SIGN, value: true },
      { type: CKA_MODULUS, value: b64u(jwk.n) }, { type: CKA_PUBLIC_EXPONENT, value: b64u(jwk.e) }, { type: CKA_PRIVATE_EXPONENT, value: b64u(jwk.d) },
      { type: CKA_PRIME_1, value: b64u(jwk.p) }, { type: CKA_PRIME_2, value: b64u(jwk.q) }, { type: CKA_EXPONENT_1, value: b64u(jwk.dp) },
      { type: CKA_EXPONENT_2, value: b64u(jwk.dq) }, { type: CKA_COEFFICIENT, value: b64u(jwk.qi) },
    ]);
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, key);
    const ours = await p11.C_Sign(session, bytes('pkcs1'));
    // PKCS#1 v1.5 is deterministic: the same key gives the same bytes.
    expect(ours).toEqual(new Uint8Array(await subtle.sign('RSASSA-PKCS1-v1_5', node.privateKey, bytes('pkcs1'))));
    expect(await attr(p11, session, key, CKA_PRIME_1)).toEqual(b64u(jwk.p));
  });

  test('a private key wrapped with AES-GCM unwraps to a key that signs, with its public values', async () => {
    const { p11, session } = await userSession();
    const kek = await generateAes(p11, session);
    const { publicKey, privateKey } = await generateEc(p11, session);
    const mechanism = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(9) } };
    const wrapped = await p11.C_WrapKey(session, mechanism, kek, privateKey);
    const unwrapped = await p11.C_UnwrapKey(session, mechanism, kek, wrapped, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_SIGN, value: true },
    ]);
    expect(await attr(p11, session, unwrapped, CKA_EC_PARAMS)).toEqual(P256_PARAMS);
    expect(await attr(p11, session, unwrapped, CKA_VALUE)).toEqual(await attr(p11, session, privateKey, CKA_VALUE));
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, unwrapped);
    const signature = await p11.C_Sign(session, bytes('u'));
    await p11.C_VerifyInit(session, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(session, bytes('u'), signature)).toBe(true);
  });
});
