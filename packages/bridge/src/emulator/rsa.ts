/**
 * RSA private-key operations on a block the card is given (PIV signs a block the host padded),
 * which WebCrypto cannot do. Emulator-only, not constant time: CRT over bigints with the key's
 * JWK components; the key itself is made by WebCrypto.
 */
import { bytesToBigint } from './p256.js';

export interface RsaCardKey {
  pair: CryptoKeyPair;
  modulus: Uint8Array<ArrayBuffer>;
  exponent: Uint8Array<ArrayBuffer>;
  private: { n: bigint; p: bigint; q: bigint; dp: bigint; dq: bigint; qi: bigint };
}

function b64(text: string | undefined): Uint8Array<ArrayBuffer> {
  const s = (text ?? '').replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(s + '='.repeat((4 - (s.length % 4)) % 4)), (ch) => ch.charCodeAt(0));
}

export async function newRsaKey(bits = 2048): Promise<RsaCardKey> {
  const pair = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' }, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const big = (v: string | undefined) => bytesToBigint(b64(v));
  return {
    pair, modulus: b64(jwk.n), exponent: b64(jwk.e),
    private: { n: big(jwk.n), p: big(jwk.p), q: big(jwk.q), dp: big(jwk.dp), dq: big(jwk.dq), qi: big(jwk.qi) },
  };
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** The raw private operation: block^d mod n, as many bytes as the modulus; undefined if block ≥ n. */
export function rsaPrivate(key: RsaCardKey, block: Uint8Array): Uint8Array | undefined {
  const { n, p, q, dp, dq, qi } = key.private;
  const c = bytesToBigint(block);
  if (c >= n) return undefined;
  const m1 = modPow(c, dp, p);
  const m2 = modPow(c, dq, q);
  const h = (qi * (((m1 - m2) % p) + p)) % p;
  const m = m2 + h * q;
  const size = key.modulus.length;
  return Uint8Array.from({ length: size }, (_, i) => Number((m >> BigInt((size - 1 - i) * 8)) & 0xffn));
}
