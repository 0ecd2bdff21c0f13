/** Symmetric mechanisms (AES, HMAC, digests, HKDF, PBKDF2) and the secret key types, for the registry. */
import type { KeyTypeCodec, MechanismProvider } from '../types.js';
import { aesCbc } from './aes-cbc.js';
import { aesCbcPad } from './aes-cbc-pad.js';
import { aesCtr } from './aes-ctr.js';
import { aesEcb } from './aes-ecb.js';
import { aesGcm } from './aes-gcm.js';
import { aesKeyGen } from './aes-keygen.js';
import { aesKeyWrap } from './aes-kw.js';
import { digestProviders } from './digest.js';
import { genericSecretKeyGen } from './generic-keygen.js';
import { hkdfDerive, hkdfKeyGen } from './hkdf.js';
import { hmacProviders } from './hmac.js';
import { secretKeyTypes } from './keys.js';
import { pbkdf2 } from './pbkdf2.js';

export const symmetricProviders: MechanismProvider[] = [
  aesKeyGen,
  aesGcm,
  aesCbcPad,
  aesKeyWrap,
  aesCtr,
  aesCbc,
  aesEcb,
  ...digestProviders,
  genericSecretKeyGen,
  ...hmacProviders,
  hkdfDerive,
  hkdfKeyGen,
  pbkdf2,
];

export const symmetricKeyTypes: KeyTypeCodec[] = secretKeyTypes;
