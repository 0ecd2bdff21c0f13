import {
  CKA_KEY_TYPE,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PUBLIC_EXPONENT,
  CKG_MGF1_SHA1,
  CKG_MGF1_SHA256,
  CKK_RSA,
  CKM_SHA1_RSA_PKCS,
  CKM_SHA1_RSA_PKCS_PSS,
  CKM_SHA256,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384_RSA_PKCS,
  CKM_SHA384_RSA_PKCS_PSS,
  CKM_SHA512,
  CKM_SHA512_RSA_PKCS,
  CKM_SHA512_RSA_PKCS_PSS,
  CKM_SHA_1,
  CKM_SHA384,
  CKG_MGF1_SHA384,
  CKG_MGF1_SHA512,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { rsaKeyPairGen, rsaPssProviders, rsaSignProviders } from '../../../src/mechanisms/asymmetric/rsa.js';
import type { KeyAccess, MechanismProvider } from '../../../src/mechanisms/types.js';
import {
  attr,
  expectCkr,
  hex,
  implementations,
  keyFromBytes,
  keyFromMaterial,
  node,
  request,
  sign,
  unhex,
  utf8,
  verify,
} from './fixture.js';
import { RSA_1024, rsaJwk, textbookPkcs1Sign } from './vectors.js';

const PKCS = [
  [CKM_SHA1_RSA_PKCS, 'SHA-1'],
  [CKM_SHA256_RSA_PKCS, 'SHA-256'],
  [CKM_SHA384_RSA_PKCS, 'SHA-384'],
  [CKM_SHA512_RSA_PKCS, 'SHA-512'],
] as const;
const PSS = [
  [CKM_SHA1_RSA_PKCS_PSS, CKM_SHA_1, CKG_MGF1_SHA1, 20],
  [CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32],
  [CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, 48],
  [CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, 64],
] as const;

function provider<P>(list: MechanismProvider<P>[], mechanism: number): MechanismProvider<P> {
  const found = list.find((p) => p.mechanism === mechanism);
  if (found === undefined) throw new Error(`no provider ${mechanism}`);
  return found;
}

const componentAttributes = [
  { type: CKA_MODULUS, value: unhex(RSA_1024.n) },
  { type: CKA_PUBLIC_EXPONENT, value: unhex(RSA_1024.e) },
];

/** The known key as the engine would hold it (PKCS#8 / SPKI material), served through `crypto`. */
async function knownKey(crypto: Crypto): Promise<{ priv: KeyAccess; pub: KeyAccess }> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const priv = await node.subtle.importKey('jwk', rsaJwk(RSA_1024, true), alg, true, ['sign']);
  const pub = await node.subtle.importKey('jwk', rsaJwk(RSA_1024, false), alg, true, ['verify']);
  return {
    priv: keyFromBytes(crypto, 'pkcs8', new Uint8Array(await node.subtle.exportKey('pkcs8', priv)), CKO_PRIVATE_KEY, CKK_RSA, componentAttributes),
    pub: keyFromBytes(crypto, 'spki', new Uint8Array(await node.subtle.exportKey('spki', pub)), CKO_PUBLIC_KEY, CKK_RSA, componentAttributes),
  };
}

function genRequest(bits: unknown, exponent?: unknown) {
  const attributes = [{ type: CKA_MODULUS_BITS, value: bits as number }];
  if (exponent !== undefined) attributes.push({ type: CKA_PUBLIC_EXPONENT, value: exponent as number });
  return request(CKK_RSA, attributes);
}

/** A crypto whose exportKey records the type of every key it exports. */
function exportSpy(crypto: Crypto): { crypto: Crypto; exported: string[] } {
  const exported: string[] = [];
  const subtle = new Proxy(crypto.subtle, {
    get(target, prop) {
      if (prop === 'exportKey') {
        return (format: KeyFormat, key: CryptoKey) => {
          exported.push(`${key.type}:${format}`);
          return target.exportKey(format, key);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { crypto: { subtle, getRandomValues: crypto.getRandomValues.bind(crypto), randomUUID: crypto.randomUUID.bind(crypto) } as Crypto, exported };
}

describe('CKM_RSA_PKCS_KEY_PAIR_GEN', () => {
  for (const [name, crypto] of implementations) {
    test(`${name}: 1024-bit pair with computed attributes, read from the public key only`, async () => {
      const spy = exportSpy(crypto);
      const pair = await rsaKeyPairGen.generateKeyPair!(genRequest(1024), request(CKK_RSA), undefined, spy.crypto);
      expect(spy.exported).toEqual(['public:jwk']);
      expect(pair.publicKey.format).toBe('spki');
      expect(pair.privateKey.format).toBe('pkcs8');
      expect(pair.publicKey.key.extractable && pair.privateKey.key.extractable).toBe(true);
      const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey.key);
      const n = attr(pair.publicKey.attributes, CKA_MODULUS) as Uint8Array;
      expect(n.length).toBe(128);
      expect(Buffer.from(n).toString('base64url')).toBe(jwk.n);
      expect(hex(attr(pair.publicKey.attributes, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('010001');
      expect(attr(pair.publicKey.attributes, CKA_MODULUS_BITS)).toBe(1024);
      expect(attr(pair.publicKey.attributes, CKA_KEY_TYPE)).toBe(CKK_RSA);
      expect(attr(pair.privateKey.attributes, CKA_MODULUS)).toEqual(n);
      expect(hex(attr(pair.privateKey.attributes, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('010001');
      // The pair works: sign with the private half, verify with the public half.
      const p = provider(rsaSignProviders, CKM_SHA256_RSA_PKCS);
      const priv = await keyFromMaterial(crypto, crypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_RSA);
      const pub = await keyFromMaterial(crypto, crypto, pair.publicKey, CKO_PUBLIC_KEY, CKK_RSA);
      const signature = await sign(await p.sign!(priv, undefined, crypto), utf8('hello'));
      expect(await verify(await p.verify!(pub, undefined, crypto), signature, utf8('hello'))).toBe(true);
    });
  }

  test("an exponent with leading zeros generates e = 65537 and keeps the caller's encoding; exponent 3 where the runtime allows", async () => {
    const pair = await rsaKeyPairGen.generateKeyPair!(genRequest(512, unhex('00010001')), request(CKK_RSA), undefined, node);
    // The engine refuses computed values that differ from the template byte for byte.
    expect(hex(attr(pair.publicKey.attributes, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('00010001');
    expect(hex(attr(pair.privateKey.attributes, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('010001');
    const jwk = await node.subtle.exportKey('jwk', pair.publicKey.key);
    expect(jwk.e).toBe('AQAB');
    const three = await rsaKeyPairGen.generateKeyPair!(genRequest(512, unhex('03')), request(CKK_RSA), undefined, node);
    expect(hex(attr(three.publicKey.attributes, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('03');
  });

  test('template errors', async () => {
    const gen = (pub: ReturnType<typeof request>) => rsaKeyPairGen.generateKeyPair!(pub, request(CKK_RSA), undefined, node);
    await expectCkr(() => gen(request(CKK_RSA)), CKR_TEMPLATE_INCOMPLETE);
    await expectCkr(() => gen(genRequest('1024')), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => gen(genRequest(256)), CKR_KEY_SIZE_RANGE);
    await expectCkr(() => gen(genRequest(16392)), CKR_KEY_SIZE_RANGE);
    await expectCkr(() => gen(genRequest(1028)), CKR_KEY_SIZE_RANGE);
    await expectCkr(() => gen(genRequest(1024, 65537)), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => gen(genRequest(1024, new Uint8Array())), CKR_ATTRIBUTE_VALUE_INVALID);
    // Wider than 32 bits: no WebCrypto takes it.
    await expectCkr(() => gen(genRequest(1024, unhex('0100000001'))), CKR_TEMPLATE_INCONSISTENT);
  });

  test('an exponent the runtime refuses is CKR_TEMPLATE_INCONSISTENT (@peculiar/webcrypto takes only 3 and 65537)', async () => {
    await expectCkr(
      () => rsaKeyPairGen.generateKeyPair!(genRequest(1024, unhex('11')), request(CKK_RSA), undefined, implementations[1]![1]),
      CKR_TEMPLATE_INCONSISTENT,
    );
  });
});

describe('CKM_SHAx_RSA_PKCS', () => {
  const message = utf8('PKCS#1 v1.5 is deterministic');
  for (const [mechanism, hash] of PKCS) {
    test(`${hash}: the known key signs exactly the textbook RSASSA-PKCS1-v1_5 value in both implementations`, async () => {
      const expected = hex(textbookPkcs1Sign(RSA_1024, hash, message));
      const p = provider(rsaSignProviders, mechanism);
      for (const [, crypto] of implementations) {
        const { priv } = await knownKey(crypto);
        const signature = await sign(await p.sign!(priv, undefined, crypto), message.subarray(0, 7), message.subarray(7));
        expect(hex(signature)).toBe(expected);
        for (const [, verifyCrypto] of implementations) {
          const { pub } = await knownKey(verifyCrypto);
          expect(await verify(await p.verify!(pub, undefined, verifyCrypto), signature, message)).toBe(true);
          expect(await verify(await p.verify!(pub, undefined, verifyCrypto), signature, utf8('other'))).toBe(false);
          expect(await verify(await p.verify!(pub, undefined, verifyCrypto), signature.subarray(1), message)).toBe(false);
          const big = new Uint8Array(128).fill(0xff);
          expect(await verify(await p.verify!(pub, undefined, verifyCrypto), big, message)).toBe(false);
        }
      }
    });
  }

  test('key classes and parameters', async () => {
    const { priv, pub } = await knownKey(node);
    const p = provider(rsaSignProviders, CKM_SHA256_RSA_PKCS);
    await expectCkr(() => p.sign!(pub, undefined, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => p.verify!(priv, undefined, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => p.check({ hashAlg: CKM_SHA256 }), CKR_MECHANISM_PARAM_INVALID);
    expect(p.keyTypes).toEqual([CKK_RSA]);
  });
});

describe('CKM_SHAx_RSA_PKCS_PSS', () => {
  const message = utf8('probabilistic signature scheme');
  for (const [mechanism, hashAlg, mgf, hLen] of PSS) {
    test(`mechanism 0x${mechanism.toString(16)}: salt 0 is deterministic and equal across implementations; a salted one cross-verifies`, async () => {
      const p = provider(rsaPssProviders, mechanism);
      const unsalted = p.check({ hashAlg, mgf, saltLen: 0 });
      const salted = p.check({ hashAlg, mgf, saltLen: Math.min(hLen, 128 - hLen - 2) });
      const outputs: string[] = [];
      for (const [, crypto] of implementations) {
        const { priv } = await knownKey(crypto);
        outputs.push(hex(await sign(await p.sign!(priv, unsalted, crypto), message)));
        const signature = await sign(await p.sign!(priv, salted, crypto), message.subarray(0, 5), message.subarray(5));
        for (const [, verifyCrypto] of implementations) {
          const { pub } = await knownKey(verifyCrypto);
          expect(await verify(await p.verify!(pub, salted, verifyCrypto), signature, message)).toBe(true);
          expect(await verify(await p.verify!(pub, unsalted, verifyCrypto), signature, message)).toBe(false);
          expect(await verify(await p.verify!(pub, salted, verifyCrypto), signature, utf8('other'))).toBe(false);
        }
      }
      expect(outputs[0]).toBe(outputs[1]);
      expect(outputs[0]).toHaveLength(256);
      // A PKCS#1 v1.5 verifier rejects it: different encoding.
      const { pub } = await knownKey(node);
      const pkcs = provider(rsaSignProviders, PKCS.find(([, h]) => hLen === { 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 }[h])![0]);
      expect(await verify(await pkcs.verify!(pub, undefined, node), unhex(outputs[0]!), message)).toBe(false);
    });
  }

  test('hashAlg and mgf must match the mechanism; saltLen is a CK_ULONG', async () => {
    const p = provider(rsaPssProviders, CKM_SHA256_RSA_PKCS_PSS);
    await expectCkr(() => p.check(undefined), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.check(unhex('00')), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.check({ hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA256, saltLen: 32 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA1, saltLen: 32 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: -1 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 }), CKR_MECHANISM_PARAM_INVALID);
    expect(p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 7 })).toEqual({ saltLength: 7 });
  });

  test('a salt too long for the key is refused at init', async () => {
    const { priv, pub } = await knownKey(node);
    const p = provider(rsaPssProviders, CKM_SHA256_RSA_PKCS_PSS);
    // 1024-bit key: emLen 128 - 32 - 2 = 94 at most.
    const ok = p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 94 });
    const signature = await sign(await p.sign!(priv, ok, node), message);
    expect(await verify(await p.verify!(pub, ok, node), signature, message)).toBe(true);
    const tooLong = p.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 95 });
    await expectCkr(() => p.sign!(priv, tooLong, node), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => p.verify!(pub, tooLong, node), CKR_MECHANISM_PARAM_INVALID);
  });

  test('SHA-512 PSS does not fit a 512-bit key', async () => {
    const pair = await rsaKeyPairGen.generateKeyPair!(genRequest(512), request(CKK_RSA), undefined, node);
    const priv = await keyFromMaterial(node, node, pair.privateKey, CKO_PRIVATE_KEY, CKK_RSA);
    const p = provider(rsaPssProviders, CKM_SHA512_RSA_PKCS_PSS);
    await expectCkr(() => p.sign!(priv, p.check({ hashAlg: CKM_SHA512, mgf: CKG_MGF1_SHA512, saltLen: 0 }), node), CKR_KEY_SIZE_RANGE);
  });
});
