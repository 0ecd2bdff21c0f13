import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import {
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PUBLIC_EXPONENT,
  CKA_VALUE_LEN,
  CKG_MGF1_SHA1,
  CKG_MGF1_SHA224,
  CKG_MGF1_SHA256,
  CKG_MGF1_SHA384,
  CKG_MGF1_SHA512,
  CKK_AES,
  CKK_EC,
  CKK_GENERIC_SECRET,
  CKK_RSA,
  CKM_ECDSA_SHA256,
  CKM_SHA224,
  CKM_SHA256,
  CKM_SHA384,
  CKM_SHA512,
  CKM_SHA_1,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_KEY_NOT_WRAPPABLE,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_INVALID,
  CKR_WRAPPED_KEY_LEN_RANGE,
  CKZ_DATA_SPECIFIED,
} from '@vhsm/pkcs11';
import { beforeAll, describe, expect, test } from 'vitest';
import { P256, P521, encodeEcParams } from '../../../src/mechanisms/asymmetric/curves.js';
import { ecKeyPairGen, ecdsaProviders } from '../../../src/mechanisms/asymmetric/ec.js';
import { checkOaep, rsaOaep } from '../../../src/mechanisms/asymmetric/oaep.js';
import { rsaKeyPairGen } from '../../../src/mechanisms/asymmetric/rsa.js';
import { rsaCodec } from '../../../src/mechanisms/asymmetric/codecs.js';
import type { KeyAccess, NewKeyPairMaterial } from '../../../src/mechanisms/types.js';
import {
  attr,
  cipher,
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
import { RSA_1024, rsaJwk } from './vectors.js';

const HASH_PARAMS = [
  [CKM_SHA_1, CKG_MGF1_SHA1, 'sha1', 20],
  [CKM_SHA256, CKG_MGF1_SHA256, 'sha256', 32],
  [CKM_SHA384, CKG_MGF1_SHA384, 'sha384', 48],
  [CKM_SHA512, CKG_MGF1_SHA512, 'sha512', 64],
] as const;

async function knownKey(crypto: Crypto): Promise<{ priv: KeyAccess; pub: KeyAccess }> {
  const alg = { name: 'RSA-OAEP', hash: 'SHA-256' };
  const priv = await node.subtle.importKey('jwk', rsaJwk(RSA_1024, true), alg, true, ['decrypt']);
  const pub = await node.subtle.importKey('jwk', rsaJwk(RSA_1024, false), alg, true, ['encrypt']);
  const attributes = [
    { type: CKA_MODULUS, value: unhex(RSA_1024.n) },
    { type: CKA_PUBLIC_EXPONENT, value: unhex(RSA_1024.e) },
  ];
  return {
    priv: keyFromBytes(crypto, 'pkcs8', new Uint8Array(await node.subtle.exportKey('pkcs8', priv)), CKO_PRIVATE_KEY, CKK_RSA, attributes),
    pub: keyFromBytes(crypto, 'spki', new Uint8Array(await node.subtle.exportKey('spki', pub)), CKO_PUBLIC_KEY, CKK_RSA, attributes),
  };
}

let rsa2048: NewKeyPairMaterial;
let rsa4096: NewKeyPairMaterial;
beforeAll(async () => {
  const gen = (bits: number) =>
    rsaKeyPairGen.generateKeyPair!(request(CKK_RSA, [{ type: CKA_MODULUS_BITS, value: bits }]), request(CKK_RSA), undefined, node);
  [rsa2048, rsa4096] = await Promise.all([gen(2048), gen(4096)]);
});

const pairOn = async (pair: NewKeyPairMaterial, crypto: Crypto) => ({
  pub: await keyFromMaterial(node, crypto, pair.publicKey, CKO_PUBLIC_KEY, CKK_RSA),
  priv: await keyFromMaterial(node, crypto, pair.privateKey, CKO_PRIVATE_KEY, CKK_RSA),
});

describe('CKM_RSA_PKCS_OAEP parameters', () => {
  test('hashAlg, mgf, source and label', async () => {
    expect(checkOaep({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 })).toMatchObject({ label: undefined });
    const labelled = checkOaep({ hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1, source: CKZ_DATA_SPECIFIED, sourceData: utf8('L') });
    expect(labelled.hash.name).toBe('SHA-1');
    expect(hex(labelled.label!)).toBe('4c');
    // An empty label is no label (RFC 8017: L defaults to the empty string).
    expect(checkOaep({ hashAlg: CKM_SHA_1, mgf: CKG_MGF1_SHA1, source: CKZ_DATA_SPECIFIED, sourceData: new Uint8Array() }).label).toBeUndefined();
    await expectCkr(() => checkOaep(undefined), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkOaep({ hashAlg: CKM_SHA224, mgf: CKG_MGF1_SHA224 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkOaep({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA1 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkOaep({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, source: 2 }), CKR_MECHANISM_PARAM_INVALID);
    await expectCkr(() => checkOaep({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, sourceData: 'L' }), CKR_MECHANISM_PARAM_INVALID);
  });
});

describe('CKM_RSA_PKCS_OAEP encrypt/decrypt', () => {
  for (const [hashAlg, mgf, nodeHash, hLen] of HASH_PARAMS) {
    test(`${nodeHash}: every implementation decrypts what each other one encrypts, label included`, async () => {
      const max = 256 - 2 * hLen - 2;
      const message = new Uint8Array(max).map((_, i) => i);
      const plain = rsaOaep.check({ hashAlg, mgf });
      const labelled = rsaOaep.check({ hashAlg, mgf, source: CKZ_DATA_SPECIFIED, sourceData: utf8('label') });
      for (const [, encCrypto] of implementations) {
        const { pub } = await pairOn(rsa2048, encCrypto);
        const ciphertext = await cipher(await rsaOaep.encrypt!(pub, labelled, encCrypto), message.subarray(0, 10), message.subarray(10));
        expect(ciphertext.length).toBe(256);
        for (const [, decCrypto] of implementations) {
          const { priv } = await pairOn(rsa2048, decCrypto);
          expect(hex(await cipher(await rsaOaep.decrypt!(priv, labelled, decCrypto), ciphertext))).toBe(hex(message));
          await expectCkr(async () => cipher(await rsaOaep.decrypt!(priv, plain, decCrypto), ciphertext), CKR_ENCRYPTED_DATA_INVALID);
        }
      }
      // A third implementation: OpenSSL's RSA_PKCS1_OAEP_PADDING through node:crypto.
      const spki = new Uint8Array(await node.subtle.exportKey('spki', rsa2048.publicKey.key));
      const external = publicEncrypt(
        { key: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash, oaepLabel: utf8('label') },
        message,
      );
      for (const [, crypto] of implementations) {
        const { priv } = await pairOn(rsa2048, crypto);
        expect(hex(await cipher(await rsaOaep.decrypt!(priv, labelled, crypto), new Uint8Array(external)))).toBe(hex(message));
      }
      // One byte more than fits.
      const { pub } = await pairOn(rsa2048, node);
      await expectCkr(async () => cipher(await rsaOaep.encrypt!(pub, plain, node), new Uint8Array(max + 1)), CKR_DATA_LEN_RANGE);
    });
  }

  test('SHA-512 OAEP does not fit a 1024-bit key', async () => {
    const { pub } = await knownKey(node);
    await expectCkr(() => rsaOaep.encrypt!(pub, rsaOaep.check({ hashAlg: CKM_SHA512, mgf: CKG_MGF1_SHA512 }), node), CKR_KEY_SIZE_RANGE);
  });

  test('ciphertext length and key classes', async () => {
    const { priv, pub } = await knownKey(node);
    const p = rsaOaep.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 });
    await expectCkr(async () => cipher(await rsaOaep.decrypt!(priv, p, node), new Uint8Array(127)), CKR_ENCRYPTED_DATA_LEN_RANGE);
    await expectCkr(async () => cipher(await rsaOaep.decrypt!(priv, p, node), new Uint8Array(128)), CKR_ENCRYPTED_DATA_INVALID);
    await expectCkr(() => rsaOaep.encrypt!(priv, p, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => rsaOaep.decrypt!(pub, p, node), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });
});

describe('CKM_RSA_PKCS_OAEP wrap/unwrap', () => {
  const p = () => rsaOaep.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, source: CKZ_DATA_SPECIFIED, sourceData: utf8('wrap') });

  for (const [wrapName, wrapCrypto] of implementations) {
    for (const [unwrapName, unwrapCrypto] of implementations) {
      test(`secret keys: ${wrapName} wraps, ${unwrapName} unwraps the same raw value`, async () => {
        const kek = await pairOn(rsa2048, wrapCrypto);
        const kekOnUnwrap = await pairOn(rsa2048, unwrapCrypto);
        for (const [keyType, value] of [
          [CKK_AES, unhex('000102030405060708090a0b0c0d0e0f1011121314151617')],
          [CKK_GENERIC_SECRET, unhex('cafebabe')],
        ] as const) {
          const key = keyFromBytes(wrapCrypto, 'raw', value, CKO_SECRET_KEY, keyType, [{ type: CKA_VALUE_LEN, value: value.length }]);
          const wrapped = await rsaOaep.wrap!(kek.pub, key, p(), wrapCrypto);
          expect(wrapped.length).toBe(256);
          const material = await rsaOaep.unwrap!(
            kekOnUnwrap.priv,
            wrapped,
            request(keyType, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]),
            p(),
            unwrapCrypto,
          );
          expect(material.format).toBe('raw');
          expect(material.key.extractable).toBe(true);
          expect(hex(await unwrapCrypto.subtle.exportKey('raw', material.key))).toBe(hex(value));
          expect(attr(material.attributes, CKA_VALUE_LEN)).toBe(value.length);
        }
      });
    }
  }

  for (const [name, crypto] of implementations) {
    test(`${name}: an EC private key travels as PKCS#8; its curve is found without CKA_EC_PARAMS`, async () => {
      const kek = await pairOn(rsa2048, crypto);
      const ec = await ecKeyPairGen.generateKeyPair!(
        request(CKK_EC, [{ type: CKA_EC_PARAMS, value: encodeEcParams(P256) }]),
        request(CKK_EC),
        undefined,
        crypto,
      );
      const ecPriv = await keyFromMaterial(crypto, crypto, ec.privateKey, CKO_PRIVATE_KEY, CKK_EC);
      const wrapped = await rsaOaep.wrap!(kek.pub, ecPriv, p(), crypto);
      const material = await rsaOaep.unwrap!(kek.priv, wrapped, request(CKK_EC, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }]), p(), crypto);
      expect(material.format).toBe('pkcs8');
      expect(attr(material.attributes, CKA_EC_PARAMS)).toEqual(encodeEcParams(P256));
      // The unwrapped key signs for the original public key.
      const ecdsa = ecdsaProviders.find((x) => x.mechanism === CKM_ECDSA_SHA256)!;
      const unwrapped = await keyFromMaterial(crypto, crypto, material, CKO_PRIVATE_KEY, CKK_EC);
      const signature = await sign(await ecdsa.sign!(unwrapped, undefined, crypto), utf8('x'));
      const ecPub = await keyFromMaterial(crypto, crypto, ec.publicKey, CKO_PUBLIC_KEY, CKK_EC);
      expect(await verify(await ecdsa.verify!(ecPub, undefined, crypto), signature, utf8('x'))).toBe(true);
    });

    test(`${name}: an unwrapped RSA private key's CKA_MODULUS and CKA_PUBLIC_EXPONENT come from the RSA codec`, async () => {
      const kek = await pairOn(rsa4096, crypto);
      const small = await rsaKeyPairGen.generateKeyPair!(
        request(CKK_RSA, [{ type: CKA_MODULUS_BITS, value: 512 }]),
        request(CKK_RSA),
        undefined,
        node,
      );
      const smallPriv = await keyFromMaterial(node, crypto, small.privateKey, CKO_PRIVATE_KEY, CKK_RSA);
      const wrapped = await rsaOaep.wrap!(kek.pub, smallPriv, p(), crypto);
      const material = await rsaOaep.unwrap!(kek.priv, wrapped, request(CKK_RSA, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }]), p(), crypto);
      expect(material.format).toBe('pkcs8');
      // The engine adds what the codec derives from any unwrapped material, whatever the mechanism.
      const implied = await rsaCodec.publicAttributes!(CKO_PRIVATE_KEY, material.key, crypto);
      expect(attr(implied, CKA_MODULUS)).toEqual(attr(small.publicKey.attributes, CKA_MODULUS));
      expect(hex(attr(implied, CKA_PUBLIC_EXPONENT) as Uint8Array)).toBe('010001');
      expect(new Set(material.attributes.map((a) => a.type)).size).toBe(material.attributes.length);
    });
  }

  test('failures: too long to wrap, wrong lengths, wrong label, wrong key type, public keys', async () => {
    const kek = await pairOn(rsa2048, node);
    const { pub: smallKek } = await knownKey(node);
    const big = await ecKeyPairGen.generateKeyPair!(
      request(CKK_EC, [{ type: CKA_EC_PARAMS, value: encodeEcParams(P521) }]),
      request(CKK_EC),
      undefined,
      node,
    );
    const bigPriv = await keyFromMaterial(node, node, big.privateKey, CKO_PRIVATE_KEY, CKK_EC);
    await expectCkr(() => rsaOaep.wrap!(smallKek, bigPriv, p(), node), CKR_KEY_SIZE_RANGE);
    const bigPub = await keyFromMaterial(node, node, big.publicKey, CKO_PUBLIC_KEY, CKK_EC);
    await expectCkr(() => rsaOaep.wrap!(kek.pub, bigPub, p(), node), CKR_KEY_NOT_WRAPPABLE);

    const secret = keyFromBytes(node, 'raw', new Uint8Array(16), CKO_SECRET_KEY, CKK_AES, [{ type: CKA_VALUE_LEN, value: 16 }]);
    const wrapped = await rsaOaep.wrap!(kek.pub, secret, p(), node);
    const asSecret = request(CKK_AES, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]);
    await expectCkr(() => rsaOaep.unwrap!(kek.priv, wrapped.subarray(1), asSecret, p(), node), CKR_WRAPPED_KEY_LEN_RANGE);
    await expectCkr(() => rsaOaep.unwrap!(kek.priv, new Uint8Array(256), asSecret, p(), node), CKR_WRAPPED_KEY_INVALID);
    const otherLabel = rsaOaep.check({ hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 });
    await expectCkr(() => rsaOaep.unwrap!(kek.priv, wrapped, asSecret, otherLabel, node), CKR_WRAPPED_KEY_INVALID);
    // 16 secret bytes are no PKCS#8 EC key: the same uniform code.
    const asEc = request(CKK_EC, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }]);
    await expectCkr(() => rsaOaep.unwrap!(kek.priv, wrapped, asEc, p(), node), CKR_WRAPPED_KEY_INVALID);
    await expectCkr(() => rsaOaep.wrap!(kek.priv, secret, p(), node), CKR_KEY_FUNCTION_NOT_PERMITTED);
    await expectCkr(() => rsaOaep.unwrap!(kek.pub, wrapped, asSecret, p(), node), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });
});
