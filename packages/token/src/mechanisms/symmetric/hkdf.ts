/**
 * CKM_HKDF_DERIVE (RFC 5869 extract-then-expand, v3.0 CK_HKDF_PARAMS) through WebCrypto HKDF deriveKey,
 * and CKM_HKDF_KEY_GEN. Extract-only and expand-only are refused: WebCrypto always does both, and
 * doing either half by hand would put key bytes in JavaScript. So is a salt taken from a key object.
 */
import {
  CKF_DERIVE,
  CKF_GENERATE,
  CKF_HKDF_SALT_DATA,
  CKF_HKDF_SALT_KEY,
  CKF_HKDF_SALT_NULL,
  CKK_AES,
  CKK_GENERIC_SECRET,
  CKK_HKDF,
  CKM_HKDF_DERIVE,
  CKM_HKDF_KEY_GEN,
  CKM_SHA256,
  CKM_SHA384,
  CKM_SHA512,
  CKM_SHA_1,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { HASH_BYTES, deriveSecret } from './kdf.js';
import { GENERIC_MAX_BYTES, generateSecret, requiredSecretLength } from './keys.js';
import { aboolean, abytes, anone, anumber, aobject } from './util.js';

const PRF_HASHES: Record<number, string> = {
  [CKM_SHA_1]: 'SHA-1',
  [CKM_SHA256]: 'SHA-256',
  [CKM_SHA384]: 'SHA-384',
  [CKM_SHA512]: 'SHA-512',
};

export function checkHkdfParams(parameter: unknown): HkdfParams {
  const p = aobject(parameter, 'CK_HKDF_PARAMS');
  const extract = aboolean(p['extract'], 'extract');
  const expand = aboolean(p['expand'], 'expand');
  if (!extract || !expand) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'extract/expand: only extract-then-expand is supported');
  }
  const prf = anumber(p['prfHashMechanism'], 'prfHashMechanism');
  const hash = PRF_HASHES[prf];
  if (hash === undefined) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `prfHashMechanism: expected CKM_SHA_1/SHA256/SHA384/SHA512, got 0x${prf.toString(16)}`);
  }
  const saltType = anumber(p['saltType'], 'saltType');
  let salt: Uint8Array<ArrayBuffer>;
  if (saltType === CKF_HKDF_SALT_NULL) {
    if (p['salt'] !== undefined && p['salt'] !== null && abytes(p['salt'], 'salt').length > 0) {
      throw ckr(CKR_MECHANISM_PARAM_INVALID, 'salt: must be absent with CKF_HKDF_SALT_NULL');
    }
    // RFC 5869: no salt is HashLen zero bytes, which HMAC treats exactly like an empty key.
    salt = new Uint8Array(0);
  } else if (saltType === CKF_HKDF_SALT_DATA) {
    salt = own(abytes(p['salt'], 'salt', { min: 1 }));
  } else if (saltType === CKF_HKDF_SALT_KEY) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'saltType: CKF_HKDF_SALT_KEY is not supported (the salt key would enter JavaScript)');
  } else {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `saltType: expected CKF_HKDF_SALT_NULL or CKF_HKDF_SALT_DATA, got ${saltType}`);
  }
  const info = p['info'] === undefined || p['info'] === null ? new Uint8Array(0) : own(abytes(p['info'], 'info'));
  return { name: 'HKDF', hash, salt, info };
}

export const hkdfDerive: MechanismProvider<HkdfParams> = {
  mechanism: CKM_HKDF_DERIVE,
  info: { minKeySize: 1, maxKeySize: GENERIC_MAX_BYTES, flags: CKF_DERIVE },
  keyTypes: [CKK_GENERIC_SECRET, CKK_HKDF, CKK_AES],
  async probe(crypto) {
    const base = await crypto.subtle.importKey('raw', new Uint8Array(16), 'HKDF', false, ['deriveKey']);
    const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new Uint8Array(0) };
    await crypto.subtle.deriveKey(params, base, { name: 'HMAC', hash: 'SHA-256', length: 128 }, true, ['sign']);
    return true;
  },
  check: checkHkdfParams,
  async derive(baseKey, request, params, crypto) {
    const base = await baseKey.cryptoKey({ name: 'HKDF' }, ['deriveKey']);
    const hashLen = HASH_BYTES[params.hash as string] ?? 0;
    return deriveSecret(crypto, request, params, base, 255 * hashLen);
  },
};

export const hkdfKeyGen: MechanismProvider<undefined> = {
  mechanism: CKM_HKDF_KEY_GEN,
  info: { minKeySize: 1, maxKeySize: GENERIC_MAX_BYTES, flags: CKF_GENERATE },
  async probe(crypto) {
    await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, true, ['sign']);
    return true;
  },
  check: (parameter) => anone(parameter, 'CKM_HKDF_KEY_GEN parameter'),
  async generateKey(request, _parameter, crypto) {
    if (request.keyType !== CKK_HKDF) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, 'CKA_KEY_TYPE: CKM_HKDF_KEY_GEN makes CKK_HKDF keys');
    }
    return generateSecret(crypto, CKK_HKDF, requiredSecretLength(request), CKM_HKDF_KEY_GEN);
  },
};
