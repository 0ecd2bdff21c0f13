/**
 * CKM_RSA_PKCS_OAEP: encrypt/decrypt (single-part in PKCS#11; update only buffers) and wrap/unwrap
 * of secret keys (raw value) and private keys (PKCS#8), all inside WebCrypto.
 */
import {
  CKF_DECRYPT,
  CKF_ENCRYPT,
  CKF_UNWRAP,
  CKF_WRAP,
  CKK_RSA,
  CKM_RSA_PKCS_OAEP,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_DATA_LEN_RANGE,
  CKR_ENCRYPTED_DATA_INVALID,
  CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_KEY_SIZE_RANGE,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_WRAPPED_KEY_LEN_RANGE,
  CKZ_DATA_SPECIFIED,
  constantName,
  ckmName,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import { requestedClass } from '../symmetric/aes.js';
import { unwrapAs, wrappableKey } from '../symmetric/keys.js';
import { mapFailure, oneShot } from '../symmetric/util.js';
import type { KeyAccess, MechanismProvider } from '../types.js';
import { HASHES, type HashInfo, paramBytes, paramRecord, paramUlong, requireClass } from './common.js';
import { RSA_INFO, modulusBits } from './rsa.js';

export interface OaepParameter {
  hash: HashInfo;
  label: Uint8Array<ArrayBuffer> | undefined;
}

const NAME = 'CKM_RSA_PKCS_OAEP';

/**
 * CK_RSA_PKCS_OAEP_PARAMS: hashAlg SHA-1/256/384/512 (WebCrypto has no SHA-224), mgf the MGF1 of
 * that same hash (WebCrypto uses one hash for both), source CKZ_DATA_SPECIFIED (or absent) with
 * sourceData as the label.
 */
export function checkOaep(parameter: unknown): OaepParameter {
  const record = paramRecord(parameter, NAME);
  const hashAlg = paramUlong(record, 'hashAlg', NAME);
  const hash = HASHES.find((h) => h.ckm === hashAlg);
  if (hash === undefined) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.hashAlg: ${ckmName(hashAlg)} is not SHA-1/256/384/512`);
  }
  const mgf = paramUlong(record, 'mgf', NAME);
  if (mgf !== hash.mgf) {
    throw ckr(
      CKR_MECHANISM_PARAM_INVALID,
      `${NAME}.mgf: expected ${constantName('CKG_MGF1', hash.mgf)}, got ${constantName('CKG_MGF1', mgf)}`,
    );
  }
  if (record['source'] !== undefined && paramUlong(record, 'source', NAME) !== CKZ_DATA_SPECIFIED) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.source: expected CKZ_DATA_SPECIFIED`);
  }
  const sourceData = paramBytes(record, 'sourceData', NAME);
  return { hash, label: sourceData === undefined || sourceData.length === 0 ? undefined : own(sourceData) };
}

function algorithm(parameter: OaepParameter): RsaOaepParams {
  return parameter.label === undefined ? { name: 'RSA-OAEP' } : { name: 'RSA-OAEP', label: parameter.label };
}

function oaepKey(key: KeyAccess, parameter: OaepParameter, usage: KeyUsage): Promise<CryptoKey> {
  return key.cryptoKey({ name: 'RSA-OAEP', hash: parameter.hash.name }, [usage]);
}

export const rsaOaep: MechanismProvider<OaepParameter> = {
  singlePart: true,
  mechanism: CKM_RSA_PKCS_OAEP,
  info: { ...RSA_INFO, flags: CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP },
  keyTypes: [CKK_RSA],
  check: checkOaep,
  async encrypt(key, parameter, crypto) {
    requireClass(key, CKO_PUBLIC_KEY, `${NAME} encrypt`);
    const cryptoKey = await oaepKey(key, parameter, 'encrypt');
    // RFC 8017 §7.1.1: mLen <= k - 2hLen - 2.
    const max = Math.ceil(modulusBits(cryptoKey) / 8) - 2 * parameter.hash.length - 2;
    if (max < 0) throw ckr(CKR_KEY_SIZE_RANGE, `${NAME}: the key is too short for ${parameter.hash.name}`);
    return oneShot(async (data) => {
      if (data.length > max) throw ckr(CKR_DATA_LEN_RANGE, `data: ${data.length} bytes, at most ${max} fit this key`);
      return new Uint8Array(await crypto.subtle.encrypt(algorithm(parameter), cryptoKey, data));
    });
  },
  async decrypt(key, parameter, crypto) {
    requireClass(key, CKO_PRIVATE_KEY, `${NAME} decrypt`);
    const cryptoKey = await oaepKey(key, parameter, 'decrypt');
    const k = Math.ceil(modulusBits(cryptoKey) / 8);
    return oneShot(async (data) => {
      if (data.length !== k) throw ckr(CKR_ENCRYPTED_DATA_LEN_RANGE, `data: expected ${k} bytes, got ${data.length}`);
      return new Uint8Array(
        await mapFailure(CKR_ENCRYPTED_DATA_INVALID, 'data: OAEP decoding failed', () =>
          crypto.subtle.decrypt(algorithm(parameter), cryptoKey, data),
        ),
      );
    });
  },
  async wrap(wrappingKey, key, parameter, crypto) {
    requireClass(wrappingKey, CKO_PUBLIC_KEY, `${NAME} wrap`);
    const kek = await oaepKey(wrappingKey, parameter, 'wrapKey');
    const target = await wrappableKey(key);
    return new Uint8Array(
      await mapFailure(CKR_KEY_SIZE_RANGE, 'key: its encoding is too long for OAEP under this wrapping key', () =>
        crypto.subtle.wrapKey(target.format, target.key, kek, algorithm(parameter)),
      ),
    );
  },
  async unwrap(unwrappingKey, wrapped, request, parameter, crypto) {
    requireClass(unwrappingKey, CKO_PRIVATE_KEY, `${NAME} unwrap`);
    const kek = await oaepKey(unwrappingKey, parameter, 'unwrapKey');
    const k = Math.ceil(modulusBits(kek) / 8);
    if (wrapped.length !== k) throw ckr(CKR_WRAPPED_KEY_LEN_RANGE, `wrapped key: expected ${k} bytes, got ${wrapped.length}`);
    return unwrapAs(request, requestedClass(request), (format, target, usages) =>
      crypto.subtle.unwrapKey(format, own(wrapped), kek, algorithm(parameter), target, true, usages),
    );
  },
};
