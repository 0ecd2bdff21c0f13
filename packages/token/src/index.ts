export * from '@vhsm/pkcs11';
export { Cryptoki } from './cryptoki.js';
export type { CryptokiOptions } from './cryptoki.js';
export { Engine, DEFAULT_MAX_PIN_TRIES, DEFAULT_PBKDF2_ITERATIONS, MAX_PIN_LENGTH, MIN_PIN_LENGTH } from './engine.js';
export type { EngineOptions } from './engine.js';
export { factorPin, FACTOR_PREFIX, MAX_FACTORS } from './factors.js';
export type { FactorInfo, UserFactor } from './factors.js';
export { MemoryStore } from './store.js';
export type {
  Commit, FactorRecord, ObjectRecord, PinRecord, SealedBlob, StoredAttributes, StoredMaterial, TokenRecord, TokenStore,
} from './store.js';
export type { PolicyName } from './policy/policy.js';
export type {
  ProviderEvent, ProviderObject, ProviderPinState, ProviderTokenInfo, ProviderUser, TokenProvider,
} from './provider.js';
