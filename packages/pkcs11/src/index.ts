// @vhsm/pkcs11: PKCS#11 v3.0 constants, names, Pkcs11Error and the Cryptoki types.
export * from './constants.js';
export * from './names.js';
export * from './errors.js';
export * from './attribute-kinds.js';
export * from './functions.js';
export type * from './types.js';
