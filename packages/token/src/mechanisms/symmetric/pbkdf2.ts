/**
 * CKM_PKCS5_PBKD2 (C_GenerateKey with CK_PKCS5_PBKD2_PARAMS2) through WebCrypto PBKDF2 deriveKey, into
 * an AES or generic secret key. The password is the caller's, so it may pass through JavaScript.
 */
import {
  CKF_GENERATE,
  CKM_PKCS5_PBKD2,
  CKP_PKCS5_PBKD2_HMAC_SHA1,
  CKP_PKCS5_PBKD2_HMAC_SHA256,
  CKP_PKCS5_PBKD2_HMAC_SHA384,
  CKP_PKCS5_PBKD2_HMAC_SHA512,
  CKR_FUNCTION_FAILED,
  CKR_MECHANISM_PARAM_INVALID,
  CKZ_SALT_SPECIFIED,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { deriveSecret } from './kdf.js';
import { GENERIC_MAX_BYTES } from './keys.js';
import { abytes, anumber, aobject, mapFailure } from './util.js';

const PRFS: Record<number, string> = {
  [CKP_PKCS5_PBKD2_HMAC_SHA1]: 'SHA-1',
  [CKP_PKCS5_PBKD2_HMAC_SHA256]: 'SHA-256',
  [CKP_PKCS5_PBKD2_HMAC_SHA384]: 'SHA-384',
  [CKP_PKCS5_PBKD2_HMAC_SHA512]: 'SHA-512',
};

// WebCrypto takes the count as an unsigned long; beyond 2^31 - 1 implementations differ.
const MAX_ITERATIONS = 0x7fffffff;

export interface Pbkdf2CheckedParams {
  algorithm: Pbkdf2Params;
  password: Uint8Array<ArrayBuffer>;
}

export function checkPbkdf2Params(parameter: unknown): Pbkdf2CheckedParams {
  const p = aobject(parameter, 'CK_PKCS5_PBKD2_PARAMS2');
  const saltSource = anumber(p['saltSource'], 'saltSource');
  if (saltSource !== CKZ_SALT_SPECIFIED) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `saltSource: expected CKZ_SALT_SPECIFIED, got ${saltSource}`);
  }
  const salt = own(abytes(p['saltSourceData'], 'saltSourceData'));
  const iterations = anumber(p['iterations'], 'iterations');
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `iterations: expected 1..${MAX_ITERATIONS}, got ${iterations}`);
  }
  const prf = anumber(p['prf'], 'prf');
  const hash = PRFS[prf];
  if (hash === undefined) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `prf: expected CKP_PKCS5_PBKD2_HMAC_SHA1/SHA256/SHA384/SHA512, got ${prf}`);
  }
  if (p['prfData'] !== undefined && p['prfData'] !== null && abytes(p['prfData'], 'prfData').length > 0) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'prfData: must be empty for the HMAC PRFs');
  }
  const pw = p['password'];
  const password = typeof pw === 'string' ? new TextEncoder().encode(pw) : own(abytes(pw, 'password'));
  return { algorithm: { name: 'PBKDF2', hash, salt, iterations }, password };
}

export const pbkdf2: MechanismProvider<Pbkdf2CheckedParams> = {
  mechanism: CKM_PKCS5_PBKD2,
  info: { minKeySize: 1, maxKeySize: GENERIC_MAX_BYTES, flags: CKF_GENERATE },
  async probe(crypto) {
    const base = await crypto.subtle.importKey('raw', new Uint8Array(8), 'PBKDF2', false, ['deriveKey']);
    const params = { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(8), iterations: 1 };
    await crypto.subtle.deriveKey(params, base, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);
    return true;
  },
  check: checkPbkdf2Params,
  async generateKey(request, p, crypto) {
    const base = await mapFailure(CKR_FUNCTION_FAILED, 'PBKDF2 password import failed', () =>
      crypto.subtle.importKey('raw', p.password, 'PBKDF2', false, ['deriveKey']),
    );
    // PBKDF2's own limit, (2^32 - 1) hash blocks, is far beyond any key we make.
    return deriveSecret(crypto, request, p.algorithm, base, GENERIC_MAX_BYTES, CKM_PKCS5_PBKD2);
  },
};
