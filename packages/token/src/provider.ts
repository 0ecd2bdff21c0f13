/**
 * A token the engine does not hold: a smart card or security key reached through @vhsm/bridge. The
 * engine keeps sessions, handles, login state and operation state; the provider answers from the
 * device (token info, PIN state, objects) and runs the private-key operations on it. Keys never
 * leave the device, so a provider has no way to hand out key material.
 *
 * Failures a caller can cause are thrown as Pkcs11Error with the precise CK_RV (CKR_PIN_INCORRECT,
 * CKR_PIN_LOCKED, CKR_DEVICE_REMOVED, …); the engine passes the code through.
 */
import type { Attribute, Mechanism, MechanismInfo, Version } from '@vhsm/pkcs11';

export interface ProviderTokenInfo {
  label: string;
  manufacturerID: string;
  model: string;
  serialNumber: string;
  hardwareVersion: Version;
  firmwareVersion: Version;
  minPinLen: number;
  maxPinLen: number;
}

/** What the device says about the user PIN; the engine turns it into CKF_USER_PIN_* flags. */
export interface ProviderPinState {
  /** Tries left before the PIN locks (0: locked); absent when the device does not say. */
  retriesLeft?: number;
  /** Tries a fresh PIN has. */
  maxRetries?: number;
}

/**
 * CKU_USER, CKU_SO (the device's administrator secret: the PIV management key as hex, the OpenPGP
 * admin PIN), or a CKU_CONTEXT_SPECIFIC re-authentication for one operation.
 */
export type ProviderUser = 'user' | 'so' | 'context';

export interface ProviderObject {
  /** The provider's own name for it (a PIV slot, an OpenPGP key reference), stable while attached. */
  readonly ref: string;
  /**
   * Its attributes as C_GetAttributeValue returns them: CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_ID,
   * CKA_LABEL and the class's public values. A private key states CKA_SENSITIVE=true and
   * CKA_EXTRACTABLE=false and never carries a secret component.
   */
  readonly attributes: readonly Attribute[];
}

export type ProviderEvent = 'removed';

export interface TokenProvider {
  readonly slotDescription: string;
  tokenInfo(): Promise<ProviderTokenInfo>;
  pinState(): Promise<ProviderPinState>;
  /** Verify a PIN on the device (CKR_PIN_INCORRECT / CKR_PIN_LOCKED when it refuses). */
  login(user: ProviderUser, pin: string): Promise<void>;
  logout(): Promise<void>;
  /** C_SetPIN of the user: the device checks the old PIN and takes the new one. */
  changePin?(oldPin: string, newPin: string): Promise<void>;
  /** Every object on the device; the engine hides private ones until the user logs in. */
  objects(): Promise<readonly ProviderObject[]>;
  /** The mechanisms the device can run, by CKM_ code. */
  mechanisms(): ReadonlyMap<number, MechanismInfo>;
  /** One-shot signature with a private key; output in the same format as software keys (ECDSA r||s). */
  sign(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array>;
  /** One-shot decryption with a private key (C_Decrypt); padding removed as the mechanism says. */
  decrypt?(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array>;
  /**
   * A secret from a private key (C_DeriveKey): for CKM_ECDH1_DERIVE (CKD_NULL) the raw shared secret
   * Z for the peer's point in `publicData`; for a device mechanism (FIDO hmac-secret) its output.
   */
  deriveSecret?(key: string, mechanism: Mechanism): Promise<Uint8Array>;
  /**
   * Generate a key pair on the device (C_GenerateKeyPair). The device picks where from the templates
   * (e.g. CKA_ID for a PIV slot) and resolves to the refs of the new public and private key objects.
   */
  generateKeyPair?(mechanism: Mechanism, publicTemplate: readonly Attribute[], privateTemplate: readonly Attribute[]): Promise<{ publicKey: string; privateKey: string }>;
  /** Store an object the device can hold (C_CreateObject: a certificate for a key slot); resolves to its ref. */
  createObject?(template: readonly Attribute[]): Promise<string>;
  /** Register a listener; the returned function unregisters it. */
  on(event: ProviderEvent, listener: () => void): () => void;
  close(): Promise<void>;
}
