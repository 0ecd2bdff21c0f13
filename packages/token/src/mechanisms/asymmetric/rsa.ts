/**
 * RSA: CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_SHAx_RSA_PKCS, CKM_SHAx_RSA_PKCS_PSS. WebCrypto binds an RSA
 * key to one hash, so each call asks the engine for a CryptoKey bound to the hash it needs.
 */
import {
  CKA_KEY_TYPE,
  CKA_MODULUS,
  CKA_MODULUS_BITS,
  CKA_PUBLIC_EXPONENT,
  CKF_GENERATE_KEY_PAIR,
  CKF_SIGN,
  CKF_VERIFY,
  CKK_RSA,
  CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_SHA1_RSA_PKCS,
  CKM_SHA1_RSA_PKCS_PSS,
  CKM_SHA256_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384_RSA_PKCS,
  CKM_SHA384_RSA_PKCS_PSS,
  CKM_SHA512_RSA_PKCS,
  CKM_SHA512_RSA_PKCS_PSS,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  constantName,
  ckmName,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { Attribute } from '@vhsm/pkcs11';
import type { KeyAccess, KeyRequest, MechanismProvider } from '../types.js';
import { equalBytes, fromBase64Url, stripLeadingZeros } from './bytes.js';
import {
  type HashName,
  bufferedSign,
  bufferedVerify,
  hashInfo,
  noParameter,
  paramRecord,
  paramUlong,
  preferGiven,
  requireClass,
} from './common.js';

/** WebCrypto's limits as Node/OpenSSL and Chromium/BoringSSL share them (Chromium wants whole bytes). */
export const RSA_INFO = { minKeySize: 512, maxKeySize: 16384 } as const;

const F4 = Uint8Array.of(1, 0, 1);

export function modulusBits(key: CryptoKey): number {
  return (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
}

/** CKA_MODULUS and CKA_PUBLIC_EXPONENT from a PUBLIC key's JWK (no private value is exported). */
export async function publicComponents(crypto: Crypto, publicKey: CryptoKey): Promise<{ n: Uint8Array; e: Uint8Array }> {
  if (publicKey.type !== 'public') throw new TypeError('publicComponents needs a public key');
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  if (jwk.n === undefined || jwk.e === undefined) throw new TypeError('RSA public JWK without n or e');
  return { n: fromBase64Url(jwk.n), e: fromBase64Url(jwk.e) };
}

/**
 * CKA_MODULUS and CKA_PUBLIC_EXPONENT of an extractable PRIVATE key that arrived without its public
 * half (C_UnwrapKey of PKCS#8). This touches private bytes: WebCrypto cannot derive a public key
 * from a private CryptoKey, and its algorithm object carries the exponent but not the modulus, so
 * the only way to n is the private JWK. Only n and e are kept; the JWK object is dropped at once.
 */
export async function publicAttributesOfPrivate(crypto: Crypto, privateKey: CryptoKey): Promise<Attribute[]> {
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  if (jwk.n === undefined || jwk.e === undefined) throw new TypeError('RSA JWK without n or e');
  return [
    { type: CKA_MODULUS, value: fromBase64Url(jwk.n) },
    { type: CKA_PUBLIC_EXPONENT, value: fromBase64Url(jwk.e) },
  ];
}

export const rsaKeyPairGen: MechanismProvider<undefined> = {
  mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN,
  info: { ...RSA_INFO, flags: CKF_GENERATE_KEY_PAIR },
  check: (parameter) => noParameter(parameter, 'CKM_RSA_PKCS_KEY_PAIR_GEN'),
  async generateKeyPair(publicRequest, privateRequest, _parameter, crypto) {
    const bits = publicRequest.attributes.get(CKA_MODULUS_BITS);
    if (bits === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_MODULUS_BITS: required in the public key template');
    if (typeof bits !== 'number' || !Number.isInteger(bits)) {
      throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_MODULUS_BITS: expected a CK_ULONG');
    }
    if (bits < RSA_INFO.minKeySize || bits > RSA_INFO.maxKeySize || bits % 8 !== 0) {
      throw ckr(
        CKR_KEY_SIZE_RANGE,
        `CKA_MODULUS_BITS: ${bits} is outside ${RSA_INFO.minKeySize}..${RSA_INFO.maxKeySize} or not a multiple of 8`,
      );
    }
    const exponent = publicRequest.attributes.get(CKA_PUBLIC_EXPONENT) ?? F4;
    if (!(exponent instanceof Uint8Array) || exponent.length === 0) {
      throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_PUBLIC_EXPONENT: expected a big-endian byte string');
    }
    let pair: CryptoKeyPair;
    try {
      pair = (await crypto.subtle.generateKey(
        { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: own(stripLeadingZeros(exponent)), hash: 'SHA-256' },
        true,
        ['sign', 'verify'],
      )) as CryptoKeyPair;
    } catch {
      // Browsers take only 3 and 65537; Node any odd 32-bit value.
      throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_PUBLIC_EXPONENT: this runtime cannot generate keys with that exponent');
    }
    const { n, e } = await publicComponents(crypto, pair.publicKey);
    const sameExponent = (given: Uint8Array): boolean => equalBytes(stripLeadingZeros(given), e);
    const attributes = (request: KeyRequest): Attribute[] => [
      { type: CKA_KEY_TYPE, value: CKK_RSA },
      { type: CKA_MODULUS, value: n },
      preferGiven(request.attributes, CKA_PUBLIC_EXPONENT, e, sameExponent),
    ];
    return {
      publicKey: {
        key: pair.publicKey,
        format: 'spki',
        attributes: [...attributes(publicRequest), { type: CKA_MODULUS_BITS, value: bits }],
      },
      privateKey: { key: pair.privateKey, format: 'pkcs8', attributes: attributes(privateRequest) },
    };
  },
};

const SIGN_FLAGS = { ...RSA_INFO, flags: CKF_SIGN | CKF_VERIFY };

async function signingKey(key: KeyAccess, algorithm: RsaHashedImportParams, name: string): Promise<CryptoKey> {
  requireClass(key, CKO_PRIVATE_KEY, `${name} sign`);
  return key.cryptoKey(algorithm, ['sign']);
}

async function verifyingKey(key: KeyAccess, algorithm: RsaHashedImportParams, name: string): Promise<CryptoKey> {
  requireClass(key, CKO_PUBLIC_KEY, `${name} verify`);
  return key.cryptoKey(algorithm, ['verify']);
}

function rsaPkcs(mechanism: number, hash: HashName): MechanismProvider<undefined> {
  const name = ckmName(mechanism);
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash };
  return {
    mechanism,
    info: SIGN_FLAGS,
    keyTypes: [CKK_RSA],
    check: (parameter) => noParameter(parameter, name),
    async sign(key, _parameter, crypto) {
      return bufferedSign(crypto, await signingKey(key, algorithm, name), algorithm);
    },
    async verify(key, _parameter, crypto) {
      const cryptoKey = await verifyingKey(key, algorithm, name);
      return bufferedVerify(crypto, cryptoKey, algorithm, Math.ceil(modulusBits(cryptoKey) / 8));
    },
  };
}

export interface PssParameter {
  saltLength: number;
}

/**
 * CK_RSA_PKCS_PSS_PARAMS for CKM_SHAx_RSA_PKCS_PSS: hashAlg must be the mechanism's hash and mgf its
 * MGF1 (WebCrypto uses one hash for both). The salt length is checked against the key at init.
 */
function rsaPss(mechanism: number, hash: HashName): MechanismProvider<PssParameter> {
  const name = ckmName(mechanism);
  const info = hashInfo(hash);
  const algorithm = { name: 'RSA-PSS', hash };
  const checkSalt = (cryptoKey: CryptoKey, saltLength: number): void => {
    // EMSA-PSS: emLen = ceil((modBits - 1) / 8) must hold hash, salt and two more bytes.
    const max = Math.ceil((modulusBits(cryptoKey) - 1) / 8) - info.length - 2;
    if (max < 0) throw ckr(CKR_KEY_SIZE_RANGE, `${name}: the key is too short for ${hash}`);
    if (saltLength > max) {
      throw ckr(CKR_MECHANISM_PARAM_INVALID, `${name}.saltLen: ${saltLength} exceeds ${max} for this key`);
    }
  };
  return {
    mechanism,
    info: SIGN_FLAGS,
    keyTypes: [CKK_RSA],
    check(parameter) {
      const record = paramRecord(parameter, name);
      const hashAlg = paramUlong(record, 'hashAlg', name);
      if (hashAlg !== info.ckm) {
        throw ckr(CKR_MECHANISM_PARAM_INVALID, `${name}.hashAlg: expected ${ckmName(info.ckm)}, got ${ckmName(hashAlg)}`);
      }
      const mgf = paramUlong(record, 'mgf', name);
      if (mgf !== info.mgf) {
        throw ckr(
          CKR_MECHANISM_PARAM_INVALID,
          `${name}.mgf: expected ${constantName('CKG_MGF1', info.mgf)}, got ${constantName('CKG_MGF1', mgf)}`,
        );
      }
      return { saltLength: paramUlong(record, 'saltLen', name) };
    },
    async sign(key, parameter, crypto) {
      const cryptoKey = await signingKey(key, algorithm, name);
      checkSalt(cryptoKey, parameter.saltLength);
      return bufferedSign(crypto, cryptoKey, { name: 'RSA-PSS', saltLength: parameter.saltLength });
    },
    async verify(key, parameter, crypto) {
      const cryptoKey = await verifyingKey(key, algorithm, name);
      checkSalt(cryptoKey, parameter.saltLength);
      const length = Math.ceil(modulusBits(cryptoKey) / 8);
      return bufferedVerify(crypto, cryptoKey, { name: 'RSA-PSS', saltLength: parameter.saltLength }, length);
    },
  };
}

export const rsaSignProviders: MechanismProvider<undefined>[] = [
  rsaPkcs(CKM_SHA1_RSA_PKCS, 'SHA-1'),
  rsaPkcs(CKM_SHA256_RSA_PKCS, 'SHA-256'),
  rsaPkcs(CKM_SHA384_RSA_PKCS, 'SHA-384'),
  rsaPkcs(CKM_SHA512_RSA_PKCS, 'SHA-512'),
];

export const rsaPssProviders: MechanismProvider<PssParameter>[] = [
  rsaPss(CKM_SHA1_RSA_PKCS_PSS, 'SHA-1'),
  rsaPss(CKM_SHA256_RSA_PKCS_PSS, 'SHA-256'),
  rsaPss(CKM_SHA384_RSA_PKCS_PSS, 'SHA-384'),
  rsaPss(CKM_SHA512_RSA_PKCS_PSS, 'SHA-512'),
];
