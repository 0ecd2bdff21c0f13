/**
 * The key chain (docs/storage.md): PIN --PBKDF2--> KEK --AES-KW--> TK, the PIN's record encrypted
 * again under the device key DK; objects sealed under TK (private) or DK (public token objects' key
 * material) with AES-GCM and an AAD naming the token and the object. Keys move only through
 * wrapKey/unwrapKey: their bytes never appear here.
 */
import type { AttributeValue } from '@vhsm/pkcs11';
import type { SealedBlob, StoredAttributes } from './store.js';

const TK_USAGES: KeyUsage[] = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type SealAad = { tokenId: string; purpose: string; objectId?: number };

/**
 * "vhsm/1|tokenId|purpose|" as bytes, per token and purpose: the first find after login builds one
 * AAD per private object, and encoding the whole string each time was a measurable share of it.
 */
const aadPrefixes = new Map<string, Map<string, Uint8Array>>();

function aadPrefix(tokenId: string, purpose: string): Uint8Array {
  let byPurpose = aadPrefixes.get(tokenId);
  if (!byPurpose) {
    // Token ids change only with C_InitToken; a bound keeps a long-lived engine from collecting them.
    if (aadPrefixes.size >= 64) aadPrefixes.clear();
    aadPrefixes.set(tokenId, (byPurpose = new Map()));
  }
  let prefix = byPurpose.get(purpose);
  if (!prefix) byPurpose.set(purpose, (prefix = encoder.encode(`vhsm/1|${tokenId}|${purpose}|`)));
  return prefix;
}

export function aadBytes({ tokenId, purpose, objectId }: SealAad): Uint8Array {
  const prefix = aadPrefix(tokenId, purpose);
  if (objectId === undefined) return prefix;
  const digits = String(objectId);
  const out = new Uint8Array(prefix.length + digits.length);
  out.set(prefix);
  for (let i = 0; i < digits.length; i++) out[prefix.length + i] = digits.charCodeAt(i);
  return out;
}

function additionalData(aad: SealAad, bound: Uint8Array | undefined): Uint8Array {
  const head = aadBytes(aad);
  if (!bound) return head;
  const out = new Uint8Array(head.length + 1 + bound.length);
  out.set(head);
  out[head.length] = 0x7c; // '|'
  out.set(bound, head.length + 1);
  return out;
}

export class Sealer {
  readonly #subtle: SubtleCrypto;
  readonly #crypto: Crypto;
  constructor(crypto: Crypto) {
    this.#crypto = crypto;
    this.#subtle = crypto.subtle;
  }

  randomBytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 65536) this.#crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
    return out;
  }

  /** A non-extractable AES-GCM key: the device key, or the engine's key for session objects. */
  newDeviceKey(): Promise<CryptoKey> {
    return this.#subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, TK_USAGES);
  }

  /** A fresh TK, extractable only so it can be wrapped under each PIN's KEK right away. */
  newTokenKey(): Promise<CryptoKey> {
    return this.#subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, TK_USAGES);
  }

  async pinKey(pin: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
    const base = await this.#subtle.importKey('raw', encoder.encode(pin), 'PBKDF2', false, ['deriveKey']);
    return this.#subtle.deriveKey(
      { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
      base, { name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey'],
    );
  }

  /** TK wrapped under the PIN key, then encrypted under DK. */
  async sealTokenKey(tk: CryptoKey, pinKey: CryptoKey, deviceKey: CryptoKey, aad: SealAad): Promise<SealedBlob> {
    const wrapped = new Uint8Array(await this.#subtle.wrapKey('raw', tk, pinKey, 'AES-KW'));
    return this.sealBytes(deviceKey, wrapped, aad);
  }

  /**
   * Open a PIN's copy of TK. Resolves undefined when the PIN is wrong (AES-KW's integrity check
   * fails); throws when the record itself does not decrypt under DK (tampered or foreign record).
   */
  async openTokenKey(
    blob: SealedBlob, pinKey: CryptoKey, deviceKey: CryptoKey, aad: SealAad, extractable: boolean,
  ): Promise<CryptoKey | undefined> {
    const wrapped = await this.openBytes(deviceKey, blob, aad);
    try {
      return await this.#subtle.unwrapKey('raw', wrapped as BufferSource, pinKey, 'AES-KW',
        { name: 'AES-GCM', length: 256 }, extractable, TK_USAGES);
    } catch {
      return undefined;
    }
  }

  /** AES-GCM; `bound` is authenticated with the AAD but not stored in the blob. */
  async sealBytes(key: CryptoKey, data: Uint8Array, aad: SealAad, bound?: Uint8Array): Promise<SealedBlob> {
    const iv = this.randomBytes(12);
    const sealed = await this.#subtle.encrypt(
      { name: 'AES-GCM', iv: iv as BufferSource, additionalData: additionalData(aad, bound) as BufferSource }, key, data as BufferSource);
    return { iv, data: new Uint8Array(sealed) };
  }

  async openBytes(key: CryptoKey, blob: SealedBlob, aad: SealAad, bound?: Uint8Array): Promise<Uint8Array> {
    const plain = await this.#subtle.decrypt(
      { name: 'AES-GCM', iv: blob.iv as BufferSource, additionalData: additionalData(aad, bound) as BufferSource }, key, blob.data as BufferSource);
    return new Uint8Array(plain);
  }

  /** An authentication tag over `data` (AES-GCM with an empty plaintext: GMAC). */
  async tag(key: CryptoKey, data: Uint8Array, aad: SealAad): Promise<SealedBlob> {
    return this.sealBytes(key, new Uint8Array(), aad, data);
  }

  async checkTag(key: CryptoKey, tag: SealedBlob, data: Uint8Array, aad: SealAad): Promise<boolean> {
    try {
      await this.openBytes(key, tag, aad, data);
      return true;
    } catch {
      return false;
    }
  }

  async sealKey(key: CryptoKey, format: 'raw' | 'pkcs8' | 'spki', sealKey: CryptoKey, aad: SealAad): Promise<SealedBlob> {
    const iv = this.randomBytes(12);
    const wrapped = await this.#subtle.wrapKey(format, key, sealKey,
      { name: 'AES-GCM', iv: iv as BufferSource, additionalData: aadBytes(aad) as BufferSource });
    return { iv, data: new Uint8Array(wrapped) };
  }

  openKey(
    blob: SealedBlob, format: 'raw' | 'pkcs8' | 'spki', sealKey: CryptoKey, aad: SealAad,
    algorithm: AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams | HmacImportParams | AesKeyAlgorithm,
    extractable: boolean, usages: KeyUsage[],
  ): Promise<CryptoKey> {
    return this.#subtle.unwrapKey(format, blob.data as BufferSource, sealKey,
      { name: 'AES-GCM', iv: blob.iv as BufferSource, additionalData: aadBytes(aad) as BufferSource },
      algorithm, extractable, usages);
  }
}

// Attribute maps as bytes, for sealing. JSON with tagged values keeps it debuggable and versionable.
type Encoded = { b: boolean } | { n: number } | { s: string } | { x: string } | { a: [number, Encoded][] } | { m: number[] };

function encodeValue(value: AttributeValue): Encoded {
  if (typeof value === 'boolean') return { b: value };
  if (typeof value === 'number') return { n: value };
  if (typeof value === 'string') return { s: value };
  if (value instanceof Uint8Array) return { x: toBase64(value) };
  if (value.every((v) => typeof v === 'number')) return { m: value as number[] };
  return { a: (value as { type: number; value?: AttributeValue }[]).map((v) => [v.type, encodeValue(v.value ?? new Uint8Array())]) };
}

function decodeValue(encoded: Encoded): AttributeValue {
  if ('b' in encoded) return encoded.b;
  if ('n' in encoded) return encoded.n;
  if ('s' in encoded) return encoded.s;
  if ('x' in encoded) return fromBase64(encoded.x);
  if ('m' in encoded) return encoded.m;
  return encoded.a.map(([type, v]) => ({ type, value: decodeValue(v) }));
}

export function encodeAttributes(attributes: StoredAttributes): Uint8Array {
  return encoder.encode(JSON.stringify(attributes.map(([t, v]) => [t, encodeValue(v)])));
}

export function decodeAttributes(bytes: Uint8Array): StoredAttributes {
  const parsed = JSON.parse(decoder.decode(bytes)) as [number, Encoded][];
  return parsed.map(([t, v]) => [t, decodeValue(v)]);
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
