/**
 * Asymmetric mechanisms on WebCrypto: RSA (PKCS#1 v1.5 and PSS with SHA-x, OAEP), EC (P-256/384/521
 * ECDSA with SHA-x, ECDH), Ed25519, and the key type codecs for CKK_RSA, CKK_EC, CKK_EC_EDWARDS.
 */
import type { KeyTypeCodec, MechanismProvider } from '../types.js';
import { ecCodec, edwardsCodec, rsaCodec } from './codecs.js';
import { ecKeyPairGen, ecdsaProviders } from './ec.js';
import { ecdh1Derive } from './ecdh.js';
import { eddsa, edwardsKeyPairGen } from './eddsa.js';
import { rsaOaep } from './oaep.js';
import { rsaKeyPairGen, rsaPssProviders, rsaSignProviders } from './rsa.js';

export const asymmetricProviders: MechanismProvider[] = [
  rsaKeyPairGen,
  ...rsaSignProviders,
  ...rsaPssProviders,
  rsaOaep,
  ecKeyPairGen,
  ...ecdsaProviders,
  ecdh1Derive,
  edwardsKeyPairGen,
  eddsa,
] as MechanismProvider[];

export const asymmetricKeyTypes: KeyTypeCodec[] = [rsaCodec, ecCodec, edwardsCodec];
