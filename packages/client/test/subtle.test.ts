/**
 * The facade's outputs against Node's own crypto.subtle: byte-identical where the algorithm is
 * deterministic, verified by the other side where it is randomized.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CKR_KEY_FUNCTION_NOT_PERMITTED, REDACTED } from '../src/index.js';
import type { VhsmConnection, VhsmCryptoKey, VhsmCryptoKeyPair } from '../src/index.js';
import { connectTo, initToken, login, newHost } from './helpers.js';

const native = crypto.subtle;
const data = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
let vhsm: VhsmConnection;

beforeAll(async () => {
  vhsm = await connectTo(newHost({ policy: 'spec' }));
  await initToken(vhsm);
  await login(vhsm);
});
afterAll(() => vhsm.close());

const bytes = (b: ArrayBuffer) => new Uint8Array(b);

describe('symmetric algorithms give the same bytes as crypto.subtle', () => {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const cases: [string, AesGcmParams | AesCbcParams | AesCtrParams][] = [
    ['AES-GCM', { name: 'AES-GCM', iv: new Uint8Array(12).fill(1), additionalData: new Uint8Array([9, 9]) }],
    ['AES-GCM', { name: 'AES-GCM', iv: new Uint8Array(12).fill(2), tagLength: 96 }],
    ['AES-CBC', { name: 'AES-CBC', iv: new Uint8Array(16).fill(3) }],
    ['AES-CTR', { name: 'AES-CTR', counter: new Uint8Array(16).fill(4), length: 64 }],
  ];
  it.each(cases)('%s encrypt/decrypt', async (name, params) => {
    const ours = await vhsm.subtle.importKey('raw', raw, name, false, ['encrypt', 'decrypt']);
    const theirs = await native.importKey('raw', raw, name, false, ['encrypt', 'decrypt']);
    const ct = await vhsm.subtle.encrypt(params, ours, data);
    expect(bytes(ct)).toEqual(bytes(await native.encrypt(params, theirs, data)));
    expect(bytes(await vhsm.subtle.decrypt(params, ours, ct))).toEqual(data);
  });

  it('a failed Init gives its session back to the pool; a failed operation closes it', async () => {
    const key = await vhsm.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    await vhsm.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, data);
    const sessions = async () => (await vhsm.pkcs11.C_GetTokenInfo(0)).sessionCount;
    const before = await sessions();
    // Refused at C_EncryptInit (index 0 of the batch): nothing started, the session is reused.
    await expect(vhsm.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(8) }, key, data)).rejects.toMatchObject({ name: 'OperationError' });
    expect(await sessions()).toBe(before);
    // Refused at C_Decrypt (index 1): the session is closed rather than trusted again.
    await expect(vhsm.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new Uint8Array(32))).rejects.toMatchObject({ name: 'OperationError' });
    expect(await sessions()).toBe(before - 1);
  });

  it('HMAC sign/verify, generated key exported and used natively', async () => {
    const key = (await vhsm.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify'])) as VhsmCryptoKey;
    expect(key.algorithm).toEqual({ name: 'HMAC', hash: { name: 'SHA-256' }, length: 512 });
    const exported = await vhsm.subtle.exportKey('raw', key);
    const theirs = await native.importKey('raw', exported, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = await vhsm.subtle.sign('HMAC', key, data);
    expect(bytes(mac)).toEqual(bytes(await native.sign('HMAC', theirs, data)));
    expect(await vhsm.subtle.verify('HMAC', key, mac, data)).toBe(true);
    expect(await vhsm.subtle.verify('HMAC', key, new Uint8Array(32), data)).toBe(false);
    const jwk = await vhsm.subtle.exportKey('jwk', key);
    expect(jwk).toEqual(await native.exportKey('jwk', await native.importKey('raw', exported, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify'])));
  });

  it.each(['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'])('%s digest', async (hash) => {
    expect(bytes(await vhsm.subtle.digest(hash, data))).toEqual(bytes(await native.digest(hash, data)));
  });

  it('AES-KW wrapKey/unwrapKey', async () => {
    const kek = await vhsm.subtle.importKey('raw', raw, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const secret = crypto.getRandomValues(new Uint8Array(16));
    const key = await vhsm.subtle.importKey('raw', secret, 'AES-GCM', true, ['encrypt']);
    const wrapped = await vhsm.subtle.wrapKey('raw', key, kek, 'AES-KW');
    const nativeKek = await native.importKey('raw', raw, 'AES-KW', false, ['wrapKey']);
    const nativeKey = await native.importKey('raw', secret, 'AES-GCM', true, ['encrypt']);
    expect(bytes(wrapped)).toEqual(bytes(await native.wrapKey('raw', nativeKey, nativeKek, 'AES-KW')));
    const back = await vhsm.subtle.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-GCM', true, ['encrypt']);
    expect(back.algorithm).toEqual({ name: 'AES-GCM', length: 128 });
    expect(bytes(await vhsm.subtle.exportKey('raw', back))).toEqual(secret);
  });

  it('HKDF deriveBits and deriveKey', async () => {
    const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array([1, 2, 3]), info: new Uint8Array([4, 5]) };
    const ours = await vhsm.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const theirs = await native.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
    expect(bytes(await vhsm.subtle.deriveBits(params, ours, 256))).toEqual(bytes(await native.deriveBits(params, theirs, 256)));
    const aes = await vhsm.subtle.deriveKey(params, ours, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    expect(bytes(await vhsm.subtle.exportKey('raw', aes))).toEqual(bytes(await native.deriveBits(params, theirs, 128)));
  });
});

describe('asymmetric algorithms verify against crypto.subtle', () => {
  it.each(['P-256', 'P-384', 'P-521'])('ECDSA %s: token signature verifies natively and vice versa', async (namedCurve) => {
    const pair = (await vhsm.subtle.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify'])) as VhsmCryptoKeyPair;
    const spki = await vhsm.subtle.exportKey('spki', pair.publicKey);
    const theirs = await native.importKey('spki', spki, { name: 'ECDSA', namedCurve }, true, ['verify']);
    const signature = await vhsm.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, data);
    expect(await native.verify({ name: 'ECDSA', hash: 'SHA-256' }, theirs, signature, data)).toBe(true);
    expect(await native.exportKey('jwk', theirs)).toMatchObject(await vhsm.subtle.exportKey('jwk', pair.publicKey));
    const other = await native.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
    const imported = await vhsm.subtle.importKey('spki', await native.exportKey('spki', other.publicKey), { name: 'ECDSA', namedCurve }, true, ['verify']);
    const nativeSignature = await native.sign({ name: 'ECDSA', hash: 'SHA-384' }, other.privateKey, data);
    expect(await vhsm.subtle.verify({ name: 'ECDSA', hash: 'SHA-384' }, imported, nativeSignature, data)).toBe(true);
  });

  it.each(['SHA-1', 'SHA-256', 'SHA-512'])('PBKDF2 (%s) deriveBits and deriveKey; the password stays in the facade', async (hash) => {
    const password = new TextEncoder().encode('correct horse battery staple');
    const params = { name: 'PBKDF2', hash, salt: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), iterations: 1000 };
    const ours = await vhsm.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits', 'deriveKey']);
    expect(ours).toMatchObject({ type: 'secret', extractable: false, algorithm: { name: 'PBKDF2' }, usages: ['deriveBits', 'deriveKey'] });
    expect(Object.values(ours).some((v) => v instanceof Uint8Array && v.length === password.length)).toBe(false);
    const theirs = await native.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    vhsm.trace.clear();
    vhsm.trace.enable();
    expect(bytes(await vhsm.subtle.deriveBits(params, ours, 384))).toEqual(bytes(await native.deriveBits(params, theirs, 384)));
    vhsm.trace.disable();
    const generate = vhsm.trace.records.find((r) => r.fn === 'C_GenerateKey');
    expect(generate?.args[1]).toMatchObject({ parameter: { password: REDACTED } });
    const aes = await vhsm.subtle.deriveKey(params, ours, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
    expect(aes.algorithm).toEqual({ name: 'AES-GCM', length: 256 });
    expect(bytes(await vhsm.subtle.exportKey('raw', aes))).toEqual(bytes(await native.deriveBits(params, theirs, 256)));
    const hmac = await vhsm.subtle.deriveKey(params, ours, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    expect(bytes(await vhsm.subtle.exportKey('raw', hmac))).toEqual(bytes(await native.deriveBits(params, theirs, 512)));
  });

  it('PBKDF2 keys: not extractable, not exportable, a length is required', async () => {
    const password = new TextEncoder().encode('pw');
    await expect(vhsm.subtle.importKey('raw', password, 'PBKDF2', true, ['deriveBits'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(vhsm.subtle.importKey('raw', password, 'PBKDF2', false, ['sign'])).rejects.toMatchObject({ name: 'SyntaxError' });
    const key = await vhsm.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    await expect(vhsm.subtle.exportKey('raw', key)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    const params: Pbkdf2Params = { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(8), iterations: 1 };
    await expect(vhsm.subtle.deriveBits(params, key, null)).rejects.toMatchObject({ name: 'OperationError' });
    const none: Pbkdf2Params = { ...params, iterations: 0 };
    await expect(vhsm.subtle.deriveBits(none, key, 128)).rejects.toMatchObject({ name: 'OperationError' });
    await expect(vhsm.subtle.deriveKey(params, key, { name: 'AES-GCM', length: 128 }, false, ['encrypt'])).rejects.toMatchObject({ name: 'InvalidAccessError' });
  });

  it('Ed25519 signatures are identical (deterministic)', async () => {
    const other = (await native.generateKey('Ed25519', true, ['sign', 'verify'])) as CryptoKeyPair;
    const pkcs8 = await native.exportKey('pkcs8', other.privateKey);
    const ours = await vhsm.subtle.importKey('pkcs8', pkcs8, 'Ed25519', false, ['sign']);
    expect(bytes(await vhsm.subtle.sign('Ed25519', ours, data))).toEqual(bytes(await native.sign('Ed25519', other.privateKey, data)));
  });

  it('RSASSA-PKCS1-v1_5 signatures are identical, RSA-PSS verifies natively', async () => {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const pair = (await vhsm.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as VhsmCryptoKeyPair;
    const pkcs8 = await vhsm.subtle.exportKey('pkcs8', pair.privateKey);
    const theirs = await native.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
    expect(bytes(await vhsm.subtle.sign(algorithm, pair.privateKey, data))).toEqual(bytes(await native.sign(algorithm, theirs, data)));
    const pss = { name: 'RSA-PSS', hash: 'SHA-256' };
    const pssKey = await vhsm.subtle.importKey('pkcs8', pkcs8, pss, false, ['sign']);
    const publicKey = await native.importKey('spki', await vhsm.subtle.exportKey('spki', pair.publicKey), pss, false, ['verify']);
    const signature = await vhsm.subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, pssKey, data);
    expect(await native.verify({ name: 'RSA-PSS', saltLength: 32 }, publicKey, signature, data)).toBe(true);
  });

  it('RSA-OAEP: token ciphertext decrypts natively and vice versa', async () => {
    const algorithm = { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const theirs = (await native.generateKey(algorithm, true, ['encrypt', 'decrypt'])) as CryptoKeyPair;
    const publicKey = await vhsm.subtle.importKey('spki', await native.exportKey('spki', theirs.publicKey), algorithm, true, ['encrypt']);
    const label = new Uint8Array([7]);
    const ct = await vhsm.subtle.encrypt({ name: 'RSA-OAEP', label }, publicKey, data);
    expect(bytes(await native.decrypt({ name: 'RSA-OAEP', label }, theirs.privateKey, ct))).toEqual(data);
    const privateKey = await vhsm.subtle.importKey('pkcs8', await native.exportKey('pkcs8', theirs.privateKey), algorithm, false, ['decrypt']);
    const nativeCt = await native.encrypt('RSA-OAEP', theirs.publicKey, data);
    expect(bytes(await vhsm.subtle.decrypt('RSA-OAEP', privateKey, nativeCt))).toEqual(data);
  });

  it('ECDH deriveBits agrees with the native side', async () => {
    const ours = (await vhsm.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits', 'deriveKey'])) as VhsmCryptoKeyPair;
    const theirs = (await native.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const peer = await vhsm.subtle.importKey('raw', await native.exportKey('raw', theirs.publicKey), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const ourPublic = await native.importKey('spki', await vhsm.subtle.exportKey('spki', ours.publicKey), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
    const expected = bytes(await native.deriveBits({ name: 'ECDH', public: ourPublic }, theirs.privateKey, 256));
    expect(bytes(await vhsm.subtle.deriveBits({ name: 'ECDH', public: peer }, ours.privateKey, 256))).toEqual(expected);
    expect(bytes(await vhsm.subtle.deriveBits({ name: 'ECDH', public: peer }, ours.privateKey, 128))).toEqual(expected.slice(0, 16));
  });
});

describe('failures look like WebCrypto\'s and carry the CK_RV', () => {
  it('a key used for what its usages do not allow is InvalidAccessError', async () => {
    const key = await vhsm.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']);
    const error = await vhsm.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new Uint8Array(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'InvalidAccessError', ckr: CKR_KEY_FUNCTION_NOT_PERMITTED });
  });

  it('a bad tag is OperationError, an unknown algorithm NotSupportedError, a non-extractable export InvalidAccessError', async () => {
    const key = await vhsm.subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['decrypt']);
    await expect(vhsm.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new Uint8Array(32))).rejects.toMatchObject({ name: 'OperationError' });
    await expect(vhsm.subtle.digest('MD5', data)).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(vhsm.subtle.exportKey('raw', key)).rejects.toMatchObject({ name: 'InvalidAccessError' });
  });
});

describe('keyStorage', () => {
  it('stores, lists, gets and removes persistent keys', async () => {
    const key = (await vhsm.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])) as VhsmCryptoKey;
    expect(await vhsm.keyStorage.hasItem(key)).toBe(false);
    const id = await vhsm.keyStorage.setItem(key);
    expect(await vhsm.keyStorage.keys()).toContain(id);
    expect(await vhsm.keyStorage.indexOf(key)).toBe(id);
    const stored = await vhsm.keyStorage.getItem(id);
    expect(stored).toMatchObject({ type: 'secret', extractable: false, algorithm: { name: 'AES-GCM', length: 256 }, usages: ['encrypt', 'decrypt'], token: true });
    const iv = new Uint8Array(12);
    const ct = await vhsm.subtle.encrypt({ name: 'AES-GCM', iv }, key, data);
    expect(bytes(await vhsm.subtle.decrypt({ name: 'AES-GCM', iv }, stored as VhsmCryptoKey, ct))).toEqual(data);
    await vhsm.keyStorage.removeItem(id);
    expect(await vhsm.keyStorage.getItem(id)).toBeNull();
  });
});
