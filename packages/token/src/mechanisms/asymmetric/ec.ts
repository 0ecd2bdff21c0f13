/** EC on NIST curves: CKM_EC_KEY_PAIR_GEN and CKM_ECDSA_SHAx (signatures are r||s, as PKCS#11 has them). */
import {
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_KEY_TYPE,
  CKF_EC_F_P,
  CKF_EC_OID,
  CKF_EC_UNCOMPRESS,
  CKF_GENERATE_KEY_PAIR,
  CKF_SIGN,
  CKF_VERIFY,
  CKK_EC,
  CKM_ECDSA_SHA1,
  CKM_ECDSA_SHA256,
  CKM_ECDSA_SHA384,
  CKM_ECDSA_SHA512,
  CKM_EC_KEY_PAIR_GEN,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT,
  ckmName,
} from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { Attribute } from '@vhsm/pkcs11';
import type { KeyAccess, KeyRequest, MechanismProvider, NewKeyPairMaterial } from '../types.js';
import { bufferedSign, bufferedVerify, noParameter, preferGiven, requireClass, type HashName } from './common.js';
import { type Curve, encodeEcParams, encodeEcPoint, parseEcParams } from './curves.js';

export const EC_FLAGS = CKF_EC_F_P | CKF_EC_OID | CKF_EC_UNCOMPRESS;
export const EC_INFO = { minKeySize: 256, maxKeySize: 521 } as const;

/** The curve of a key object, from its CKA_EC_PARAMS. */
export function keyCurve(key: KeyAccess): Curve {
  return parseEcParams(key.attributes.get(CKA_EC_PARAMS), key.keyType);
}

/**
 * The curve a key pair generation asks for: CKA_EC_PARAMS in the public template (required); the
 * private template may repeat it but not contradict it.
 */
export function requestedCurve(publicRequest: KeyRequest, privateRequest: KeyRequest, keyType: number): Curve {
  const params = publicRequest.attributes.get(CKA_EC_PARAMS);
  if (params === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS: required in the public key template');
  const curve = parseEcParams(params, keyType);
  const privateParams = privateRequest.attributes.get(CKA_EC_PARAMS);
  if (privateParams !== undefined && parseEcParams(privateParams, keyType) !== curve) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_EC_PARAMS: private template names another curve');
  }
  return curve;
}

/**
 * Attributes of a fresh EC or Edwards pair: CKA_EC_PARAMS on both halves (in the caller's own
 * encoding when given, e.g. the "edwards25519" PrintableString), CKA_EC_POINT on the public one.
 */
export async function keyPairMaterial(
  crypto: Crypto,
  pair: CryptoKeyPair,
  curve: Curve,
  publicRequest: KeyRequest,
  privateRequest: KeyRequest,
): Promise<NewKeyPairMaterial> {
  const point = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const given = publicRequest.attributes.get(CKA_EC_PARAMS);
  const ecParams = given instanceof Uint8Array ? given : encodeEcParams(curve);
  const params = (request: KeyRequest): Attribute =>
    preferGiven(request.attributes, CKA_EC_PARAMS, ecParams, (v) => parseEcParams(v, curve.keyType) === curve);
  return {
    publicKey: {
      key: pair.publicKey,
      format: 'spki',
      attributes: [
        { type: CKA_KEY_TYPE, value: curve.keyType },
        params(publicRequest),
        { type: CKA_EC_POINT, value: encodeEcPoint(point) },
      ],
    },
    privateKey: {
      key: pair.privateKey,
      format: 'pkcs8',
      attributes: [{ type: CKA_KEY_TYPE, value: curve.keyType }, params(privateRequest)],
    },
  };
}

export const ecKeyPairGen: MechanismProvider<undefined> = {
  mechanism: CKM_EC_KEY_PAIR_GEN,
  info: { ...EC_INFO, flags: CKF_GENERATE_KEY_PAIR | EC_FLAGS },
  check: (parameter) => noParameter(parameter, 'CKM_EC_KEY_PAIR_GEN'),
  async generateKeyPair(publicRequest, privateRequest, _parameter, crypto) {
    const curve = requestedCurve(publicRequest, privateRequest, CKK_EC);
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve.name }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    return keyPairMaterial(crypto, pair, curve, publicRequest, privateRequest);
  },
};

function ecdsa(mechanism: number, hash: HashName): MechanismProvider<undefined> {
  const name = ckmName(mechanism);
  return {
    mechanism,
    info: { ...EC_INFO, flags: CKF_SIGN | CKF_VERIFY | EC_FLAGS },
    keyTypes: [CKK_EC],
    check: (parameter) => noParameter(parameter, name),
    async sign(key, _parameter, crypto) {
      requireClass(key, CKO_PRIVATE_KEY, `${name} sign`);
      const curve = keyCurve(key);
      const cryptoKey = await key.cryptoKey({ name: 'ECDSA', namedCurve: curve.name }, ['sign']);
      return bufferedSign(crypto, cryptoKey, { name: 'ECDSA', hash });
    },
    async verify(key, _parameter, crypto) {
      requireClass(key, CKO_PUBLIC_KEY, `${name} verify`);
      const curve = keyCurve(key);
      const cryptoKey = await key.cryptoKey({ name: 'ECDSA', namedCurve: curve.name }, ['verify']);
      return bufferedVerify(crypto, cryptoKey, { name: 'ECDSA', hash }, 2 * curve.size);
    },
  };
}

export const ecdsaProviders: MechanismProvider<undefined>[] = [
  ecdsa(CKM_ECDSA_SHA1, 'SHA-1'),
  ecdsa(CKM_ECDSA_SHA256, 'SHA-256'),
  ecdsa(CKM_ECDSA_SHA384, 'SHA-384'),
  ecdsa(CKM_ECDSA_SHA512, 'SHA-512'),
];
