/**
 * RSA encodings a card leaves to the host (RFC 8017): PKCS#1 v1.5 signature blocks, EMSA-PSS,
 * and the decoding of PKCS#1 v1.5 and OAEP encryption blocks after the card's private operation.
 * Hashes on WebCrypto. Decoding failures are all one CK_RV, so they say nothing about the block.
 */
import {
  CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1,
  CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_INVALID, CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/pkcs11';
import { concat } from './bytes.js';
import { fail } from './errors.js';

export const HASH_OF_CKM = new Map<number, { name: string; length: number }>([
  [CKM_SHA_1, { name: 'SHA-1', length: 20 }], [CKM_SHA256, { name: 'SHA-256', length: 32 }],
  [CKM_SHA384, { name: 'SHA-384', length: 48 }], [CKM_SHA512, { name: 'SHA-512', length: 64 }],
]);
export const HASH_OF_MGF = new Map<number, string>([
  [CKG_MGF1_SHA1, 'SHA-1'], [CKG_MGF1_SHA256, 'SHA-256'], [CKG_MGF1_SHA384, 'SHA-384'], [CKG_MGF1_SHA512, 'SHA-512'],
]);

export async function digest(hash: string, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, data.slice()));
}

export async function mgf1(hash: string, seed: Uint8Array, length: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let have = 0;
  for (let counter = 0; have < length; counter++) {
    const block = await digest(hash, concat([seed, Uint8Array.of(counter >>> 24, (counter >> 16) & 0xff, (counter >> 8) & 0xff, counter & 0xff)]));
    parts.push(block);
    have += block.length;
  }
  return concat(parts).slice(0, length);
}

/** EMSA-PKCS1-v1_5 block of `size` bytes around a DigestInfo (or any payload of CKM_RSA_PKCS). */
export function pkcs1SignatureBlock(payload: Uint8Array, size: number): Uint8Array {
  if (payload.length > size - 11) throw fail(CKR_DATA_LEN_RANGE, `at most ${size - 11} bytes with this key`);
  const block = new Uint8Array(size).fill(0xff);
  block[0] = 0;
  block[1] = 1;
  block[size - payload.length - 1] = 0;
  block.set(payload, size - payload.length);
  return block;
}

/** EMSA-PSS encoding of a message hash for a modulus of `modBits` bits. */
export async function pssBlock(mHash: Uint8Array, hash: string, mgfHash: string, saltLength: number, modBits: number): Promise<Uint8Array> {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  if (saltLength < 0 || emLen < hLen + saltLength + 2) throw fail(CKR_MECHANISM_PARAM_INVALID, 'sLen: too long for this key');
  const salt = crypto.getRandomValues(new Uint8Array(saltLength));
  const h = await digest(hash, concat([new Uint8Array(8), mHash, salt]));
  const db = concat([new Uint8Array(emLen - saltLength - hLen - 2), Uint8Array.of(1), salt]);
  const mask = await mgf1(mgfHash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const em = concat([db, h, Uint8Array.of(0xbc)]);
  // A modulus of 8k+1 bits has one byte more than emLen: the block is padded in front.
  const size = Math.ceil(modBits / 8);
  return size > emLen ? concat([new Uint8Array(size - emLen), em]) : em;
}

/** The message of an RSAES-PKCS1-v1_5 block (00 02 PS 00 M, PS at least 8 non-zero bytes). */
export function pkcs1DecryptionMessage(em: Uint8Array): Uint8Array {
  const separator = em.indexOf(0, 2);
  if (em[0] !== 0 || em[1] !== 2 || separator < 10) throw fail(CKR_ENCRYPTED_DATA_INVALID, 'not a PKCS#1 v1.5 encryption block');
  return em.slice(separator + 1);
}

/** The message of an RSAES-OAEP block. */
export async function oaepMessage(em: Uint8Array, hash: string, hLen: number, mgfHash: string, label: Uint8Array): Promise<Uint8Array> {
  const invalid = () => fail(CKR_ENCRYPTED_DATA_INVALID, 'not an OAEP block for these parameters');
  if (em.length < 2 * hLen + 2 || em[0] !== 0) throw invalid();
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seedMask = await mgf1(mgfHash, maskedDb, hLen);
  const seed = maskedSeed.map((b, i) => b ^ (seedMask[i] as number));
  const dbMask = await mgf1(mgfHash, seed, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ (dbMask[i] as number));
  const lHash = await digest(hash, label);
  if (!lHash.every((b, i) => b === db[i])) throw invalid();
  let at = hLen;
  while (at < db.length && db[at] === 0) at++;
  if (db[at] !== 1) throw invalid();
  return db.slice(at + 1);
}
