/**
 * Ed25519: CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA (pure Ed25519). WebCrypto has neither
 * Ed25519ph nor Ed25519ctx, so EddsaParams with phFlag or a context are refused. Both providers
 * probe the runtime: Ed25519 in WebCrypto is recent (Node 20, Chromium 137+, Firefox 129+).
 */
import {
  CKF_GENERATE_KEY_PAIR,
  CKF_SIGN,
  CKF_VERIFY,
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EDDSA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKR_MECHANISM_PARAM_INVALID,
} from '@vhsm/pkcs11';
import { ckr } from '../../errors.js';
import type { MechanismProvider } from '../types.js';
import { bufferedSign, bufferedVerify, noParameter, paramBytes, paramRecord, requireClass } from './common.js';
import { ED25519 } from './curves.js';
import { keyPairMaterial, requestedCurve } from './ec.js';

const ALGORITHM = { name: 'Ed25519' };
const INFO = { minKeySize: 256, maxKeySize: 256 } as const;

/** Signs and verifies one message with a fresh key: generateKey alone can succeed where sign is missing. */
export async function probeEd25519(crypto: Crypto): Promise<boolean> {
  const pair = (await crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
  const data = new Uint8Array(1);
  const signature = await crypto.subtle.sign(ALGORITHM, pair.privateKey, data);
  return crypto.subtle.verify(ALGORITHM, pair.publicKey, signature, data);
}

export const edwardsKeyPairGen: MechanismProvider<undefined> = {
  mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN,
  info: { ...INFO, flags: CKF_GENERATE_KEY_PAIR },
  probe: probeEd25519,
  check: (parameter) => noParameter(parameter, 'CKM_EC_EDWARDS_KEY_PAIR_GEN'),
  async generateKeyPair(publicRequest, privateRequest, _parameter, crypto) {
    const curve = requestedCurve(publicRequest, privateRequest, CKK_EC_EDWARDS);
    const pair = (await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
    return keyPairMaterial(crypto, pair, curve, publicRequest, privateRequest);
  },
};

/** CK_EDDSA_PARAMS: absent, or phFlag false without context (that is plain Ed25519). */
export function checkEddsa(parameter: unknown): undefined {
  if (parameter === undefined || parameter === null || parameter instanceof Uint8Array) {
    return noParameter(parameter, 'CKM_EDDSA');
  }
  const record = paramRecord(parameter, 'CKM_EDDSA');
  const phFlag = record['phFlag'];
  if (phFlag !== undefined && typeof phFlag !== 'boolean') {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'CKM_EDDSA.phFlag: expected a boolean');
  }
  if (phFlag === true) throw ckr(CKR_MECHANISM_PARAM_INVALID, 'CKM_EDDSA.phFlag: Ed25519ph is not available in WebCrypto');
  const context = paramBytes(record, 'contextData', 'CKM_EDDSA');
  if (context !== undefined && context.length > 0) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'CKM_EDDSA.contextData: Ed25519ctx is not available in WebCrypto');
  }
  return undefined;
}

export const eddsa: MechanismProvider<undefined> = {
  mechanism: CKM_EDDSA,
  singlePart: true,
  info: { ...INFO, flags: CKF_SIGN | CKF_VERIFY },
  keyTypes: [CKK_EC_EDWARDS],
  probe: probeEd25519,
  check: checkEddsa,
  async sign(key, _parameter, crypto) {
    requireClass(key, CKO_PRIVATE_KEY, 'CKM_EDDSA sign');
    return bufferedSign(crypto, await key.cryptoKey(ALGORITHM, ['sign']), ALGORITHM);
  },
  async verify(key, _parameter, crypto) {
    requireClass(key, CKO_PUBLIC_KEY, 'CKM_EDDSA verify');
    return bufferedVerify(crypto, await key.cryptoKey(ALGORITHM, ['verify']), ALGORITHM, 2 * ED25519.size);
  },
};
