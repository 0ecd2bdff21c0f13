/**
 * Test-only stand-in for the engine: a KeyAccess over key bytes held in the clear, two WebCrypto
 * implementations to run every provider against, and hex helpers.
 */
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto';
import type { Attribute } from '@vhsm/pkcs11';
import { CkrError } from '../../../src/errors.js';
import type {
  AttributeReader,
  CipherOperation,
  SignOperation,
  VerifyOperation,
  ImportAlgorithm,
  KeyAccess,
  KeyRequest,
  MaterialFormat,
  NewKeyMaterial,
} from '../../../src/mechanisms/types.js';

export const implementations: readonly (readonly [string, Crypto])[] = [
  ['node', globalThis.crypto],
  ['peculiar', new PeculiarCrypto() as unknown as Crypto],
];

export const node = globalThis.crypto;
export const peculiar = implementations[1]![1];

export function hex(bytes: Uint8Array | ArrayBuffer): string {
  return Buffer.from(bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes).toString('hex');
}

export function unhex(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function reader(attributes: readonly Attribute[]): AttributeReader {
  const map = new Map(attributes.map((a) => [a.type, a.value]));
  return { get: (type) => map.get(type), has: (type) => map.has(type) };
}

export function request(keyType: number, attributes: readonly Attribute[] = []): KeyRequest {
  return { keyType, attributes: reader(attributes) };
}

/** A key object as the engine would present it, over material held in the clear (tests only). */
export function keyFromBytes(
  crypto: Crypto,
  format: MaterialFormat,
  bytes: Uint8Array,
  objectClass: number,
  keyType: number,
  attributes: readonly Attribute[],
): KeyAccess & { readonly material: Uint8Array } {
  const material = new Uint8Array(bytes);
  const load = (algorithm: ImportAlgorithm, usages: KeyUsage[], extractable: boolean): Promise<CryptoKey> =>
    crypto.subtle.importKey(format, material, algorithm, extractable, usages);
  return {
    keyType,
    objectClass,
    attributes: reader(attributes),
    material,
    cryptoKey: (algorithm, usages) => load(algorithm, usages, false),
    extractableCryptoKey: (algorithm, usages) => load(algorithm, usages, true),
  };
}

/**
 * What the engine does with NewKeyMaterial (seal it), done in the clear: export it in its format
 * with `from`, and serve it to providers running on `to`. Checks what the engine relies on: the
 * key is extractable.
 */
export async function keyFromMaterial(
  from: Crypto,
  to: Crypto,
  material: NewKeyMaterial,
  objectClass: number,
  keyType: number,
  extra: readonly Attribute[] = [],
): Promise<KeyAccess & { readonly material: Uint8Array }> {
  if (!material.key.extractable) throw new Error('material must be extractable for sealing');
  const bytes = new Uint8Array(await from.subtle.exportKey(material.format, material.key));
  return keyFromBytes(to, material.format, bytes, objectClass, keyType, [...material.attributes, ...extra]);
}

/** Feeds `parts` through a sign operation. */
export async function sign(op: SignOperation, ...parts: Uint8Array[]): Promise<Uint8Array> {
  for (const p of parts) await op.update(p);
  return op.final();
}

export async function verify(op: VerifyOperation, signature: Uint8Array, ...parts: Uint8Array[]): Promise<boolean> {
  for (const p of parts) await op.update(p);
  return op.final(signature);
}

/** Feeds `parts` through a cipher operation and joins every output. */
export async function cipher(op: CipherOperation, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for (const p of parts) out.push(await op.update(p));
  out.push(await op.final());
  return new Uint8Array(Buffer.concat(out));
}

/** Asserts a CkrError with `code` (sync or async). */
export async function expectCkr(action: () => unknown, code: number): Promise<CkrError> {
  let caught: unknown;
  try {
    await action();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof CkrError)) throw new Error(`expected CkrError ${code.toString(16)}, got ${String(caught)}`);
  if (caught.code !== code) {
    throw new Error(`expected CK_RV 0x${code.toString(16)}, got 0x${caught.code.toString(16)} (${caught.message})`);
  }
  return caught;
}

export function attr(attributes: readonly Attribute[], type: number): Attribute['value'] {
  return attributes.find((a) => a.type === type)?.value;
}
