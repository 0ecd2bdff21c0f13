/**
 * Every facade algorithm against the page's own crypto.subtle: byte-identical outputs where the
 * algorithm is deterministic, cross-verification where it is randomized.
 */
import type { VhsmCryptoKey, VhsmCryptoKeyPair, VhsmSubtle } from '@vhsm/client';

type Check = [name: string, run: (vhsm: VhsmSubtle, native: SubtleCrypto) => Promise<void>];

const data = new TextEncoder().encode('the quick brown fox jumps over the lazy dog');
const raw = crypto.getRandomValues(new Uint8Array(32));
const bytes = (b: ArrayBuffer) => new Uint8Array(b);

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error(`${what}: outputs differ`);
}

function truthy(value: boolean, what: string): void {
  if (!value) throw new Error(`${what}: false`);
}

const symmetric = (name: string, params: AesGcmParams | AesCbcParams | AesCtrParams): Check => [name, async (vhsm, native) => {
  const ours = await vhsm.importKey('raw', raw, name, false, ['encrypt', 'decrypt']);
  const theirs = await native.importKey('raw', raw, name, false, ['encrypt', 'decrypt']);
  const ct = bytes(await vhsm.encrypt(params, ours, data));
  same(ct, bytes(await native.encrypt(params, theirs, data)), `${name} encrypt`);
  same(bytes(await vhsm.decrypt(params, ours, ct)), data, `${name} decrypt`);
}];

const ecdsa = (namedCurve: string, hash: string): Check => [`ECDSA ${namedCurve} ${hash}`, async (vhsm, native) => {
  const pair = (await vhsm.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify'])) as VhsmCryptoKeyPair;
  const theirs = await native.importKey('spki', await vhsm.exportKey('spki', pair.publicKey), { name: 'ECDSA', namedCurve }, true, ['verify']);
  const signature = await vhsm.sign({ name: 'ECDSA', hash }, pair.privateKey, data);
  truthy(await native.verify({ name: 'ECDSA', hash }, theirs, signature, data), 'native verify');
  const other = await native.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
  const imported = await vhsm.importKey('spki', await native.exportKey('spki', other.publicKey), { name: 'ECDSA', namedCurve }, true, ['verify']);
  truthy(await vhsm.verify({ name: 'ECDSA', hash }, imported, await native.sign({ name: 'ECDSA', hash }, other.privateKey, data), data), 'facade verify');
}];

const rsa = { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

export const CHECKS: Check[] = [
  symmetric('AES-GCM', { name: 'AES-GCM', iv: new Uint8Array(12).fill(1), additionalData: new Uint8Array([9]) }),
  symmetric('AES-GCM', { name: 'AES-GCM', iv: new Uint8Array(12).fill(2), tagLength: 96 }),
  symmetric('AES-CBC', { name: 'AES-CBC', iv: new Uint8Array(16).fill(3) }),
  symmetric('AES-CTR', { name: 'AES-CTR', counter: new Uint8Array(16).fill(4), length: 64 }),
  ['AES-GCM 1 MiB (the facade transfers its own copy: the caller\'s buffer stays intact)', async (vhsm, native) => {
    const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
    const params = { name: 'AES-GCM', iv: new Uint8Array(12).fill(5) };
    const ours = await vhsm.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const theirs = await native.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    const ct = bytes(await vhsm.encrypt(params, ours, big));
    truthy(big.byteLength === 1 << 20 && big[1000] === 1000 % 256, 'input intact');
    same(ct, bytes(await native.encrypt(params, theirs, big)), 'encrypt');
    same(bytes(await vhsm.decrypt(params, ours, ct)), big, 'decrypt');
  }],
  ['AES-KW', async (vhsm, native) => {
    const kek = await vhsm.importKey('raw', raw, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const secret = crypto.getRandomValues(new Uint8Array(16));
    const wrapped = bytes(await vhsm.wrapKey('raw', await vhsm.importKey('raw', secret, 'AES-GCM', true, ['encrypt']), kek, 'AES-KW'));
    const nativeWrapped = await native.wrapKey('raw', await native.importKey('raw', secret, 'AES-GCM', true, ['encrypt']),
      await native.importKey('raw', raw, 'AES-KW', false, ['wrapKey']), 'AES-KW');
    same(wrapped, bytes(nativeWrapped), 'wrapKey');
    const back = await vhsm.unwrapKey('raw', wrapped, kek, 'AES-KW', 'AES-GCM', true, ['encrypt']);
    same(bytes(await vhsm.exportKey('raw', back)), secret, 'unwrapKey');
  }],
  ...['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'].map((hash): Check => [`HMAC ${hash}`, async (vhsm, native) => {
    const key = (await vhsm.generateKey({ name: 'HMAC', hash }, true, ['sign', 'verify'])) as VhsmCryptoKey;
    const theirs = await native.importKey('raw', await vhsm.exportKey('raw', key), { name: 'HMAC', hash }, false, ['sign']);
    const mac = bytes(await vhsm.sign('HMAC', key, data));
    same(mac, bytes(await native.sign('HMAC', theirs, data)), 'sign');
    truthy(await vhsm.verify('HMAC', key, mac, data), 'verify');
  }]),
  ...['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'].map((hash): Check => [hash, async (vhsm, native) => {
    same(bytes(await vhsm.digest(hash, data)), bytes(await native.digest(hash, data)), 'digest');
  }]),
  ecdsa('P-256', 'SHA-256'), ecdsa('P-384', 'SHA-384'), ecdsa('P-521', 'SHA-512'),
  ['Ed25519', async (vhsm, native) => {
    const other = (await native.generateKey('Ed25519', true, ['sign', 'verify'])) as CryptoKeyPair;
    const ours = await vhsm.importKey('pkcs8', await native.exportKey('pkcs8', other.privateKey), 'Ed25519', false, ['sign']);
    same(bytes(await vhsm.sign('Ed25519', ours, data)), bytes(await native.sign('Ed25519', other.privateKey, data)), 'sign');
  }],
  ['RSASSA-PKCS1-v1_5', async (vhsm, native) => {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', ...rsa };
    const pair = (await vhsm.generateKey(algorithm, true, ['sign', 'verify'])) as VhsmCryptoKeyPair;
    const theirs = await native.importKey('pkcs8', await vhsm.exportKey('pkcs8', pair.privateKey), algorithm, false, ['sign']);
    same(bytes(await vhsm.sign(algorithm, pair.privateKey, data)), bytes(await native.sign(algorithm, theirs, data)), 'sign');
  }],
  ['RSA-PSS', async (vhsm, native) => {
    const algorithm = { name: 'RSA-PSS', ...rsa };
    const pair = (await vhsm.generateKey(algorithm, false, ['sign', 'verify'])) as VhsmCryptoKeyPair;
    const theirs = await native.importKey('spki', await vhsm.exportKey('spki', pair.publicKey), algorithm, false, ['verify']);
    truthy(await native.verify({ name: 'RSA-PSS', saltLength: 32 }, theirs, await vhsm.sign({ name: 'RSA-PSS', saltLength: 32 }, pair.privateKey, data), data), 'native verify');
  }],
  ['RSA-OAEP', async (vhsm, native) => {
    const algorithm = { name: 'RSA-OAEP', ...rsa };
    const theirs = (await native.generateKey(algorithm, true, ['encrypt', 'decrypt'])) as CryptoKeyPair;
    const publicKey = await vhsm.importKey('spki', await native.exportKey('spki', theirs.publicKey), algorithm, true, ['encrypt']);
    const label = new Uint8Array([7]);
    same(bytes(await native.decrypt({ name: 'RSA-OAEP', label }, theirs.privateKey, await vhsm.encrypt({ name: 'RSA-OAEP', label }, publicKey, data))), data, 'native decrypt');
    const privateKey = await vhsm.importKey('pkcs8', await native.exportKey('pkcs8', theirs.privateKey), algorithm, false, ['decrypt']);
    same(bytes(await vhsm.decrypt('RSA-OAEP', privateKey, await native.encrypt('RSA-OAEP', theirs.publicKey, data))), data, 'facade decrypt');
  }],
  ...['P-256', 'P-384', 'P-521'].map((namedCurve): Check => [`ECDH ${namedCurve}`, async (vhsm, native) => {
    const ours = (await vhsm.generateKey({ name: 'ECDH', namedCurve }, false, ['deriveBits'])) as VhsmCryptoKeyPair;
    const theirs = (await native.generateKey({ name: 'ECDH', namedCurve }, true, ['deriveBits'])) as CryptoKeyPair;
    const peer = await vhsm.importKey('raw', await native.exportKey('raw', theirs.publicKey), { name: 'ECDH', namedCurve }, true, []);
    const ourPublic = await native.importKey('spki', await vhsm.exportKey('spki', ours.publicKey), { name: 'ECDH', namedCurve }, true, []);
    const bits = namedCurve === 'P-521' ? 528 : namedCurve === 'P-384' ? 384 : 256;
    same(bytes(await vhsm.deriveBits({ name: 'ECDH', public: peer }, ours.privateKey, bits)),
      bytes(await native.deriveBits({ name: 'ECDH', public: ourPublic }, theirs.privateKey, bits)), 'deriveBits');
  }]),
  ['HKDF', async (vhsm, native) => {
    const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array([1, 2, 3]), info: new Uint8Array([4]) };
    const ours = await vhsm.importKey('raw', raw, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const theirs = await native.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
    same(bytes(await vhsm.deriveBits(params, ours, 256)), bytes(await native.deriveBits(params, theirs, 256)), 'deriveBits');
    const aes = await vhsm.deriveKey(params, ours, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    same(bytes(await vhsm.exportKey('raw', aes)), bytes(await native.deriveBits(params, theirs, 128)), 'deriveKey');
  }],
  ...['SHA-1', 'SHA-256', 'SHA-512'].map((hash): Check => [`PBKDF2 ${hash}`, async (vhsm, native) => {
    const password = new TextEncoder().encode('correct horse battery staple');
    const params = { name: 'PBKDF2', hash, salt: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), iterations: 1000 };
    const ours = await vhsm.importKey('raw', password, 'PBKDF2', false, ['deriveBits', 'deriveKey']);
    const theirs = await native.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
    same(bytes(await vhsm.deriveBits(params, ours, 256)), bytes(await native.deriveBits(params, theirs, 256)), 'deriveBits');
    const aes = await vhsm.deriveKey(params, ours, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    same(bytes(await vhsm.exportKey('raw', aes)), bytes(await native.deriveBits(params, theirs, 128)), 'deriveKey');
  }]),
  ['getRandomValues', async (vhsm) => {
    const a = await vhsm.getRandomValues(new Uint8Array(32));
    truthy(a.some((b) => b !== 0), 'random');
  }],
];

export async function facadeChecks(vhsm: VhsmSubtle): Promise<{ name: string; error: string | null }[]> {
  const results: { name: string; error: string | null }[] = [];
  for (const [name, run] of CHECKS) {
    try {
      await run(vhsm, crypto.subtle);
      results.push({ name, error: null });
    } catch (e) {
      results.push({ name, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  return results;
}
