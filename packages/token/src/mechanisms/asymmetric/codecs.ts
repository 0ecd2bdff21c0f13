/**
 * Key type codecs for CKK_RSA, CKK_EC and CKK_EC_EDWARDS: C_CreateObject templates in (the caller
 * supplied the bytes, so they pass through JavaScript once), secret components out (only when the
 * engine's policy lets a caller read them).
 */
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
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  ckaName,
} from '@vhsm/pkcs11';
import type { Attribute } from '@vhsm/pkcs11';
import { hex, own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import { mapFailure } from '../symmetric/util.js';
import type { AttributeReader, ImportAlgorithm, KeyTypeCodec } from '../types.js';
import { fromBase64Url, leftPad, stripLeadingZeros, toBase64Url } from './bytes.js';
import { type Curve, parseEcParams, parseEcPoint, privateKeyPkcs8 } from './curves.js';
import { modulusBits, publicAttributesOfPrivate } from './rsa.js';

function required(attributes: AttributeReader, type: number): Uint8Array {
  const value = attributes.get(type);
  if (value === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, `${ckaName(type)}: required`);
  if (!(value instanceof Uint8Array) || value.length === 0) {
    throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `${ckaName(type)}: expected a non-empty byte string`);
  }
  return value;
}

function requireKeyClass(objectClass: number): void {
  if (objectClass !== CKO_PUBLIC_KEY && objectClass !== CKO_PRIVATE_KEY) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_CLASS: this key type makes public and private keys');
  }
}

const usagesFor = (objectClass: number): KeyUsage[] => (objectClass === CKO_PRIVATE_KEY ? ['sign'] : ['verify']);

async function jwkField(crypto: Crypto, key: CryptoKey, field: 'd' | 'p' | 'q' | 'dp' | 'dq' | 'qi'): Promise<Uint8Array> {
  const value = (await crypto.subtle.exportKey('jwk', key))[field];
  if (value === undefined) throw new TypeError(`JWK without ${field}`);
  return fromBase64Url(value);
}

// --- RSA -----------------------------------------------------------------------------------------

const RSA_ALGORITHM: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** CKA_ types of the private components, in JWK order. */
const RSA_PRIVATE: readonly [number, 'd' | 'p' | 'q' | 'dp' | 'dq' | 'qi'][] = [
  [CKA_PRIVATE_EXPONENT, 'd'],
  [CKA_PRIME_1, 'p'],
  [CKA_PRIME_2, 'q'],
  [CKA_EXPONENT_1, 'dp'],
  [CKA_EXPONENT_2, 'dq'],
  [CKA_COEFFICIENT, 'qi'],
];

const b64 = (bytes: Uint8Array): string => toBase64Url(stripLeadingZeros(bytes));

const big = (bytes: Uint8Array): bigint => BigInt(`0x${hex(bytes) || '0'}`);

/**
 * WebCrypto importers do not check that the eight components belong together, and a test
 * signature would not tell either (CRT signing ignores d; OpenSSL falls back to d when a CRT result
 * fails). So the identities are checked here, on the values the caller supplied in this template.
 */
function checkRsaComponents(attributes: AttributeReader): void {
  const [n, e, d, p, q, dp, dq, qi] = [
    CKA_MODULUS,
    CKA_PUBLIC_EXPONENT,
    ...RSA_PRIVATE.map(([type]) => type),
  ].map((type) => big(required(attributes, type))) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const consistent =
    p > 1n &&
    q > 1n &&
    p * q === n &&
    (e * d) % (p - 1n) === 1n &&
    (e * d) % (q - 1n) === 1n &&
    d % (p - 1n) === dp &&
    d % (q - 1n) === dq &&
    (qi * q) % p === 1n;
  if (!consistent) throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'RSA private components: they do not form one key');
}

export const rsaCodec: KeyTypeCodec = {
  keyType: CKK_RSA,
  async publicAttributes(objectClass, key, crypto) {
    return objectClass === CKO_PRIVATE_KEY ? publicAttributesOfPrivate(crypto, key) : [];
  },
  async importMaterial(objectClass, attributes, crypto) {
    requireKeyClass(objectClass);
    const publicJwk: JsonWebKey = {
      kty: 'RSA',
      n: b64(required(attributes, CKA_MODULUS)),
      e: b64(required(attributes, CKA_PUBLIC_EXPONENT)),
    };
    const publicKey = await mapFailure(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_MODULUS/CKA_PUBLIC_EXPONENT: not an RSA public key this runtime takes', () =>
      crypto.subtle.importKey('jwk', publicJwk, RSA_ALGORITHM, true, ['verify']),
    );
    if (objectClass === CKO_PUBLIC_KEY) {
      return { key: publicKey, format: 'spki', attributes: [{ type: CKA_MODULUS_BITS, value: modulusBits(publicKey) }] };
    }
    // WebCrypto (Chromium) imports RSA private keys only with the CRT components, so all are required.
    const privateJwk: JsonWebKey = { ...publicJwk };
    for (const [type, field] of RSA_PRIVATE) privateJwk[field] = b64(required(attributes, type));
    checkRsaComponents(attributes);
    const privateKey = await mapFailure(CKR_ATTRIBUTE_VALUE_INVALID, 'RSA private components: not a key this runtime takes', () =>
      crypto.subtle.importKey('jwk', privateJwk, RSA_ALGORITHM, true, ['sign']),
    );
    return { key: privateKey, format: 'pkcs8', attributes: [] };
  },
  async exportSecretAttributes(objectClass, key, crypto) {
    if (objectClass !== CKO_PRIVATE_KEY) return [];
    const jwk = await crypto.subtle.exportKey('jwk', key);
    return RSA_PRIVATE.map(([type, field]): Attribute => {
      const value = jwk[field];
      if (value === undefined) throw new TypeError(`RSA JWK without ${field}`);
      return { type, value: fromBase64Url(value) };
    });
  },
  defaultAlgorithm: () => RSA_ALGORITHM,
  defaultUsages: usagesFor,
};

// --- EC and Edwards ------------------------------------------------------------------------------

function curveAlgorithm(curve: Curve): ImportAlgorithm {
  return curve.keyType === CKK_EC_EDWARDS ? { name: curve.name } : { name: 'ECDSA', namedCurve: curve.name };
}

function curveCodec(keyType: number): KeyTypeCodec {
  const curveOf = (attributes: AttributeReader): Curve => {
    if (attributes.get(CKA_EC_PARAMS) === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS: required');
    return parseEcParams(attributes.get(CKA_EC_PARAMS), keyType);
  };
  return {
    keyType,
    async importMaterial(objectClass, attributes, crypto) {
      requireKeyClass(objectClass);
      const curve = curveOf(attributes);
      const algorithm = curveAlgorithm(curve);
      if (objectClass === CKO_PUBLIC_KEY) {
        const point = parseEcPoint(required(attributes, CKA_EC_POINT), curve);
        if (point === undefined) {
          throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_EC_POINT: expected a ${curve.name} point, raw or as DER OCTET STRING`);
        }
        const key = await mapFailure(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_EC_POINT: not a point on ${curve.name}`, () =>
          crypto.subtle.importKey('raw', own(point), algorithm, true, ['verify']),
        );
        return { key, format: 'spki', attributes: [] };
      }
      const value = required(attributes, CKA_VALUE);
      let scalar = value;
      if (keyType === CKK_EC_EDWARDS) {
        if (value.length !== curve.size) {
          throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_VALUE: an Ed25519 private key is 32 bytes, got ${value.length}`);
        }
      } else {
        try {
          // Big-endian scalars may come without their leading zeros.
          scalar = leftPad(value, curve.size);
        } catch {
          throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_VALUE: longer than a ${curve.name} private key`);
        }
      }
      const key = await mapFailure(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_VALUE: not a ${curve.name} private key`, () =>
        crypto.subtle.importKey('pkcs8', own(privateKeyPkcs8(curve, scalar)), algorithm, true, ['sign']),
      );
      return { key, format: 'pkcs8', attributes: [] };
    },
    async exportSecretAttributes(objectClass, key, crypto) {
      if (objectClass !== CKO_PRIVATE_KEY) return [];
      return [{ type: CKA_VALUE, value: await jwkField(crypto, key, 'd') }];
    },
    defaultAlgorithm: (attributes) => curveAlgorithm(curveOf(attributes)),
    defaultUsages: usagesFor,
  };
}

export const ecCodec = curveCodec(CKK_EC);
export const edwardsCodec = curveCodec(CKK_EC_EDWARDS);
