/** Known keys and published vectors for the asymmetric tests. */
import { createHash } from 'node:crypto';
import { unhex } from './fixture.js';

/**
 * An RSA-1024 key made once for this suite (never used for anything else), as PKCS#11 component
 * attributes in hex. Signatures with it are checked against an independent BigInt computation.
 */
export const RSA_1024 = {
  n: 'd112af8d89b6c44f9401d312dba08e5cb896f7b973256cd626e1a463c9ebfdbd5e0ca527b2dcbbd90b986729c1268c66f374d7c282cd17cbdc8b9ae90b52c11efffa29a22cfbf009d6a9d8323a6c3b25c5b5bae06e3dc2704b643537d5902b29f049a8d8d9bcc5f13bf21c3e42436eb20ba9af88e2a7f31ee1c3aa045bbfba85',
  e: '010001',
  d: '295de01c4a1e3e735c5e8c0bd426cd642d25b9b818bf53ec7f5eefeeca9a05e77cff55822852a25c4c7e08136be31bae97070c55b119b156a5b97d9a14a27811355e98926ec71a7f7509cb7f7e99aabe1812602c8c994bc8ba28e5c4aa761ffc715c4b36f8c9f12a23810697ab2a0a7ad8ca2ed456d4d2fdf4f78a547edb0af5',
  p: 'f86483b6ac9f782acd050c8ef2999a533bd471e8a04d5e4e58f4e46389d8fe6b2d4b4fd2a2406c0fb6a041a13cdeeae7e2b2206f4904a610a90c8b293f0f3c67',
  q: 'd779e434eaa4d19bf64a8ad15672dee5b64f99d08f9d81409190f0420a137b44f1b08810b32c7963649a71e7d474f79ee62877ee8c725ceecadbd0da56a47e33',
  dp: '80fa4062647451c377bdbd6da48f19d14a69dfd3f918f3751f3fda2fcd6e3d7d8d8163ab6dd0a1cbeefa7bd9ab6fdcee178a82c90653419fb907e862bc79bed5',
  dq: '70046804b26f18a0f1baf2cbbd1b5e9120e3e4dcadac7e032929a61d4ecbadebbb91c04a9e3ae2a82f26b34c88007eb256887740c636b5e556044c611565d24d',
  qi: '1e15c8331584dac56412bee152cb081c6a5f7a44bb40033071a9304f92875c7198e21f7be168ae0ff0a3330b1e13b6b6160d14fcd5e690ba9640fba5075795a0',
} as const;

export function rsaJwk(key: typeof RSA_1024, withPrivate: boolean): JsonWebKey {
  const b64 = (h: string): string => Buffer.from(h, 'hex').toString('base64url');
  const pub: JsonWebKey = { kty: 'RSA', n: b64(key.n), e: b64(key.e) };
  if (!withPrivate) return pub;
  return { ...pub, d: b64(key.d), p: b64(key.p), q: b64(key.q), dp: b64(key.dp), dq: b64(key.dq), qi: b64(key.qi) };
}

const DIGEST_INFO: Record<string, string> = {
  'SHA-1': '3021300906052b0e03021a05000414',
  'SHA-256': '3031300d060960864801650304020105000420',
  'SHA-384': '3041300d060960864801650304020205000430',
  'SHA-512': '3051300d060960864801650304020305000440',
};

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/** RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.1) computed from the textbook formula, independent of WebCrypto. */
export function textbookPkcs1Sign(key: typeof RSA_1024, hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512', message: Uint8Array): Uint8Array {
  const k = key.n.length / 2;
  const digest = createHash(hash.replace('-', '').toLowerCase()).update(message).digest('hex');
  const t = DIGEST_INFO[hash]! + digest;
  const em = `0001${'ff'.repeat(k - 3 - t.length / 2)}00${t}`;
  const s = modPow(BigInt(`0x${em}`), BigInt(`0x${key.d}`), BigInt(`0x${key.n}`));
  return unhex(s.toString(16).padStart(2 * k, '0'));
}

