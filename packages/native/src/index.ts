/** @vhsm/native: the vhsm C_ interface over a native PKCS#11 module (SoftHSM2, OpenSC, an HSM), Node only. */
export { NativeCryptoki } from './native-cryptoki.js';
export type { NativeCryptokiOptions } from './native-cryptoki.js';
export { SOFTHSM2_DEFAULT_LIBRARY, createSoftHsmConfig, initToken, softHsmLibrary } from './softhsm.js';
export type { SoftHsmConfig, TokenSetup } from './softhsm.js';
