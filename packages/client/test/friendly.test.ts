/**
 * The friendly layer against the engine under the `spec` policy: every output checked with Node's
 * own crypto.subtle, friendly templates read back typed, misuse refused by the compiler and, for
 * JavaScript callers, at run time with a precise CK_RV.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Cryptoki } from '@vhsm/token';
import {
  CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_PIN_INCORRECT, CKR_SLOT_ID_INVALID, CKR_USER_NOT_LOGGED_IN, CKM_SHA256, Pkcs11Error,
  openToken,
} from '../src/index.js';
import type { FriendlyAttributes, Session, SessionObject, Token } from '../src/index.js';
import { unwrapOctetString } from '../src/subtle/der.js';

const SO_PIN = 'so-pin-5678';
const USER_PIN = 'user-pin-5678';
const subtle = globalThis.crypto.subtle;
const bytes = (...values: number[]) => Uint8Array.from(values);
const text = new TextEncoder();

/** The rejection of `promise`, which must be a Pkcs11Error. */
async function failure(promise: Promise<unknown>): Promise<Pkcs11Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(Pkcs11Error);
  return error as Pkcs11Error;
}

/** A copy on its own ArrayBuffer, as crypto.subtle's types ask. */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function valueOf(key: SessionObject): Promise<Uint8Array<ArrayBuffer>> {
  return own((await key.get(['value'])).value);
}

let token: Token;
let session: Session;

beforeAll(async () => {
  token = await openToken(new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 }));
  await token.initialize(SO_PIN, 'friendly');
  const so = await token.openSession({ readWrite: true });
  await so.login(SO_PIN, { so: true });
  await so.initPin(USER_PIN);
  await so.close();
  session = await token.openSession({ readWrite: true });
  await session.login(USER_PIN);
});

describe('Token and Session', () => {
  it('decodes the token flags and names the session state', async () => {
    const fresh = await openToken(new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 }), { slot: 0 });
    const before = await fresh.info();
    expect(before.flags.tokenInitialized).toBe(false);
    expect(before.flags.rng).toBe(true);
    await fresh.initialize(SO_PIN, 'fresh');
    const after = await fresh.info();
    expect(after).toMatchObject({ label: 'fresh', flags: { tokenInitialized: true, userPinInitialized: false } });
    expect(after.flagBits & 0x400).toBe(0x400);
    expect((await token.info()).flags.userPinInitialized).toBe(true);
    expect(await session.info()).toEqual({ slot: 0, state: 'CKS_RW_USER_FUNCTIONS', readWrite: true });
    expect(await token.mechanisms()).toContain('CKM_AES_GCM');
  });

  it('keeps failures as Pkcs11Errors with the CK_RV and the C_ function', async () => {
    const other = await token.openSession();
    await session.logout();
    expect(await failure(other.login('wrong-pin'))).toMatchObject({ code: CKR_PIN_INCORRECT, method: 'C_Login' });
    await other.login(USER_PIN);
    expect(await failure(openToken(new Cryptoki({ pbkdf2Iterations: 1000 }), { slot: 7 }))).toMatchObject({ code: CKR_SLOT_ID_INVALID });
    await other.close();
  });
});

describe('objects', () => {
  it('reads attributes back as a typed friendly record and changes them', async () => {
    const key = await session.generateKey('AES', { bits: 128, label: 'typed', id: bytes(1, 2), sensitive: true, extractable: false });
    const record = await key.get(['label', 'id', 'class', 'keyType', 'valueLen', 'sensitive', 'extractable', 'local', 'keyGenMechanism', 'startDate']);
    expect(record).toEqual({
      label: 'typed', id: bytes(1, 2), class: 'secret-key', keyType: 'AES', valueLen: 16, sensitive: true, extractable: false,
      local: true, keyGenMechanism: 0x1080, startDate: '',
    });
    const label: string = record.label;
    const sensitive: boolean = record.sensitive;
    expect([label, sensitive]).toEqual(['typed', true]);
    await key.set({ label: 'renamed', startDate: '20260101' });
    expect(await key.get(['label', 'startDate'])).toEqual({ label: 'renamed', startDate: '20260101' });
    expect(await failure(key.get(['value']))).toMatchObject({ code: CKR_ATTRIBUTE_SENSITIVE, method: 'C_GetAttributeValue' });
  });

  it('finds by friendly template, lets the loop stop early, and copies and destroys', async () => {
    for (const n of [1, 2, 3]) await session.create({ class: 'data', label: 'found', value: bytes(n), application: 'friendly' });
    const values: Uint8Array[] = [];
    for await (const object of session.find({ class: 'data', label: 'found' })) values.push((await object.get(['value'])).value);
    expect(values.map((v) => v[0]).sort()).toEqual([1, 2, 3]);
    for await (const object of session.find({ label: 'found' })) {
      await object.copy({ label: 'copied' });
      break;
    }
    const copy = await session.findOne({ label: 'copied' });
    expect(copy).toBeDefined();
    expect(await copy?.get(['class', 'application'])).toEqual({ class: 'data', application: 'friendly' });
    await copy?.destroy();
    expect(await session.findOne({ label: 'copied' })).toBeUndefined();
    expect(session.object(copy?.handle ?? 0).handle).toBe(copy?.handle);
  });

  it('takes raw numbers for enumerated attributes and names them when it can', async () => {
    const object = await session.create({ class: 0 /* CKO_DATA */, label: 'raw' });
    expect(await object.get(['class'])).toEqual({ class: 'data' });
    const key = await session.create({ class: 'secret-key', keyType: 0x2b /* CKK_SHA256_HMAC */, value: new Uint8Array(32), sign: true });
    expect(await key.get(['keyType'])).toEqual({ keyType: 0x2b });
  });

  it('keeps nested templates friendly', async () => {
    const kek = await session.generateKey('AES', { bits: 256, wrap: true, unwrap: true, unwrapTemplate: { sensitive: true, label: 'inner' } });
    expect(await kek.get(['unwrapTemplate'])).toEqual({ unwrapTemplate: { sensitive: true, label: 'inner' } });
  });
});

describe('cryptography, checked with Node', () => {
  it('AES-GCM, AES-CBC-PAD and AES-CTR match crypto.subtle', async () => {
    const key = await session.generateKey('AES', { bits: 256, encrypt: true, decrypt: true, extractable: true, sensitive: false });
    const node = await subtle.importKey('raw', await valueOf(key), 'AES-GCM', false, ['encrypt']);
    const iv = new Uint8Array(12).fill(7);
    const additionalData = text.encode('header');
    const data = text.encode('friendly plaintext');
    const sealed = await session.encrypt({ name: 'AES-GCM', iv, additionalData }, key, data);
    expect(sealed).toEqual(new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, node, data)));
    expect(await session.decrypt({ name: 'AES-GCM', iv, additionalData }, key, sealed)).toEqual(data);

    const cbc = await subtle.importKey('raw', await valueOf(key), 'AES-CBC', false, ['encrypt']);
    const iv16 = new Uint8Array(16).fill(3);
    expect(await session.encrypt({ name: 'AES-CBC-PAD', iv: iv16 }, key, data)).toEqual(
      new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: iv16 }, cbc, data)),
    );
    const ctr = await subtle.importKey('raw', await valueOf(key), 'AES-CTR', false, ['encrypt']);
    expect(await session.encrypt({ name: 'AES-CTR', counter: iv16, length: 64 }, key, data)).toEqual(
      new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: iv16, length: 64 }, ctr, data)),
    );
  });

  it('RSA: OAEP from Node decrypts on the token, PSS and PKCS#1 v1.5 signatures verify in Node', async () => {
    const { publicKey, privateKey } = await session.generateKeyPair('RSA', {
      modulusBits: 2048, label: 'rsa', encrypt: true, decrypt: true, sign: true, verify: true,
    });
    expect(await publicKey.get(['class', 'keyType', 'modulusBits', 'encrypt', 'verify'])).toEqual({
      class: 'public-key', keyType: 'RSA', modulusBits: 2048, encrypt: true, verify: true,
    });
    expect(await privateKey.get(['class', 'decrypt', 'sign'])).toEqual({ class: 'private-key', decrypt: true, sign: true });
    const { modulus, publicExponent } = await publicKey.get(['modulus', 'publicExponent']);
    const jwk = { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: Buffer.from(publicExponent).toString('base64url') };
    const data = text.encode('rsa data');

    const oaep = await subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
    const label = text.encode('label');
    const sealed = new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP', label }, oaep, data));
    expect(await session.decrypt({ name: 'RSA-OAEP', hash: 'SHA-256', label }, privateKey, sealed)).toEqual(data);

    const pss = await subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['verify']);
    const pssSignature = await session.sign({ name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 }, privateKey, data);
    expect(await subtle.verify({ name: 'RSA-PSS', saltLength: 48 }, pss, own(pssSignature), data)).toBe(true);

    const pkcs1 = await subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
    const signature = await session.sign({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, privateKey, data);
    expect(await subtle.verify('RSASSA-PKCS1-v1_5', pkcs1, own(signature), data)).toBe(true);
    expect(await session.verify({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, publicKey, data, signature)).toBe(true);
    expect(await session.verify({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, publicKey, text.encode('other'), signature)).toBe(false);
  });

  it('ECDH derives the secret Node derives; HKDF on it matches Node', async () => {
    const pair = await session.generateKeyPair('EC', { curve: 'P-384', derive: true });
    const peer = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits']);
    const peerPoint = new Uint8Array(await subtle.exportKey('raw', peer.publicKey));
    const secret = await session.derive({ name: 'ECDH', publicKey: peerPoint }, pair.privateKey, {
      class: 'secret-key', keyType: 'generic-secret', valueLen: 48, extractable: true, sensitive: false, derive: true,
    });
    const ourPoint = own(unwrapOctetString((await pair.publicKey.get(['ecPoint'])).ecPoint, 97));
    const ours = await subtle.importKey('raw', ourPoint, { name: 'ECDH', namedCurve: 'P-384' }, false, []);
    const expected = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: ours }, peer.privateKey, 384));
    expect(await valueOf(secret)).toEqual(expected);

    const salt = text.encode('salt');
    const info = text.encode('info');
    const okm = await session.derive({ name: 'HKDF', hash: 'SHA-256', salt, info }, secret, {
      class: 'secret-key', keyType: 'generic-secret', valueLen: 32, extractable: true, sensitive: false,
    });
    const ikm = await subtle.importKey('raw', expected, 'HKDF', false, ['deriveBits']);
    expect(await valueOf(okm)).toEqual(new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, ikm, 256)));
  });

  it('Ed25519 and ECDSA signatures verify in Node; HMAC and digests match Node', async () => {
    const data = text.encode('signed');
    const ed = await session.generateKeyPair('Ed25519', { sign: true, verify: true });
    const edPoint = own(unwrapOctetString((await ed.publicKey.get(['ecPoint'])).ecPoint, 32));
    const edNode = await subtle.importKey('raw', edPoint, 'Ed25519', false, ['verify']);
    expect(await subtle.verify('Ed25519', edNode, own(await session.sign({ name: 'Ed25519' }, ed.privateKey, data)), data)).toBe(true);

    const ec = await session.generateKeyPair('EC', { curve: 'P-256', sign: true, verify: true });
    const ecNode = await subtle.importKey('raw', own(unwrapOctetString((await ec.publicKey.get(['ecPoint'])).ecPoint, 65)), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const signature = await session.sign({ name: 'ECDSA', hash: 'SHA-512' }, ec.privateKey, data);
    expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-512' }, ecNode, own(signature), data)).toBe(true);

    const mac = await session.generateKey('generic-secret', { bits: 256, sign: true, verify: true, extractable: true, sensitive: false });
    const macNode = await subtle.importKey('raw', await valueOf(mac), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const tag = await session.sign({ name: 'HMAC', hash: 'SHA-256' }, mac, data);
    expect(tag).toEqual(new Uint8Array(await subtle.sign('HMAC', macNode, data)));
    expect(await session.verify({ name: 'HMAC', hash: 'SHA-256' }, mac.handle, data, tag)).toBe(true);

    expect(await session.digest({ name: 'SHA-256' }, data)).toEqual(new Uint8Array(await subtle.digest('SHA-256', data)));
    expect(await session.digest({ mechanism: CKM_SHA256 }, data)).toEqual(new Uint8Array(await subtle.digest('SHA-256', data)));
  });

  it('AES-KW wraps as Node wraps, and unwraps to the same key', async () => {
    const kek = await session.generateKey('AES', { bits: 256, wrap: true, unwrap: true, extractable: true, sensitive: false });
    const key = await session.generateKey('AES', { bits: 128, extractable: true, sensitive: false, encrypt: true });
    const wrapped = await session.wrap({ name: 'AES-KW' }, kek, key);
    const nodeKek = await subtle.importKey('raw', await valueOf(kek), 'AES-KW', false, ['wrapKey']);
    const nodeKey = await subtle.importKey('raw', await valueOf(key), 'AES-GCM', true, ['encrypt']);
    expect(wrapped).toEqual(new Uint8Array(await subtle.wrapKey('raw', nodeKey, nodeKek, 'AES-KW')));
    const back = await session.unwrap({ name: 'AES-KW' }, kek, wrapped, { class: 'secret-key', keyType: 'AES', extractable: true, sensitive: false });
    expect(await valueOf(back)).toEqual(await valueOf(key));
    expect(await session.random(16)).toHaveLength(16);
  });
});

describe('misuse', () => {
  it('does not compile, and a JavaScript caller gets the precise CK_RV', async () => {
    const key = await session.generateKey('AES', { bits: 128, encrypt: true });
    const cases: [() => Promise<unknown>, number, string][] = [
      // @ts-expect-error label is a string
      [() => session.create({ class: 'data', label: 5 }), CKR_ATTRIBUTE_VALUE_INVALID, 'label: expected a string'],
      // @ts-expect-error sensitive is a boolean
      [() => session.generateKey('AES', { bits: 128, sensitive: 'yes' }), CKR_ATTRIBUTE_VALUE_INVALID, 'sensitive: expected a boolean'],
      // @ts-expect-error no such attribute
      [() => session.create({ colour: 'red' }), CKR_ATTRIBUTE_TYPE_INVALID, 'unknown attribute colour'],
      // @ts-expect-error no such class
      [() => session.create({ class: 'secret' }), CKR_ATTRIBUTE_VALUE_INVALID, 'class: unknown name secret'],
      // @ts-expect-error ECDSA does not encrypt
      [() => session.encrypt({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes(1)), CKR_MECHANISM_INVALID, 'CKM_ECDSA_SHA256'],
      // @ts-expect-error no such mechanism
      [() => session.encrypt({ name: 'AES-XTS' }, key, bytes(1)), CKR_MECHANISM_INVALID, 'unknown mechanism AES-XTS'],
      // @ts-expect-error AES-GCM needs an iv
      [() => session.encrypt({ name: 'AES-GCM' }, key, bytes(1)), CKR_MECHANISM_PARAM_INVALID, ''],
      // @ts-expect-error no such hash
      [() => session.sign({ name: 'HMAC', hash: 'MD5' }, key, bytes(1)), CKR_MECHANISM_PARAM_INVALID, 'hash: MD5 is not supported'],
      // @ts-expect-error EC needs a curve
      [() => session.generateKeyPair('EC', { sign: true }), CKR_MECHANISM_PARAM_INVALID, 'curve: undefined is not supported'],
      // @ts-expect-error no such key algorithm
      [() => session.generateKey('DES', { bits: 64 }), CKR_MECHANISM_INVALID, 'unknown algorithm DES'],
      [() => session.generateKey('AES', { bits: 100 }), CKR_ATTRIBUTE_VALUE_INVALID, 'bits: expected a positive multiple of 8'],
      // @ts-expect-error dates are 'YYYYMMDD'
      [() => session.create({ class: 'data', startDate: new Date() }), CKR_ATTRIBUTE_VALUE_INVALID, "startDate: expected 'YYYYMMDD' or ''"],
    ];
    for (const [call, code, detail] of cases) {
      const error = await failure(call());
      expect(error.code).toBe(code);
      expect(error.message).toContain(detail);
    }
    // @ts-expect-error get returns a typed record: label is a string
    const wrong: number = (await key.get(['label'])).label;
    expect(typeof wrong).toBe('string');
    const template: FriendlyAttributes = { label: 'fine', token: false };
    expect(Object.keys(template)).toEqual(['label', 'token']);
  });

  it('leaves the PKCS#11 rules to the token', async () => {
    const other = await token.openSession({ readWrite: true });
    await session.logout();
    const error = await failure(other.generateKey('AES', { bits: 128, private: true }));
    expect(error).toMatchObject({ code: CKR_USER_NOT_LOGGED_IN, method: 'C_GenerateKey' });
    await session.login(USER_PIN);
    await other.close();
  });
});
