/**
 * CKM_ECDH1_DERIVE with CKD_NULL: the shared secret goes straight into a new AES or generic secret
 * key through WebCrypto deriveKey and never appears in JavaScript.
 *
 * Truncation: when CKA_VALUE_LEN is shorter than the secret, SoftHSM2 (and NSS) keep its TRAILING
 * bytes, while WebCrypto's deriveKey keeps the LEADING ones. To match PKCS#11 tokens byte for byte
 * the trailing bytes are cut inside WebCrypto: the whole secret is wrapped under a fresh,
 * non-extractable AES-CTR key, the ciphertext's tail is unwrapped with the counter advanced to
 * that offset. This needs the dropped prefix to be whole 16-byte blocks (P-256 → 16 bytes,
 * P-384 → 16 or 32 bytes, …); other lengths are refused with CKR_TEMPLATE_INCONSISTENT rather
 * than giving a key no other token would derive. The ciphertext seen in JavaScript is the secret
 * under a one-time key that never leaves WebCrypto, so it reveals nothing.
 */
import {
  CKD_NULL,
  CKF_DERIVE,
  CKK_AES,
  CKK_EC,
  CKM_ECDH1_DERIVE,
  CKO_PRIVATE_KEY,
  CKR_MECHANISM_PARAM_INVALID,
  CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { own } from '../../bytes.js';
import { ckr } from '../../errors.js';
import { GENERIC_KEY_TYPES, secretCarrier, secretTarget, valueLenAttributes } from '../symmetric/keys.js';
import { mapFailure } from '../symmetric/util.js';
import type { MechanismProvider } from '../types.js';
import { paramBytes, paramRecord, paramUlong, requireClass, valueLen } from './common.js';
import { type Curve, parseEcPoint } from './curves.js';
import { EC_FLAGS, EC_INFO, keyCurve } from './ec.js';

const NAME = 'CKM_ECDH1_DERIVE';
const BLOCK = 16;

export interface EcdhParameter {
  publicData: Uint8Array;
}

/** CK_ECDH1_DERIVE_PARAMS: kdf CKD_NULL only (the X9.63 KDFs hash the secret, which WebCrypto cannot), no sharedData. */
export function checkEcdh(parameter: unknown): EcdhParameter {
  const record = paramRecord(parameter, NAME);
  const kdf = paramUlong(record, 'kdf', NAME);
  if (kdf !== CKD_NULL) throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.kdf: only CKD_NULL is supported`);
  const shared = paramBytes(record, 'sharedData', NAME);
  if (shared !== undefined && shared.length > 0) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.sharedData: must be empty with CKD_NULL`);
  }
  const publicData = paramBytes(record, 'publicData', NAME);
  if (publicData === undefined || publicData.length === 0) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.publicData: the other party's public point is required`);
  }
  return { publicData };
}

/** CKA_VALUE_LEN, or SoftHSM2's default: the whole secret for generic keys, the largest AES size that fits. */
function derivedLength(keyType: number, given: number | undefined, curve: Curve): number {
  const secret = curve.size;
  const length = given ?? (keyType === CKK_AES ? ([32, 24, 16].find((n) => n <= secret) ?? 16) : secret);
  if (keyType === CKK_AES && ![16, 24, 32].includes(length)) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_VALUE_LEN: AES keys are 16, 24 or 32 bytes, got ${length}`);
  }
  if (length > secret) {
    throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_VALUE_LEN: ${length} bytes is more than the ${secret}-byte ${curve.name} secret`);
  }
  if ((secret - length) % BLOCK !== 0) {
    throw ckr(
      CKR_TEMPLATE_INCONSISTENT,
      `CKA_VALUE_LEN: PKCS#11 keeps the last ${length} of ${secret} secret bytes; WebCrypto can only cut whole 16-byte blocks off the front`,
    );
  }
  return length;
}

function counterBlock(blocks: number): Uint8Array<ArrayBuffer> {
  const counter = new Uint8Array(BLOCK);
  new DataView(counter.buffer).setUint32(BLOCK - 4, blocks);
  return counter;
}

export const ecdh1Derive: MechanismProvider<EcdhParameter> = {
  mechanism: CKM_ECDH1_DERIVE,
  info: { ...EC_INFO, flags: CKF_DERIVE | EC_FLAGS },
  keyTypes: [CKK_EC],
  check: checkEcdh,
  async derive(baseKey, request, parameter, crypto) {
    requireClass(baseKey, CKO_PRIVATE_KEY, `${NAME} derive`);
    const keyType = request.keyType;
    if (keyType !== CKK_AES && !(GENERIC_KEY_TYPES as readonly number[]).includes(keyType)) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `CKA_KEY_TYPE: ${NAME} derives AES or generic secret keys`);
    }
    const curve = keyCurve(baseKey);
    const length = derivedLength(keyType, valueLen(request.attributes), curve);
    const point = parseEcPoint(parameter.publicData, curve);
    if (point === undefined) {
      throw ckr(CKR_MECHANISM_PARAM_INVALID, `${NAME}.publicData: expected an uncompressed ${curve.name} point, raw or as DER OCTET STRING`);
    }
    const algorithm = { name: 'ECDH', namedCurve: curve.name };
    const peer = await mapFailure(CKR_MECHANISM_PARAM_INVALID, `${NAME}.publicData: not a point on ${curve.name}`, () =>
      crypto.subtle.importKey('raw', own(point), algorithm, true, []),
    );
    const privateKey = await baseKey.cryptoKey(algorithm, ['deriveKey']);
    const ecdh = { name: 'ECDH', public: peer };
    const { usages } = secretCarrier(keyType);
    const target = secretTarget(keyType, length);
    if (length === curve.size) {
      const key = await crypto.subtle.deriveKey(ecdh, privateKey, target, true, usages);
      return { key, format: 'raw', attributes: valueLenAttributes(key) };
    }
    // The whole secret as an HMAC key: HMAC takes any length, and only its raw bytes matter here.
    const whole = await crypto.subtle.deriveKey(ecdh, privateKey, { name: 'HMAC', hash: 'SHA-256', length: curve.size * 8 }, true, ['sign']);
    const oneTime = (await crypto.subtle.generateKey({ name: 'AES-CTR', length: 256 }, false, ['wrapKey', 'unwrapKey'])) as CryptoKey;
    const ctr = (blocks: number): AesCtrParams => ({ name: 'AES-CTR', counter: counterBlock(blocks), length: 32 });
    const sealed = new Uint8Array(await crypto.subtle.wrapKey('raw', whole, oneTime, ctr(0)));
    const drop = curve.size - length;
    const key = await crypto.subtle.unwrapKey('raw', own(sealed.subarray(drop)), oneTime, ctr(drop / BLOCK), target, true, usages);
    return { key, format: 'raw', attributes: valueLenAttributes(key) };
  },
};
