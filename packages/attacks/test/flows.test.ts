/** The ordinary key-management flows keep working under `strict` (the default policy). */
import { describe, expect, test } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE,
  CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN,
  CKA_VERIFY, CKA_WRAP, CKD_NULL, CKF_HKDF_SALT_DATA, CKK_AES, CKK_EC, CKK_GENERIC_SECRET, CKM_AES_GCM,
  CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_ECDH1_DERIVE, CKM_ECDSA_SHA256, CKM_EC_KEY_PAIR_GEN, CKM_HKDF_DERIVE,
  CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKM_SHA256_HMAC, CKG_MGF1_SHA256, CKO_PUBLIC_KEY,
  CKO_SECRET_KEY, CKR_ATTRIBUTE_SENSITIVE, CKR_KEY_UNEXTRACTABLE, Cryptoki, isPkcs11Error, ckrName,
} from '@vhsm/token';
import type { Attribute, Template } from '@vhsm/token';
import { prepareToken } from '@vhsm/attacks';

const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const KW = { mechanism: CKM_AES_KEY_WRAP };
const OAEP = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
const on = (type: number): Attribute => ({ type, value: true });
const session = (...attributes: Attribute[]): Template => [{ type: CKA_TOKEN, value: false }, ...attributes];
const aesObject = (...attributes: Attribute[]) =>
  session({ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, ...attributes);
const gcm = (iv: Uint8Array) => ({ mechanism: CKM_AES_GCM, parameter: { iv } });
const text = new TextEncoder();

async function strictToken() {
  // No policy option: `strict` is the default.
  return prepareToken(new Cryptoki({ pbkdf2Iterations: 1000 }));
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (isPkcs11Error(e)) return ckrName(e.code);
    throw e;
  }
  return 'CKR_OK';
}

describe('ordinary flows under strict', () => {
  test('a local KEK wraps and unwraps extractable keys', async () => {
    const { p11, session: s } = await strictToken();
    const kek = await p11.C_GenerateKey(s, { mechanism: CKM_AES_KEY_GEN }, session({ type: CKA_VALUE_LEN, value: 32 }, on(CKA_WRAP), on(CKA_UNWRAP)));
    const dataKey = await p11.C_GenerateKey(s, { mechanism: CKM_AES_KEY_GEN },
      session({ type: CKA_VALUE_LEN, value: 32 }, on(CKA_EXTRACTABLE), on(CKA_ENCRYPT), on(CKA_DECRYPT)));
    const wrapped = await p11.C_WrapKey(s, KW, kek, dataKey);
    expect(wrapped.length).toBe(40);
    const restored = await p11.C_UnwrapKey(s, KW, kek, wrapped, aesObject(on(CKA_ENCRYPT), on(CKA_DECRYPT), on(CKA_EXTRACTABLE)));
    const iv = new Uint8Array(12).fill(1);
    await p11.C_EncryptInit(s, gcm(iv), dataKey);
    const ct = await p11.C_Encrypt(s, text.encode('round trip'));
    await p11.C_DecryptInit(s, gcm(iv), restored);
    expect(new TextDecoder().decode(await p11.C_Decrypt(s, ct))).toBe('round trip');
    // The restored key can travel again under the same KEK, and still never in clear.
    expect(await p11.C_WrapKey(s, KW, kek, restored)).toEqual(wrapped);
    expect(await rejection(p11.C_GetAttributeValue(s, restored, [{ type: CKA_VALUE }]))).toBe(ckrName(CKR_ATTRIBUTE_SENSITIVE));
    // The KEK itself is unextractable by default.
    expect(await rejection(p11.C_WrapKey(s, KW, kek, kek))).toBe(ckrName(CKR_KEY_UNEXTRACTABLE));
  });

  test('envelope encryption: unwrap a data key sent to the token, decrypt with it', async () => {
    const { p11, session: s, crypto } = await strictToken();
    const pair = await p11.C_GenerateKeyPair(s, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      session({ type: CKA_MODULUS_BITS, value: 3072 }, { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) }),
      session(on(CKA_UNWRAP)));
    const [n, e] = await p11.C_GetAttributeValue(s, pair.publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    // The sender: a fresh data key, the message under it, the key under the token's public key.
    const jwk: JsonWebKey = { kty: 'RSA', n: b64url(n?.value as Uint8Array), e: b64url(e?.value as Uint8Array) };
    const publicKey = await crypto.subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['wrapKey']);
    const dataKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']);
    const iv = new Uint8Array(12).fill(9);
    const message = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, dataKey, text.encode('sealed for the token')));
    const envelope = new Uint8Array(await crypto.subtle.wrapKey('raw', dataKey, publicKey, { name: 'RSA-OAEP' }));
    // The recipient: the data key exists only inside the token.
    const key = await p11.C_UnwrapKey(s, OAEP, pair.privateKey, envelope, aesObject(on(CKA_DECRYPT)));
    await p11.C_DecryptInit(s, gcm(iv), key);
    expect(new TextDecoder().decode(await p11.C_Decrypt(s, message))).toBe('sealed for the token');
  });

  test('sign and verify, and the signature verifies outside the token', async () => {
    const { p11, session: s, crypto } = await strictToken();
    const pair = await p11.C_GenerateKeyPair(s, { mechanism: CKM_EC_KEY_PAIR_GEN },
      session({ type: CKA_EC_PARAMS, value: P256 }, on(CKA_VERIFY)), session(on(CKA_SIGN)));
    const data = text.encode('signed statement');
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, pair.privateKey);
    const signature = await p11.C_Sign(s, data);
    await p11.C_VerifyInit(s, { mechanism: CKM_ECDSA_SHA256 }, pair.publicKey);
    expect(await p11.C_Verify(s, data, signature)).toBe(true);
    const [point] = await p11.C_GetAttributeValue(s, pair.publicKey, [{ type: CKA_EC_POINT }]);
    const raw = bytes(point).slice(2); // DER OCTET STRING header of a 65-byte point
    const verifier = await crypto.subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifier, new Uint8Array(signature), data)).toBe(true);
  });

  test('ECDH + HKDF to a session key both parties share', async () => {
    const { p11, session: s, crypto } = await strictToken();
    const pair = await p11.C_GenerateKeyPair(s, { mechanism: CKM_EC_KEY_PAIR_GEN },
      session({ type: CKA_EC_PARAMS, value: P256 }), session(on(CKA_DERIVE)));
    const peer = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    const peerPoint = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const shared = await p11.C_DeriveKey(s, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: peerPoint } },
      pair.privateKey, session({ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
        { type: CKA_VALUE_LEN, value: 32 }, on(CKA_DERIVE)));
    const salt = text.encode('salt');
    const info = text.encode('session v1');
    const sessionKey = await p11.C_DeriveKey(s, {
      mechanism: CKM_HKDF_DERIVE,
      parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt, info },
    }, shared, session({ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 }, on(CKA_ENCRYPT)));
    // The peer computes the same key from the token's public point.
    const [point] = await p11.C_GetAttributeValue(s, pair.publicKey, [{ type: CKA_EC_POINT }]);
    const tokenPublic = await crypto.subtle.importKey('raw', bytes(point).slice(2), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const z = await crypto.subtle.deriveBits({ name: 'ECDH', public: tokenPublic }, peer.privateKey, 256);
    const hkdfBase = await crypto.subtle.importKey('raw', z, 'HKDF', false, ['deriveKey']);
    const peerKey = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info }, hkdfBase,
      { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
    const iv = new Uint8Array(12).fill(3);
    await p11.C_EncryptInit(s, gcm(iv), sessionKey);
    const ct = await p11.C_Encrypt(s, text.encode('hello peer'));
    expect(new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, peerKey, new Uint8Array(ct)))).toBe('hello peer');
    // Both derived keys stay inside the token.
    expect(await rejection(p11.C_GetAttributeValue(s, sessionKey, [{ type: CKA_VALUE }]))).toBe(ckrName(CKR_ATTRIBUTE_SENSITIVE));
  });

  test('import a known key for encrypt, decrypt and verify', async () => {
    const { p11, session: s, crypto } = await strictToken();
    const value = crypto.getRandomValues(new Uint8Array(32));
    const aesKey = await p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value }, on(CKA_ENCRYPT), on(CKA_DECRYPT)));
    const iv = new Uint8Array(12).fill(4);
    await p11.C_EncryptInit(s, gcm(iv), aesKey);
    const ct = await p11.C_Encrypt(s, text.encode('known key'));
    const offline = await crypto.subtle.importKey('raw', value, 'AES-GCM', false, ['decrypt', 'encrypt']);
    expect(new TextDecoder().decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, offline, new Uint8Array(ct)))).toBe('known key');
    const ct2 = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, offline, text.encode('from outside')));
    await p11.C_DecryptInit(s, gcm(iv), aesKey);
    expect(new TextDecoder().decode(await p11.C_Decrypt(s, ct2))).toBe('from outside');
    // A known key is still hidden by default: strict makes imported keys sensitive unless asked.
    expect(await rejection(p11.C_GetAttributeValue(s, aesKey, [{ type: CKA_VALUE }]))).toBe(ckrName(CKR_ATTRIBUTE_SENSITIVE));

    const macKey = crypto.getRandomValues(new Uint8Array(32));
    const mac = await p11.C_CreateObject(s, session({ type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_VALUE, value: macKey }, on(CKA_VERIFY)));
    const hmac = await crypto.subtle.importKey('raw', macKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const tag = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, text.encode('mac me')));
    await p11.C_VerifyInit(s, { mechanism: CKM_SHA256_HMAC }, mac);
    expect(await p11.C_Verify(s, text.encode('mac me'), tag)).toBe(true);

    const signer = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    const point = new Uint8Array(await crypto.subtle.exportKey('raw', signer.publicKey));
    const publicKey = await p11.C_CreateObject(s, session({ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC },
      { type: CKA_EC_PARAMS, value: P256 }, { type: CKA_EC_POINT, value: new Uint8Array([0x04, point.length, ...point]) }, on(CKA_VERIFY)));
    const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, text.encode('signed outside')));
    await p11.C_VerifyInit(s, { mechanism: CKM_ECDSA_SHA256 }, publicKey);
    expect(await p11.C_Verify(s, text.encode('signed outside'), signature)).toBe(true);
  });

  test('a readable key can be asked for explicitly', async () => {
    const { p11, session: s } = await strictToken();
    const key = await p11.C_GenerateKey(s, { mechanism: CKM_AES_KEY_GEN },
      session({ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_SENSITIVE, value: false }, on(CKA_EXTRACTABLE), on(CKA_ENCRYPT)));
    const [value] = await p11.C_GetAttributeValue(s, key, [{ type: CKA_VALUE }]);
    expect(bytes(value).length).toBe(16);
  });
});

function bytes(attribute: Attribute | undefined): Uint8Array<ArrayBuffer> {
  if (!(attribute?.value instanceof Uint8Array)) throw new Error('expected a byte string attribute');
  return new Uint8Array(attribute.value);
}

function b64url(bytes: Uint8Array): string {
  const first = bytes.findIndex((b) => b !== 0);
  let s = '';
  for (const b of bytes.subarray(Math.max(first, 0))) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
