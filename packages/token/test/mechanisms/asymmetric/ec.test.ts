import {
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_KEY_TYPE,
  CKK_EC,
  CKM_ECDSA_SHA1,
  CKM_ECDSA_SHA256,
  CKM_ECDSA_SHA384,
  CKM_ECDSA_SHA512,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_CURVE_NOT_SUPPORTED,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { P256, P384, P521, encodeEcParams } from '../../../src/mechanisms/asymmetric/curves.js';
import { oid } from '../../../src/mechanisms/asymmetric/der.js';
import { ecKeyPairGen, ecdsaProviders } from '../../../src/mechanisms/asymmetric/ec.js';
import type { KeyAccess, MechanismProvider } from '../../../src/mechanisms/types.js';
import {
  attr,
  expectCkr,
  hex,
  implementations,
  keyFromBytes,
  keyFromMaterial,
  request,
  sign,
  unhex,
  utf8,
  verify,
} from './fixture.js';

const provider = (mechanism: number): MechanismProvider<undefined> => {
  const found = ecdsaProviders.find((p) => p.mechanism === mechanism);
  if (found === undefined) throw new Error(`no provider ${mechanism}`);
  return found;
};

async function generate(crypto: Crypto, curveParams: Uint8Array) {
  return ecKeyPairGen.generateKeyPair!(
    request(CKK_EC, [{ type: CKA_EC_PARAMS, value: curveParams }]),
    request(CKK_EC),
    undefined,
    crypto,
  );
}

function publicPoint(crypto: Crypto, x: string, y: string): KeyAccess {
  return keyFromBytes(crypto, 'raw', unhex(`04${x}${y}`), CKO_PUBLIC_KEY, CKK_EC, [
    { type: CKA_EC_PARAMS, value: encodeEcParams(P256) },
  ]);
}

describe('CKM_EC_KEY_PAIR_GEN', () => {
  for (const [name, crypto] of implementations) {
    for (const curve of [P256, P384, P521]) {
      test(`${name}: ${curve.name} gives PKCS#11 attributes and sealable material`, async () => {
        const pair = await generate(crypto, encodeEcParams(curve));
        expect(pair.publicKey.format).toBe('spki');
        expect(pair.privateKey.format).toBe('pkcs8');
        expect(pair.publicKey.key.extractable).toBe(true);
        expect(pair.privateKey.key.extractable).toBe(true);
        expect(attr(pair.publicKey.attributes, CKA_KEY_TYPE)).toBe(CKK_EC);
        expect(attr(pair.publicKey.attributes, CKA_EC_PARAMS)).toEqual(oid(curve.oid));
        expect(attr(pair.privateKey.attributes, CKA_EC_PARAMS)).toEqual(oid(curve.oid));
        const point = attr(pair.publicKey.attributes, CKA_EC_POINT) as Uint8Array;
        // DER OCTET STRING of the uncompressed point: 04 <len> 04 X Y.
        const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey.key));
        const header = curve.pointLength < 128 ? `04${curve.pointLength.toString(16)}` : `0481${curve.pointLength.toString(16)}`;
        expect(hex(point)).toBe(header + hex(raw));
        expect(raw[0]).toBe(4);
        expect(attr(pair.privateKey.attributes, CKA_EC_POINT)).toBeUndefined();
      });
    }
  }

  test('CKA_EC_PARAMS is required in the public template', async () => {
    await expectCkr(
      () => ecKeyPairGen.generateKeyPair!(request(CKK_EC), request(CKK_EC), undefined, globalThis.crypto),
      CKR_TEMPLATE_INCOMPLETE,
    );
  });

  test('an unknown curve (secp256k1) is CKR_CURVE_NOT_SUPPORTED, broken DER is CKR_ATTRIBUTE_VALUE_INVALID', async () => {
    await expectCkr(() => generate(globalThis.crypto, oid('1.3.132.0.10')), CKR_CURVE_NOT_SUPPORTED);
    await expectCkr(() => generate(globalThis.crypto, unhex('06082a8648ce3d0301')), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => generate(globalThis.crypto, unhex('06082a8648ce3d03010700')), CKR_ATTRIBUTE_VALUE_INVALID);
    // The Edwards curve is not a CKK_EC curve.
    await expectCkr(() => generate(globalThis.crypto, oid('1.3.101.112')), CKR_CURVE_NOT_SUPPORTED);
  });

  test('a private template naming another curve is inconsistent', async () => {
    await expectCkr(
      () =>
        ecKeyPairGen.generateKeyPair!(
          request(CKK_EC, [{ type: CKA_EC_PARAMS, value: encodeEcParams(P256) }]),
          request(CKK_EC, [{ type: CKA_EC_PARAMS, value: encodeEcParams(P384) }]),
          undefined,
          globalThis.crypto,
        ),
      CKR_TEMPLATE_INCONSISTENT,
    );
  });

  test('takes no parameter', async () => {
    expect(ecKeyPairGen.check(undefined)).toBeUndefined();
    expect(ecKeyPairGen.check(new Uint8Array())).toBeUndefined();
    await expectCkr(() => ecKeyPairGen.check({}), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('CKM_ECDSA_SHAx known answers', () => {
  // NIST CSRC example "ECDSA with P-256" (P256_SHA256.pdf).
  test('NIST P-256 SHA-256 example verifies; a changed message does not', async () => {
    const key = (crypto: Crypto): KeyAccess => publicPoint(
      crypto,
      'B7E08AFDFE94BAD3F1DC8C734798BA1C62B3A0AD1E9EA2A38201CD0889BC7A19',
      '3603F747959DBF7A4BB226E41928729063ADC7AE43529E61B563BBC606CC5E09',
    );
    const signature = unhex(
      '2B42F576D07F4165FF65D1F3B1500F81E44C316F1F0B3EF57325B69ACA46104F' +
        'DC42C2122D6392CD3E3A993A89502A8198C1886FE69D262C4B329BDB6B63FAF1',
    );
    for (const [, crypto] of implementations) {
      const p = provider(CKM_ECDSA_SHA256);
      expect(await verify(await p.verify!(key(crypto), undefined, crypto), signature, utf8('Example of ECDSA with P-256'))).toBe(true);
      expect(await verify(await p.verify!(key(crypto), undefined, crypto), signature, utf8('Example of ECDSA with P-257'))).toBe(false);
    }
  });

  // RFC 6979 A.2.5: P-256, message "sample", each hash.
  const rfc6979 = (crypto: Crypto): KeyAccess => publicPoint(
    crypto,
    '60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6',
    '7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
  );
  test.each([
    [CKM_ECDSA_SHA1, '61340C88C3AAEBEB4F6D667F672CA9759A6CCAA9FA8811313039EE4A35471D32', '6D7F147DAC089441BB2E2FE8F7A3FA264B9C475098FDCF6E00D7C996E1B8B7EB'],
    [CKM_ECDSA_SHA256, 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716', 'F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8'],
    [CKM_ECDSA_SHA384, '0EAFEA039B20E9B42309FB1D89E213057CBF973DC0CFC8F129EDDDC800EF7719', '4861F0491E6998B9455193E34E7B0D284DDD7149A74B95B9261F13ABDE940954'],
    [CKM_ECDSA_SHA512, '8496A60B5E9B47C825488827E0495B0E3FA109EC4568FD3F8D1097678EB97F00', '2362AB1ADBE2B8ADF9CB9EDAB740EA6049C028114F2460F96554F61FAE3302FE'],
  ])('RFC 6979 mechanism 0x%s', async (mechanism, r, s) => {
    for (const [, crypto] of implementations) {
      const p = provider(mechanism);
      const signature = unhex(r + s);
      // Multi-part: "sample" in two pieces.
      expect(await verify(await p.verify!(rfc6979(crypto), undefined, crypto), signature, utf8('sam'), utf8('ple'))).toBe(true);
      // Each hash only accepts its own signature: the SHA-1 one fails under SHA-512 and vice versa.
      const other = provider(mechanism === CKM_ECDSA_SHA1 ? CKM_ECDSA_SHA512 : CKM_ECDSA_SHA1);
      expect(await verify(await other.verify!(rfc6979(crypto), undefined, crypto), signature, utf8('sample'))).toBe(false);
    }
  });
});

describe('CKM_ECDSA_SHAx malformed signatures (Wycheproof-style edge cases)', () => {
  const n = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'; // P-256 order
  const r = 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716';
  const s = 'F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8';
  // s' = n - s verifies too in plain ECDSA (no low-s rule in X9.62/PKCS#11), so it must pass.
  const negS = (BigInt(`0x${n}`) - BigInt(`0x${s}`)).toString(16).padStart(64, '0');
  test.each([
    ['r = 0, s = 0', '00'.repeat(64), false],
    ['r = 0', '00'.repeat(32) + s, false],
    ['s = 0', r + '00'.repeat(32), false],
    ['r = n', n + s, false],
    ['s = n', r + n, false],
    ['(r + n) mod 2^256', (BigInt(`0x${r}`) + BigInt(`0x${n}`)).toString(16).slice(-64) + s, false],
    ['all ones', 'ff'.repeat(64), false],
    ['DER instead of r||s', '3044' + '0220' + r + '0220' + s, false],
    ['n - s', r + negS, true],
  ])('%s → %s', async (_name, signature, expected) => {
    for (const [, crypto] of implementations) {
      const key = keyFromBytes(
        crypto,
        'raw',
        unhex(
          '0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
        ),
        CKO_PUBLIC_KEY,
        CKK_EC,
        [{ type: CKA_EC_PARAMS, value: encodeEcParams(P256) }],
      );
      const p = provider(CKM_ECDSA_SHA256);
      expect(await verify(await p.verify!(key, undefined, crypto), unhex(signature), utf8('sample'))).toBe(expected);
    }
  });
});

describe('CKM_ECDSA_SHAx sign and verify', () => {
  for (const [genName, genCrypto] of implementations) {
    for (const curve of [P256, P384, P521]) {
      test(`${genName} key on ${curve.name}: signatures are r||s and cross-verify in both implementations`, async () => {
        const pair = await generate(genCrypto, encodeEcParams(curve));
        for (const [, signCrypto] of implementations) {
          const priv = await keyFromMaterial(genCrypto, signCrypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_EC);
          for (const mechanism of [CKM_ECDSA_SHA1, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512]) {
            const p = provider(mechanism);
            const data = utf8(`message for ${mechanism}`);
            const signature = await sign(await p.sign!(priv, undefined, signCrypto), data.subarray(0, 3), data.subarray(3));
            expect(signature.length).toBe(2 * curve.size);
            for (const [, verifyCrypto] of implementations) {
              const pub = await keyFromMaterial(genCrypto, verifyCrypto, pair.publicKey, CKO_PUBLIC_KEY, CKK_EC);
              expect(await verify(await p.verify!(pub, undefined, verifyCrypto), signature, data)).toBe(true);
              const tampered = new Uint8Array(signature);
              tampered[5]! ^= 1;
              expect(await verify(await p.verify!(pub, undefined, verifyCrypto), tampered, data)).toBe(false);
              expect(await verify(await p.verify!(pub, undefined, verifyCrypto), signature.subarray(1), data)).toBe(false);
              expect(await verify(await p.verify!(pub, undefined, verifyCrypto), new Uint8Array(), data)).toBe(false);
            }
          }
        }
      });
    }
  }

  test('multi-part updates copy their data (callers may reuse buffers)', async () => {
    const pair = await generate(globalThis.crypto, encodeEcParams(P256));
    const priv = await keyFromMaterial(globalThis.crypto, globalThis.crypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_EC);
    const pub = await keyFromMaterial(globalThis.crypto, globalThis.crypto, pair.publicKey, CKO_PUBLIC_KEY, CKK_EC);
    const p = provider(CKM_ECDSA_SHA256);
    const op = await p.sign!(priv, undefined, globalThis.crypto);
    const buffer = utf8('abc');
    await op.update(buffer);
    buffer.set(utf8('xyz'));
    await op.update(buffer);
    const signature = await op.final();
    expect(await verify(await p.verify!(pub, undefined, globalThis.crypto), signature, utf8('abcxyz'))).toBe(true);
  });

  test('sign needs the private key, verify the public one; no parameter allowed', async () => {
    const pair = await generate(globalThis.crypto, encodeEcParams(P256));
    const priv = await keyFromMaterial(globalThis.crypto, globalThis.crypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_EC);
    const pub = await keyFromMaterial(globalThis.crypto, globalThis.crypto, pair.publicKey, CKO_PUBLIC_KEY, CKK_EC);
    const p = provider(CKM_ECDSA_SHA256);
    await expectCkr(() => p.sign!(pub, undefined, globalThis.crypto), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => p.verify!(priv, undefined, globalThis.crypto), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => p.check({ hashAlg: 1 }), CKR_MECHANISM_PARAM_INVALID);
    expect(p.keyTypes).toEqual([CKK_EC]);
  });
});
