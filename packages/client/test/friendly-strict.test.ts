/**
 * The friendly layer under the default `strict` policy (a KEK that wraps, a signing pair), and
 * through connect()'s remote Cryptoki: the same calls, outputs checked with Node's crypto.subtle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cryptoki } from '@vhsm/token';
import {
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_TEMPLATE_INCONSISTENT, Pkcs11Error, openToken,
} from '../src/index.js';
import type { CryptokiApiV3, Session, VhsmConnection } from '../src/index.js';
import { unwrapOctetString } from '../src/subtle/der.js';
import { SO_PIN, USER_PIN, connectTo, newHost } from './helpers.js';

const subtle = globalThis.crypto.subtle;
const text = new TextEncoder();
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function failure(promise: Promise<unknown>): Promise<Pkcs11Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(Pkcs11Error);
  return error as Pkcs11Error;
}

/** A token initialized through the friendly layer, and a user session on it. */
async function userSession(api: CryptokiApiV3): Promise<Session> {
  const token = await openToken(api);
  await token.initialize(SO_PIN, 'strict');
  const so = await token.openSession({ readWrite: true });
  await so.login(SO_PIN, { so: true });
  await so.initPin(USER_PIN);
  await so.logout();
  await so.close();
  const session = await token.openSession({ readWrite: true });
  await session.login(USER_PIN);
  return session;
}

/** Signs with a fresh P-256 pair on `session` and checks the signature with Node. */
async function signAndCheck(session: Session): Promise<void> {
  const id = Uint8Array.of(0x51, 0x6e);
  const { publicKey, privateKey } = await session.generateKeyPair('EC', { curve: 'P-256', label: 'signer', id, sign: true, verify: true, token: true });
  expect(await privateKey.get(['sign', 'decrypt', 'sensitive', 'extractable', 'private', 'token', 'label', 'id'])).toEqual({
    sign: true, decrypt: false, sensitive: true, extractable: false, private: true, token: true, label: 'signer', id,
  });
  expect(await publicKey.get(['verify', 'encrypt', 'class', 'keyType'])).toEqual({ verify: true, encrypt: false, class: 'public-key', keyType: 'EC' });

  const data = text.encode('signed by the token');
  const signature = await session.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, data);
  const point = own(unwrapOctetString((await publicKey.get(['ecPoint'])).ecPoint, 65));
  const node = await subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  expect(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, node, own(signature), data)).toBe(true);
  expect(await session.verify({ name: 'ECDSA', hash: 'SHA-256' }, publicKey, data, signature)).toBe(true);

  const found: string[] = [];
  for await (const object of session.find({ label: 'signer', id })) found.push(String((await object.get(['class'])).class));
  expect(found.sort()).toEqual(['private-key', 'public-key']);
  expect(await session.findOne({ id, class: 'private-key' })).toMatchObject({ handle: privateKey.handle });
}

describe('under the strict policy', () => {
  let session: Session;
  beforeAll(async () => {
    session = await userSession(new Cryptoki({ pbkdf2Iterations: 1000 }));
  });

  it('a KEK wraps a data key with AES-KW and unwraps it to the same key', async () => {
    const kek = await session.generateKey('AES', { bits: 256, label: 'kek', wrap: true, unwrap: true });
    expect(await kek.get(['wrap', 'unwrap', 'encrypt', 'decrypt', 'sensitive', 'extractable', 'private', 'local', 'neverExtractable'])).toEqual({
      wrap: true, unwrap: true, encrypt: false, decrypt: false, sensitive: true, extractable: false, private: true, local: true, neverExtractable: true,
    });
    const dataKey = await session.generateKey('AES', { bits: 256, encrypt: true, decrypt: true, extractable: true, sensitive: false });
    const wrapped = await session.wrap({ name: 'AES-KW' }, kek, dataKey);
    expect(wrapped).toHaveLength(40);

    const back = await session.unwrap({ name: 'AES-KW' }, kek, wrapped, { class: 'secret-key', keyType: 'AES', encrypt: true, decrypt: true, label: 'unwrapped' });
    expect(await back.get(['sensitive', 'label', 'valueLen'])).toEqual({ sensitive: true, label: 'unwrapped', valueLen: 32 });
    // The unwrapped key encrypts as the original does: Node decrypts with the original's value.
    const iv = new Uint8Array(12).fill(9);
    const data = text.encode('envelope');
    const sealed = await session.encrypt({ name: 'AES-GCM', iv }, back, data);
    const original = await subtle.importKey('raw', own((await dataKey.get(['value'])).value), 'AES-GCM', false, ['decrypt']);
    expect(new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv }, original, own(sealed)))).toEqual(data);
  });

  it('refuses what strict forbids, as Pkcs11Errors with the CK_RV', async () => {
    const kek = await session.generateKey('AES', { bits: 256, wrap: true, unwrap: true });
    const decrypting = await failure(session.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, kek, new Uint8Array(32)));
    expect(decrypting).toMatchObject({ code: CKR_KEY_FUNCTION_NOT_PERMITTED, method: 'C_DecryptInit' });
    const conflicting = await failure(session.generateKey('AES', { bits: 256, wrap: true, decrypt: true }));
    expect(conflicting).toMatchObject({ code: CKR_TEMPLATE_INCONSISTENT, method: 'C_GenerateKey' });
    const visibleWrapper = await failure(session.generateKey('AES', { bits: 256, wrap: true, extractable: true, sensitive: false }));
    expect(visibleWrapper).toMatchObject({ code: CKR_TEMPLATE_INCONSISTENT, method: 'C_GenerateKey' });
  });

  it('a signing pair: roles routed to their halves, signatures verify in Node, found by label and id', async () => {
    await signAndCheck(session);
  });
});

describe("through connect()'s remote Cryptoki", () => {
  let vhsm: VhsmConnection;
  beforeAll(async () => {
    vhsm = await connectTo(newHost());
  });
  afterAll(() => vhsm.close());

  it('works the same over the worker boundary', async () => {
    const session = await userSession(vhsm.pkcs11);
    await signAndCheck(session);
    const error = await failure(session.generateKey('AES', { bits: 256, wrap: true, decrypt: true }));
    expect(error).toMatchObject({ code: CKR_TEMPLATE_INCONSISTENT, method: 'C_GenerateKey' });
    await session.close();
  });
});
