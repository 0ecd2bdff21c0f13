/**
 * Test-only scaffolding: KeyAccess views over raw test bytes (standing in for the engine's sealed
 * objects), the two WebCrypto implementations every provider is run against, and byte helpers.
 */
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto';
import { expect } from 'vitest';
import type { AttributeValue } from '@vhsm/pkcs11';
import { CKA_CLASS, CKA_VALUE_LEN, CKO_SECRET_KEY } from '@vhsm/pkcs11';
import type {
  AttributeReader,
  CipherOperation,
  ImportAlgorithm,
  KeyAccess,
  KeyRequest,
  MaterialFormat,
  NewKeyMaterial,
} from '../../../src/mechanisms/types.js';
import { CkrError } from '../../../src/errors.js';

export const implementations: readonly [string, Crypto][] = [
  ['node', globalThis.crypto],
  ['peculiar', new PeculiarCrypto() as unknown as Crypto],
];

export function hex(s: string): Uint8Array<ArrayBuffer> {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s);
}

export function reader(values: Record<number, AttributeValue> = {}): AttributeReader {
  const map = new Map<number, AttributeValue>(Object.entries(values).map(([k, v]) => [Number(k), v]));
  return { get: (t) => map.get(t), has: (t) => map.has(t) };
}

export function request(keyType: number, values: Record<number, AttributeValue> = {}): KeyRequest {
  return { keyType, attributes: reader(values) };
}

/** A key object whose material is `bytes` in `format`, unsealed on demand like the engine does. */
export function keyAccess(
  crypto: Crypto,
  bytes: Uint8Array,
  keyType: number,
  options: { objectClass?: number; format?: MaterialFormat; attributes?: Record<number, AttributeValue> } = {},
): KeyAccess & { requests: { algorithm: ImportAlgorithm; usages: KeyUsage[]; extractable: boolean }[] } {
  const format = options.format ?? 'raw';
  const objectClass = options.objectClass ?? CKO_SECRET_KEY;
  const attributes = reader({
    [CKA_CLASS]: objectClass,
    ...(format === 'raw' ? { [CKA_VALUE_LEN]: bytes.length } : {}),
    ...options.attributes,
  });
  const material = new Uint8Array(bytes);
  const requests: { algorithm: ImportAlgorithm; usages: KeyUsage[]; extractable: boolean }[] = [];
  const load = (algorithm: ImportAlgorithm, usages: KeyUsage[], extractable: boolean): Promise<CryptoKey> => {
    requests.push({ algorithm, usages, extractable });
    return crypto.subtle.importKey(format as 'raw', material, algorithm, extractable, usages);
  };
  return {
    keyType,
    objectClass,
    attributes,
    requests,
    cryptoKey: (algorithm, usages) => load(algorithm, usages, false),
    extractableCryptoKey: (algorithm, usages) => load(algorithm, usages, true),
  };
}

/** Test-only: read back the material a provider produced (the engine would seal it instead). */
export async function materialBytes(crypto: Crypto, material: NewKeyMaterial): Promise<Uint8Array> {
  expect(material.key.extractable).toBe(true);
  return new Uint8Array(await crypto.subtle.exportKey(material.format as 'raw', material.key));
}

export function attribute(material: NewKeyMaterial, type: number): unknown {
  return material.attributes.find((a) => a.type === type)?.value;
}

/** update() over each chunk then final(), concatenated. */
export async function run(op: CipherOperation, ...chunks: Uint8Array[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const c of chunks) parts.push(await op.update(c));
  parts.push(await op.final());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits `data` at the given offsets (for multi-part runs). */
export function split(data: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, data.length]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** The CK_RV a promise (or a synchronous call) fails with; anything but a CkrError fails the test. */
export async function rvOf(promise: Promise<unknown> | (() => unknown)): Promise<number> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    if (e instanceof CkrError) return e.code;
    throw e;
  }
  throw new Error('expected a rejection');
}
