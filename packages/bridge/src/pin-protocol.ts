/**
 * CTAP 2.1 PIN/UV auth protocol 2 on WebCrypto: ECDH P-256 key agreement with the authenticator,
 * HKDF-SHA-256 into an HMAC key and an AES-256 key, AES-256-CBC without padding (random IV sent
 * in front), HMAC-SHA-256 to authenticate. Used by clientPIN and by hmac-secret, on both sides.
 */
import { concat } from './bytes.js';
import type { CborMap, CborValue } from './cbor.js';

export const PIN_PROTOCOL = 2;

export interface SharedSecret {
  hmacKey: CryptoKey;
  aesKey: CryptoKey;
}

/** COSE_Key of an ECDH-ES+HKDF-256 P-256 public key (the keyAgreement parameter). */
export function coseKey(point: Uint8Array): CborMap {
  return new Map<number, CborValue>([[1, 2], [3, -25], [-1, 1], [-2, point.slice(1, 33)], [-3, point.slice(33, 65)]]);
}

/** A COSE EC2 P-256 key back to an uncompressed point; undefined if it is not one. */
export function cosePoint(value: CborValue | undefined): Uint8Array<ArrayBuffer> | undefined {
  if (!(value instanceof Map) || value.get(1) !== 2 || value.get(-1) !== 1) return undefined;
  const x = value.get(-2);
  const y = value.get(-3);
  if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array) || x.length !== 32 || y.length !== 32) return undefined;
  return concat([Uint8Array.of(4), x, y]);
}

/** ECDH with the peer's point, then the two keys of protocol 2. */
export async function sharedSecret(privateKey: CryptoKey, peerPoint: Uint8Array): Promise<SharedSecret> {
  const peer = await crypto.subtle.importKey('raw', peerPoint.slice(), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const z = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', z, 'HKDF', false, ['deriveBits']);
  const salt = new Uint8Array(32);
  const derive = async (info: string) => crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: new TextEncoder().encode(info) }, ikm, 256);
  const hmacKey = await crypto.subtle.importKey('raw', await derive('CTAP2 HMAC key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const aesKey = await crypto.subtle.importKey('raw', await derive('CTAP2 AES key'), 'AES-CBC', false, ['encrypt', 'decrypt']);
  return { hmacKey, aesKey };
}

/** iv ‖ AES-256-CBC(plaintext), no padding: the plaintext is a whole number of blocks. */
export async function encrypt(secret: SharedSecret, plaintext: Uint8Array): Promise<Uint8Array> {
  if (plaintext.length % 16 !== 0) throw new RangeError('protocol 2 encrypts whole blocks');
  const iv = crypto.getRandomValues(new Uint8Array(16));
  // WebCrypto pads; a whole-block plaintext gets one extra block, which we leave off.
  const padded = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, secret.aesKey, plaintext.slice()));
  return concat([iv, padded.subarray(0, plaintext.length)]);
}

/** Undo `encrypt`; undefined when the length is not iv plus whole blocks. */
export async function decrypt(secret: SharedSecret, message: Uint8Array): Promise<Uint8Array | undefined> {
  if (message.length < 32 || message.length % 16 !== 0) return undefined;
  const iv = message.slice(0, 16);
  const body = message.slice(16);
  // WebCrypto insists on padding: append the block a full padding block would encrypt to after
  // our last ciphertext block, so decryption strips exactly that.
  const padBlock = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: body.slice(-16) }, secret.aesKey, new Uint8Array(16).fill(16)), 0, 16);
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, secret.aesKey, concat([body, padBlock])));
}

export async function authenticate(key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message.slice()));
}

export async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw.slice(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}
