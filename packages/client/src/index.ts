// @vhsm/client: the page side of vhsm.
export * from '@vhsm/pkcs11';
export { connect } from './connect.js';
export type { ConnectOptions, VhsmConnection } from './connect.js';
export { Remote, rebuildError } from './remote.js';
export { batch } from './batch.js';
export type { BatchError, BatchOptions, Pkcs11Call, Pkcs11Results } from './batch.js';
export { CallTrace, REDACTED, redactArgs, redactResult } from './trace.js';
export type { Trace, TraceRecord } from './trace.js';
export { VhsmCryptoKey, VhsmSubtle } from './subtle/subtle.js';
export type { FacadeOptions, KeyAlgorithmLike, VhsmCryptoKeyPair } from './subtle/subtle.js';
export { facadeError, toFacadeError } from './subtle/errors.js';
export type { FacadeError, WebCryptoErrorName } from './subtle/errors.js';
export { KeyStorage, idOf } from './key-storage.js';
export { CertStorage, parseCertificate } from './cert-storage.js';
export type { CertSetOptions } from './cert-storage.js';
export { findByUri, formatUri, parseUri, uriTemplate } from './uri.js';
export type { ObjectTypeName, Pkcs11Uri } from './uri.js';
export * from './friendly/index.js';
