import {
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_KEY_TYPE,
  CKK_EC_EDWARDS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_CURVE_NOT_SUPPORTED,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/pkcs11';
import { describe, expect, test } from 'vitest';
import { ED25519, P256, encodeEcParams, privateKeyPkcs8 } from '../../../src/mechanisms/asymmetric/curves.js';
import { oid, printableString } from '../../../src/mechanisms/asymmetric/der.js';
import { checkEddsa, eddsa, edwardsKeyPairGen, probeEd25519 } from '../../../src/mechanisms/asymmetric/eddsa.js';
import { attr, expectCkr, hex, implementations, keyFromBytes, keyFromMaterial, node, request, sign, unhex, utf8, verify } from './fixture.js';

// RFC 8032 §7.1, TEST 1 to 3: secret key, public key, message, signature.
const RFC8032 = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
] as const;

const params = [{ type: CKA_EC_PARAMS, value: encodeEcParams(ED25519) }];

describe('CKM_EDDSA known answers (RFC 8032 TEST 1-3)', () => {
  for (const [name, crypto] of implementations) {
    test(`${name}: signs exactly the RFC signature and verifies it`, async () => {
      expect(await probeEd25519(crypto)).toBe(true);
      for (const [secret, publicKey, message, signature] of RFC8032) {
        const priv = keyFromBytes(crypto, 'pkcs8', privateKeyPkcs8(ED25519, unhex(secret)), CKO_PRIVATE_KEY, CKK_EC_EDWARDS, params);
        const pub = keyFromBytes(crypto, 'raw', unhex(publicKey), CKO_PUBLIC_KEY, CKK_EC_EDWARDS, params);
        expect(hex(await sign(await eddsa.sign!(priv, undefined, crypto), unhex(message)))).toBe(signature);
        expect(await verify(await eddsa.verify!(pub, undefined, crypto), unhex(signature), unhex(message))).toBe(true);
        expect(await verify(await eddsa.verify!(pub, undefined, crypto), unhex(signature), utf8('x'))).toBe(false);
        expect(await verify(await eddsa.verify!(pub, undefined, crypto), unhex(signature).subarray(1), unhex(message))).toBe(false);
      }
    });
  }
});

describe('CKM_EC_EDWARDS_KEY_PAIR_GEN', () => {
  for (const [name, crypto] of implementations) {
    for (const [form, ecParams] of [
      ['OID', oid('1.3.101.112')],
      ['PrintableString', printableString('edwards25519')],
    ] as const) {
      test(`${name}: CKA_EC_PARAMS as ${form}; signatures cross-verify in both implementations`, async () => {
        const pair = await edwardsKeyPairGen.generateKeyPair!(
          request(CKK_EC_EDWARDS, [{ type: CKA_EC_PARAMS, value: ecParams }]),
          request(CKK_EC_EDWARDS),
          undefined,
          crypto,
        );
        expect(pair.publicKey.format).toBe('spki');
        expect(pair.privateKey.format).toBe('pkcs8');
        expect(attr(pair.publicKey.attributes, CKA_KEY_TYPE)).toBe(CKK_EC_EDWARDS);
        // The caller's encoding is kept (the engine refuses computed values that differ from the template).
        expect(attr(pair.publicKey.attributes, CKA_EC_PARAMS)).toEqual(ecParams);
        expect(attr(pair.privateKey.attributes, CKA_EC_PARAMS)).toEqual(ecParams);
        const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey.key));
        expect(hex(attr(pair.publicKey.attributes, CKA_EC_POINT) as Uint8Array)).toBe(`0420${hex(raw)}`);
        const message = utf8('pure Ed25519');
        const priv = await keyFromMaterial(crypto, crypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_EC_EDWARDS);
        const signature = await sign(await eddsa.sign!(priv, undefined, crypto), message.subarray(0, 4), message.subarray(4));
        for (const [, other] of implementations) {
          const pub = await keyFromMaterial(crypto, other, pair.publicKey, CKO_PUBLIC_KEY, CKK_EC_EDWARDS);
          expect(await verify(await eddsa.verify!(pub, undefined, other), signature, message)).toBe(true);
          // Ed25519 is deterministic: the other implementation signs the same bytes.
          const privOther = await keyFromMaterial(crypto, other, pair.privateKey, CKO_PRIVATE_KEY, CKK_EC_EDWARDS);
          expect(hex(await sign(await eddsa.sign!(privOther, undefined, other), message))).toBe(hex(signature));
        }
      });
    }
  }

  test('other curves are not Edwards curves here', async () => {
    const gen = (value: Uint8Array) =>
      edwardsKeyPairGen.generateKeyPair!(request(CKK_EC_EDWARDS, [{ type: CKA_EC_PARAMS, value }]), request(CKK_EC_EDWARDS), undefined, node);
    await expectCkr(() => gen(encodeEcParams(P256)), CKR_CURVE_NOT_SUPPORTED);
    await expectCkr(() => gen(printableString('edwards448')), CKR_CURVE_NOT_SUPPORTED);
    await expectCkr(() => gen(oid('1.3.101.113')), CKR_CURVE_NOT_SUPPORTED);
  });
});

describe('CK_EDDSA_PARAMS', () => {
  test('absent or plain Ed25519 only', async () => {
    expect(checkEddsa(undefined)).toBeUndefined();
    expect(checkEddsa(null)).toBeUndefined();
    expect(checkEddsa(new Uint8Array())).toBeUndefined();
    expect(checkEddsa({ phFlag: false })).toBeUndefined();
    expect(checkEddsa({ phFlag: false, contextData: new Uint8Array() })).toBeUndefined();
    await expectCkr(() => checkEddsa({ phFlag: true }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkEddsa({ phFlag: false, contextData: utf8('ctx') }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkEddsa({ phFlag: 1 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkEddsa(unhex('01')), CKR_MECHANISM_PARAM_INVALID);
  });

  test('key classes', async () => {
    const [secret, publicKey] = RFC8032[0];
    const priv = keyFromBytes(node, 'pkcs8', privateKeyPkcs8(ED25519, unhex(secret)), CKO_PRIVATE_KEY, CKK_EC_EDWARDS, params);
    const pub = keyFromBytes(node, 'raw', unhex(publicKey), CKO_PUBLIC_KEY, CKK_EC_EDWARDS, params);
    await expectCkr(() => eddsa.sign!(pub, undefined, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => eddsa.verify!(priv, undefined, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    expect(eddsa.keyTypes).toEqual([CKK_EC_EDWARDS]);
  });

  test('a runtime without Ed25519 fails the probe (the registry counts a rejection as unavailable)', async () => {
    const without = {
      subtle: { generateKey: () => Promise.reject(new DOMException('Unrecognized name', 'NotSupportedError')) },
    } as unknown as Crypto;
    await expect(probeEd25519(without)).rejects.toThrow('Unrecognized');
  });
});
