/** The attacker's offline toolbox: plain WebCrypto on key values it knows. */

type Bytes = Uint8Array<ArrayBuffer>;

/** Copy into a fresh ArrayBuffer (WebCrypto wants BufferSource over ArrayBuffer, not views of shared ones). */
export function own(bytes: Uint8Array): Bytes {
  return new Uint8Array(bytes);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Any byte string travels through wrapKey/unwrapKey as a raw HMAC key.
const CARRIER: HmacImportParams = { name: 'HMAC', hash: 'SHA-256' };

/** RFC 3394 unwrap (CKM_AES_KEY_WRAP) of `blob` under the AES key `kek`; undefined if the check fails. */
export async function kwUnwrap(crypto: Crypto, kek: Uint8Array, blob: Uint8Array): Promise<Bytes | undefined> {
  if (blob.length < 24 || blob.length % 8 !== 0 || ![16, 24, 32].includes(kek.length)) return undefined;
  const k = await crypto.subtle.importKey('raw', own(kek), 'AES-KW', false, ['unwrapKey']);
  try {
    const key = await crypto.subtle.unwrapKey('raw', own(blob), k, 'AES-KW', CARRIER, true, ['sign']);
    return new Uint8Array(await crypto.subtle.exportKey('raw', key));
  } catch {
    return undefined;
  }
}

/** RFC 3394 wrap of `data` (a multiple of 8 bytes, at least 16) under `kek`. */
export async function kwWrap(crypto: Crypto, kek: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', own(kek), 'AES-KW', false, ['wrapKey']);
  const carrier = await crypto.subtle.importKey('raw', own(data), CARRIER, true, ['sign']);
  return new Uint8Array(await crypto.subtle.wrapKey('raw', carrier, k, 'AES-KW'));
}

/** PBKDF2-HMAC-SHA-256 of a password: the value CKM_PKCS5_PBKD2 gives a key of `bytes` bytes. */
export async function pbkdf2(crypto: Crypto, password: string, salt: Uint8Array, iterations: number, bytes: number): Promise<Bytes> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations }, base, bytes * 8));
}

export async function gcmEncrypt(crypto: Crypto, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await crypto.subtle.importKey('raw', own(key), 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: own(iv) }, k, own(data)));
}

/** AES-GCM decryption (ciphertext‖tag); undefined when the key or the tag is wrong. */
export async function gcmDecrypt(crypto: Crypto, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Bytes | undefined> {
  if (![16, 24, 32].includes(key.length)) return undefined;
  const k = await crypto.subtle.importKey('raw', own(key), 'AES-GCM', false, ['decrypt']);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: own(iv) }, k, own(data)));
  } catch {
    return undefined;
  }
}

/** AES-CBC with PKCS#7 padding (CKM_AES_CBC_PAD); undefined when the padding is wrong. */
export async function cbcPadDecrypt(crypto: Crypto, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Bytes | undefined> {
  if (![16, 24, 32].includes(key.length) || data.length === 0 || data.length % 16 !== 0) return undefined;
  const k = await crypto.subtle.importKey('raw', own(key), 'AES-CBC', false, ['decrypt']);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv: own(iv) }, k, own(data)));
  } catch {
    return undefined;
  }
}

/**
 * What any script of the origin can do with a public token object's stored key material: decrypt
 * it under the device key DK (a non-extractable CryptoKey it can use, not read) with the AAD the
 * engine binds to it (token id, "material:device", object id). Gives the raw key or PKCS#8 bytes; undefined if the blob does not open.
 */
export async function openDeviceSealed(
  crypto: Crypto, deviceKey: CryptoKey, tokenId: string, objectId: number, blob: { iv: Uint8Array; data: Uint8Array },
): Promise<Bytes | undefined> {
  const additionalData = new TextEncoder().encode(`vhsm/1|${tokenId}|material:device|${objectId}`);
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: own(blob.iv), additionalData }, deviceKey, own(blob.data)));
  } catch {
    return undefined;
  }
}

export const OAEP_SHA256: RsaHashedImportParams = { name: 'RSA-OAEP', hash: 'SHA-256' };

/** RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) encryption to a public key given as PKCS#11 attributes. */
export async function oaepEncrypt(crypto: Crypto, modulus: Uint8Array, exponent: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const jwk: JsonWebKey = { kty: 'RSA', n: base64url(stripZeros(modulus)), e: base64url(stripZeros(exponent)), ext: true };
  const key = await crypto.subtle.importKey('jwk', jwk, OAEP_SHA256, false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, key, own(data)));
}

export async function oaepDecrypt(crypto: Crypto, privateKey: CryptoKey, data: Uint8Array): Promise<Bytes | undefined> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, privateKey, own(data)));
  } catch {
    return undefined;
  }
}

/** A fresh RSA-OAEP pair of the attacker's, with its public half as CKA_MODULUS / CKA_PUBLIC_EXPONENT. */
export async function attackerRsaPair(crypto: Crypto, bits = 2048): Promise<{ privateKey: CryptoKey; modulus: Bytes; exponent: Bytes }> {
  const pair = await crypto.subtle.generateKey(
    { ...OAEP_SHA256, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['encrypt', 'decrypt'],
  );
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { privateKey: pair.privateKey, modulus: fromBase64url(jwk.n ?? ''), exponent: fromBase64url(jwk.e ?? '') };
}

function stripZeros(bytes: Uint8Array): Uint8Array {
  const first = bytes.findIndex((b) => b !== 0);
  return first <= 0 ? bytes : bytes.subarray(first);
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Bytes {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
