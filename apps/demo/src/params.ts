// Mechanism parameters the playground builds for the caller (fresh IVs, matching hash and MGF).
import {
  CKD_NULL, CKF_HKDF_SALT_NULL, CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKM_AES_CBC,
  CKM_AES_CBC_PAD, CKM_AES_CTR, CKM_AES_GCM, CKM_ECDH1_DERIVE, CKM_HKDF_DERIVE, CKM_RSA_PKCS_OAEP, CKM_SHA1_RSA_PKCS_PSS,
  CKM_SHA256, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512, CKM_SHA512_RSA_PKCS_PSS,
  CKM_SHA_1,
} from '@vhsm/pkcs11';
import type { Mechanism } from '@vhsm/pkcs11';

const PSS: Readonly<Record<number, readonly [number, number, number]>> = {
  [CKM_SHA1_RSA_PKCS_PSS]: [CKM_SHA_1, CKG_MGF1_SHA1, 20],
  [CKM_SHA256_RSA_PKCS_PSS]: [CKM_SHA256, CKG_MGF1_SHA256, 32],
  [CKM_SHA384_RSA_PKCS_PSS]: [CKM_SHA384, CKG_MGF1_SHA384, 48],
  [CKM_SHA512_RSA_PKCS_PSS]: [CKM_SHA512, CKG_MGF1_SHA512, 64],
};

/** Bytes of IV (or counter block) a cipher mechanism takes; 0 when it takes none. */
export function ivLength(mechanism: number): number {
  if (mechanism === CKM_AES_GCM) return 12;
  return mechanism === CKM_AES_CBC || mechanism === CKM_AES_CBC_PAD || mechanism === CKM_AES_CTR ? 16 : 0;
}

/** The CK_MECHANISM for a sign/verify/cipher/wrap mechanism, with `iv` where it takes one. */
export function mechanismFor(mechanism: number, iv: Uint8Array): Mechanism {
  const pss = PSS[mechanism];
  if (pss) return { mechanism, parameter: { hashAlg: pss[0], mgf: pss[1], saltLen: pss[2] } };
  if (mechanism === CKM_RSA_PKCS_OAEP) return { mechanism, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
  if (mechanism === CKM_AES_GCM) return { mechanism, parameter: { iv } };
  if (mechanism === CKM_AES_CBC || mechanism === CKM_AES_CBC_PAD) return { mechanism, parameter: iv };
  if (mechanism === CKM_AES_CTR) return { mechanism, parameter: { counterBits: 64, cb: iv } };
  return { mechanism };
}

/** The derivations the playground offers, with what each needs from the caller. */
export function deriveMechanism(mechanism: number, peerPoint: Uint8Array | undefined, info: Uint8Array): Mechanism | undefined {
  if (mechanism === CKM_ECDH1_DERIVE) {
    return peerPoint === undefined ? undefined : { mechanism, parameter: { kdf: CKD_NULL, publicData: peerPoint } };
  }
  if (mechanism === CKM_HKDF_DERIVE) {
    return { mechanism, parameter: { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_NULL, info } };
  }
  return undefined;
}
