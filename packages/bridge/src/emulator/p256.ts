/**
 * ECDSA over P-256 on a digest the card is given, which WebCrypto cannot do (it always hashes).
 * Emulator-only and not constant time: it stands in for a card's chip in tests, never for a key
 * anybody relies on. Affine arithmetic over bigints, random k.
 */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

interface Point {
  x: bigint;
  y: bigint;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(p: Point | undefined, q: Point | undefined): Point | undefined {
  if (!p) return q;
  if (!q) return p;
  let lambda: bigint;
  if (p.x === q.x) {
    if (mod(p.y + q.y, P) === 0n) return undefined;
    lambda = mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P);
  } else {
    lambda = mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  }
  const x = mod(lambda * lambda - p.x - q.x, P);
  return { x, y: mod(lambda * (p.x - x) - p.y, P) };
}

function multiply(k: bigint, point: Point): Point | undefined {
  let result: Point | undefined;
  let addend: Point | undefined = point;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function randomScalar(): bigint {
  for (;;) {
    const k = bytesToBigint(crypto.getRandomValues(new Uint8Array(32)));
    if (k > 0n && k < N) return k;
  }
}

/** Sign a digest (leftmost 256 bits used) with private scalar d; returns r and s. */
export function signDigest(d: bigint, digest: Uint8Array): { r: bigint; s: bigint } {
  let e = bytesToBigint(digest.subarray(0, 32));
  if (digest.length < 32) e <<= BigInt((32 - digest.length) * 8);
  e = mod(e, N);
  for (;;) {
    const k = randomScalar();
    const point = multiply(k, G);
    if (!point) continue;
    const r = mod(point.x, N);
    if (r === 0n) continue;
    const s = mod(inverse(k, N) * (e + r * d), N);
    if (s !== 0n) return { r, s };
  }
}

export function scalarBytes(n: bigint): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt((31 - i) * 8)) & 0xffn));
}

export interface P256Key {
  pair: CryptoKeyPair;
  /** The private scalar, for digest signing; it never leaves the emulated chip. */
  d: bigint;
  /** Uncompressed public point. */
  point: Uint8Array<ArrayBuffer>;
}

/** A key made by WebCrypto, with the scalar kept for signing digests. */
export async function newP256Key(): Promise<P256Key> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const b64 = (jwk.d ?? '').replace(/-/g, '+').replace(/_/g, '/');
  const d = bytesToBigint(Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0)));
  const point = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { pair, d, point };
}
