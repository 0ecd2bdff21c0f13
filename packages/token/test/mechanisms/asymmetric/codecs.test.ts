import {
  CKA_COEFFICIENT,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_EXPONENT_1,
  CKA_EXPONENT_2,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PRIME_1,
  CKA_PRIME_2,
  CKA_PRIVATE_EXPONENT,
  CKA_PUBLIC_EXPONENT,
  CKA_VALUE,
  CKK_EC,
  CKK_EC_EDWARDS,
  CKK_RSA,
  CKM_ECDSA_SHA256,
  CKM_SHA256_RSA_PKCS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_CURVE_NOT_SUPPORTED,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import type { Attribute } from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { secretTypes } from '../../../src/attributes/rules.js';
import { ecCodec, edwardsCodec, rsaCodec } from '../../../src/mechanisms/asymmetric/codecs.js';
import { ED25519, P256, P384, encodeEcParams } from '../../../src/mechanisms/asymmetric/curves.js';
import { octetString, printableString } from '../../../src/mechanisms/asymmetric/der.js';
import { ecdsaProviders } from '../../../src/mechanisms/asymmetric/ec.js';
import { eddsa } from '../../../src/mechanisms/asymmetric/eddsa.js';
import { asymmetricKeyTypes, asymmetricProviders } from '../../../src/mechanisms/asymmetric/index.js';
import { rsaSignProviders } from '../../../src/mechanisms/asymmetric/rsa.js';
import type { KeyTypeCodec } from '../../../src/mechanisms/types.js';
import { attr, expectCkr, hex, implementations, keyFromMaterial, node, reader, sign, unhex, utf8, verify } from './fixture.js';
import { RSA_1024, textbookPkcs1Sign } from './vectors.js';

async function load(codec: KeyTypeCodec, crypto: Crypto, objectClass: number, template: Attribute[]) {
  const material = await codec.importMaterial(objectClass, reader(template), crypto);
  expect(material.key.extractable).toBe(true);
  expect(material.format).toBe(objectClass === CKO_PRIVATE_KEY ? 'pkcs8' : 'spki');
  const key = await keyFromMaterial(crypto, crypto, material, objectClass, codec.keyType, template);
  return { material, key };
}

const rsaPublic: Attribute[] = [
  { type: CKA_MODULUS, value: unhex(RSA_1024.n) },
  { type: CKA_PUBLIC_EXPONENT, value: unhex(RSA_1024.e) },
];
const rsaPrivate: Attribute[] = [
  ...rsaPublic,
  { type: CKA_PRIVATE_EXPONENT, value: unhex(RSA_1024.d) },
  { type: CKA_PRIME_1, value: unhex(RSA_1024.p) },
  { type: CKA_PRIME_2, value: unhex(RSA_1024.q) },
  { type: CKA_EXPONENT_1, value: unhex(RSA_1024.dp) },
  { type: CKA_EXPONENT_2, value: unhex(RSA_1024.dq) },
  { type: CKA_COEFFICIENT, value: unhex(RSA_1024.qi) },
];

describe('index', () => {
  test('exports every provider once and the three codecs', () => {
    const mechanisms = asymmetricProviders.map((p) => p.mechanism);
    expect(new Set(mechanisms).size).toBe(mechanisms.length);
    expect(mechanisms).toHaveLength(18);
    expect(asymmetricKeyTypes.map((c) => c.keyType)).toEqual([CKK_RSA, CKK_EC, CKK_EC_EDWARDS]);
  });
});

describe('CKK_RSA codec', () => {
  const message = utf8('created, not generated');
  const pkcs = rsaSignProviders.find((p) => p.mechanism === CKM_SHA256_RSA_PKCS)!;

  for (const [name, crypto] of implementations) {
    test(`${name}: a key pair from its components signs the textbook value; secrets read back`, async () => {
      const pub = await load(rsaCodec, crypto, CKO_PUBLIC_KEY, rsaPublic);
      expect(attr(pub.material.attributes, CKA_MODULUS_BITS)).toBe(1024);
      const priv = await load(rsaCodec, crypto, CKO_PRIVATE_KEY, rsaPrivate);
      const signature = await sign(await pkcs.sign!(priv.key, undefined, crypto), message);
      expect(hex(signature)).toBe(hex(textbookPkcs1Sign(RSA_1024, 'SHA-256', message)));
      expect(await verify(await pkcs.verify!(pub.key, undefined, crypto), signature, message)).toBe(true);
      const secrets = await rsaCodec.exportSecretAttributes(CKO_PRIVATE_KEY, priv.material.key, crypto);
      expect(secrets.map((a) => [a.type, hex(a.value as Uint8Array)])).toEqual(
        rsaPrivate.slice(2).map((a) => [a.type, hex(a.value as Uint8Array)]),
      );
      expect(await rsaCodec.exportSecretAttributes(CKO_PUBLIC_KEY, pub.material.key, crypto)).toEqual([]);
    });
  }

  test('leading zeros in big integers are accepted', async () => {
    const padded = rsaPublic.map((a) => ({ type: a.type, value: unhex(`0000${hex(a.value as Uint8Array)}`) }));
    const pub = await load(rsaCodec, node, CKO_PUBLIC_KEY, padded);
    expect(attr(pub.material.attributes, CKA_MODULUS_BITS)).toBe(1024);
  });

  test('template errors', async () => {
    await expectCkr(() => rsaCodec.importMaterial(CKO_PUBLIC_KEY, reader(rsaPublic.slice(1)), node), CKR_TEMPLATE_INCOMPLETE);
    await expectCkr(
      () => rsaCodec.importMaterial(CKO_PRIVATE_KEY, reader(rsaPrivate.filter((a) => a.type !== CKA_PRIME_1)), node),
      CKR_TEMPLATE_INCOMPLETE,
    );
    await expectCkr(
      () => rsaCodec.importMaterial(CKO_PUBLIC_KEY, reader([{ type: CKA_MODULUS, value: 'n' }, rsaPublic[1]!]), node),
      CKR_ATTRIBUTE_VALUE_INVALID,
    );
    // Any one component that does not belong with the others. (CRT signing ignores d, and OpenSSL
    // falls back to d when a CRT result is wrong, so a test signature would not catch these.)
    for (const type of [CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT]) {
      const broken = rsaPrivate.map((a) => {
        if (a.type !== type) return a;
        const value = new Uint8Array(a.value as Uint8Array);
        value[value.length - 1]! ^= 2;
        return { type, value };
      });
      for (const [, crypto] of implementations) {
        await expectCkr(() => rsaCodec.importMaterial(CKO_PRIVATE_KEY, reader(broken), crypto), CKR_ATTRIBUTE_VALUE_INVALID);
      }
    }
    await expectCkr(() => rsaCodec.importMaterial(CKO_SECRET_KEY, reader(rsaPrivate), node), CKR_TEMPLATE_INCONSISTENT);
  });

  test('secret attributes and default algorithm', () => {
    expect(secretTypes(CKO_PRIVATE_KEY, CKK_RSA)).toEqual([
      CKA_PRIVATE_EXPONENT,
      CKA_PRIME_1,
      CKA_PRIME_2,
      CKA_EXPONENT_1,
      CKA_EXPONENT_2,
      CKA_COEFFICIENT,
    ]);
    expect(secretTypes(CKO_PUBLIC_KEY, CKK_RSA)).toEqual([]);
    expect(rsaCodec.defaultUsages(CKO_PRIVATE_KEY)).toEqual(['sign']);
    expect(rsaCodec.defaultUsages(CKO_PUBLIC_KEY)).toEqual(['verify']);
  });
});

describe('CKK_EC codec', () => {
  // NIST CSRC "ECDSA with P-256" example key.
  const d = 'C477F9F65C22CCE20657FAA5B2D1D8122336F851A508A1ED04E479C34985BF96';
  const q =
    '04B7E08AFDFE94BAD3F1DC8C734798BA1C62B3A0AD1E9EA2A38201CD0889BC7A19' +
    '3603F747959DBF7A4BB226E41928729063ADC7AE43529E61B563BBC606CC5E09';
  const params = { type: CKA_EC_PARAMS, value: encodeEcParams(P256) };
  const ecdsa = ecdsaProviders.find((p) => p.mechanism === CKM_ECDSA_SHA256)!;

  for (const [name, crypto] of implementations) {
    test(`${name}: CKA_VALUE signs for the example's public point (DER and raw CKA_EC_POINT)`, async () => {
      const priv = await load(ecCodec, crypto, CKO_PRIVATE_KEY, [params, { type: CKA_VALUE, value: unhex(d) }]);
      const message = utf8('Example of ECDSA with P-256');
      const signature = await sign(await ecdsa.sign!(priv.key, undefined, crypto), message);
      for (const point of [octetString(unhex(q)), unhex(q)]) {
        const pub = await load(ecCodec, crypto, CKO_PUBLIC_KEY, [params, { type: CKA_EC_POINT, value: point }]);
        expect(await verify(await ecdsa.verify!(pub.key, undefined, crypto), signature, message)).toBe(true);
      }
      const secrets = await ecCodec.exportSecretAttributes(CKO_PRIVATE_KEY, priv.material.key, crypto);
      expect(secrets).toEqual([{ type: CKA_VALUE, value: unhex(d) }]);
    });
  }

  test('a scalar without its leading zeros is padded', async () => {
    // A P-384 scalar whose top byte is zero: 47 bytes given.
    const scalar = unhex(`00${'11'.repeat(47)}`);
    const p384 = { type: CKA_EC_PARAMS, value: encodeEcParams(P384) };
    const short = await load(ecCodec, node, CKO_PRIVATE_KEY, [p384, { type: CKA_VALUE, value: scalar.subarray(1) }]);
    const [value] = await ecCodec.exportSecretAttributes(CKO_PRIVATE_KEY, short.material.key, node);
    expect(hex(value!.value as Uint8Array)).toBe(hex(scalar));
  });

  test('template errors', async () => {
    const order = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';
    const importPriv = (template: Attribute[]) => ecCodec.importMaterial(CKO_PRIVATE_KEY, reader(template), node);
    const importPub = (template: Attribute[]) => ecCodec.importMaterial(CKO_PUBLIC_KEY, reader(template), node);
    await expectCkr(() => importPriv([{ type: CKA_VALUE, value: unhex(d) }]), CKR_TEMPLATE_INCOMPLETE);
    await expectCkr(() => importPriv([params]), CKR_TEMPLATE_INCOMPLETE);
    await expectCkr(() => importPriv([params, { type: CKA_VALUE, value: new Uint8Array(32) }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => importPriv([params, { type: CKA_VALUE, value: unhex(order) }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => importPriv([params, { type: CKA_VALUE, value: unhex(`01${d}`) }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => importPriv([{ type: CKA_EC_PARAMS, value: encodeEcParams(ED25519) }, { type: CKA_VALUE, value: unhex(d) }]), CKR_CURVE_NOT_SUPPORTED);
    const offCurve = unhex(q);
    offCurve[64]! ^= 1;
    await expectCkr(() => importPub([params, { type: CKA_EC_POINT, value: offCurve }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => importPub([params, { type: CKA_EC_POINT, value: unhex(q).subarray(1) }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectCkr(() => importPub([params]), CKR_TEMPLATE_INCOMPLETE);
  });

  test('default algorithm follows CKA_EC_PARAMS; CKA_VALUE is the secret', () => {
    expect(ecCodec.defaultAlgorithm(reader([{ type: CKA_EC_PARAMS, value: encodeEcParams(P384) }]))).toEqual({
      name: 'ECDSA',
      namedCurve: 'P-384',
    });
    expect(secretTypes(CKO_PRIVATE_KEY, CKK_EC)).toEqual([CKA_VALUE]);
    expect(secretTypes(CKO_PUBLIC_KEY, CKK_EC)).toEqual([]);
  });
});

describe('CKK_EC_EDWARDS codec', () => {
  // RFC 8032 TEST 2.
  const seed = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
  const publicKey = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
  const signature =
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

  for (const [name, crypto] of implementations) {
    test(`${name}: the RFC 8032 seed signs the RFC signature; both CKA_EC_PARAMS forms and CKA_EC_POINT forms`, async () => {
      for (const ecParams of [encodeEcParams(ED25519), printableString('edwards25519')]) {
        const params = { type: CKA_EC_PARAMS, value: ecParams };
        const priv = await load(edwardsCodec, crypto, CKO_PRIVATE_KEY, [params, { type: CKA_VALUE, value: unhex(seed) }]);
        expect(hex(await sign(await eddsa.sign!(priv.key, undefined, crypto), unhex('72')))).toBe(signature);
        for (const point of [unhex(publicKey), octetString(unhex(publicKey))]) {
          const pub = await load(edwardsCodec, crypto, CKO_PUBLIC_KEY, [params, { type: CKA_EC_POINT, value: point }]);
          expect(await verify(await eddsa.verify!(pub.key, undefined, crypto), unhex(signature), unhex('72'))).toBe(true);
        }
        expect(await edwardsCodec.exportSecretAttributes(CKO_PRIVATE_KEY, priv.material.key, crypto)).toEqual([
          { type: CKA_VALUE, value: unhex(seed) },
        ]);
      }
    });
  }

  test('a seed is exactly 32 bytes; NIST curves are not Edwards curves', async () => {
    const params = { type: CKA_EC_PARAMS, value: encodeEcParams(ED25519) };
    await expectCkr(
      () => edwardsCodec.importMaterial(CKO_PRIVATE_KEY, reader([params, { type: CKA_VALUE, value: unhex(seed).subarray(1) }]), node),
      CKR_ATTRIBUTE_VALUE_INVALID,
    );
    await expectCkr(
      () => edwardsCodec.importMaterial(CKO_PUBLIC_KEY, reader([{ type: CKA_EC_PARAMS, value: encodeEcParams(P256) }, { type: CKA_EC_POINT, value: unhex(publicKey) }]), node),
      CKR_CURVE_NOT_SUPPORTED,
    );
    expect(edwardsCodec.defaultAlgorithm(reader([params]))).toEqual({ name: 'Ed25519' });
  });
});
