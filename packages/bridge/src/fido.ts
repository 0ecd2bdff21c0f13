/**
 * A FIDO2 security key as a vhsm slot, mapped only where the mapping is honest (docs/hardware.md):
 * token info from authenticatorGetInfo, C_Login = a PIN/UV auth token from the key's PIN,
 * credentials as key objects (C_GenerateKeyPair = makeCredential with hmac-secret, CKA_LABEL the
 * RP id, CKA_ID the credential id), and hmac-secret as a derive mechanism of our own
 * (CKM_VHSM_FIDO_HMAC_SECRET, parameter: the 32-byte salt). No signing: an assertion signs
 * authenticator data and a client-data hash, never a caller's message.
 */
import {
  CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID,
  CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_MODIFIABLE, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN,
  CKA_TOKEN, CKA_VERIFY, CKF_DERIVE, CKF_GENERATE_KEY_PAIR, CKK_EC, CKM_EC_KEY_PAIR_GEN, CKM_VENDOR_DEFINED,
  CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_CURVE_NOT_SUPPORTED, CKR_DEVICE_REMOVED, CKR_FUNCTION_NOT_SUPPORTED,
  CKR_KEY_HANDLE_INVALID, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_TEMPLATE_INCOMPLETE,
  CKR_USER_TYPE_INVALID, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism, MechanismInfo } from '@vhsm/pkcs11';
import type {
  ProviderEvent, ProviderObject, ProviderPinState, ProviderTokenInfo, ProviderUser, TokenProvider,
} from '@vhsm/token';
import { Ctap2Client, PERMISSION_GET_ASSERTION, PERMISSION_MAKE_CREDENTIAL } from './ctap2.js';
import type { PinToken } from './ctap2.js';
import { CtapHidDevice } from './ctaphid.js';
import type { AuthenticatorInfo } from './ctaphid.js';
import { fail } from './errors.js';
import type { HidDeviceLike } from './hid.js';
import { hex } from './bytes.js';
import { tlv } from './tlv.js';

/** hmac-secret of a credential for a 32-byte salt (parameter: the salt as a Uint8Array). */
export const CKM_VHSM_FIDO_HMAC_SECRET = (CKM_VENDOR_DEFINED | 0x5648_0001) >>> 0;
const P256_PARAMS = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
/** CTAP2 authenticators count PIN tries down from 8. */
const MAX_PIN_RETRIES = 8;

const MECHANISMS: ReadonlyMap<number, MechanismInfo> = new Map([
  [CKM_EC_KEY_PAIR_GEN, { minKeySize: 256, maxKeySize: 256, flags: CKF_GENERATE_KEY_PAIR }],
  [CKM_VHSM_FIDO_HMAC_SECRET, { minKeySize: 256, maxKeySize: 256, flags: CKF_DERIVE }],
]);

export interface FidoCredential {
  credentialId: Uint8Array;
  rpId: string;
  /** Uncompressed P-256 point. */
  publicKey: Uint8Array;
}

/** Where disconnects are announced (pass `navigator.hid` in a browser). */
export interface HidEvents {
  addEventListener(type: 'disconnect', listener: (event: { readonly device: unknown }) => void): void;
  removeEventListener(type: 'disconnect', listener: (event: { readonly device: unknown }) => void): void;
}

export class FidoProvider implements TokenProvider {
  readonly slotDescription: string;
  readonly ctap: Ctap2Client;
  #info: AuthenticatorInfo;
  #token: PinToken | undefined;
  readonly #credentials = new Map<string, FidoCredential>();
  readonly #listeners = new Set<() => void>();
  #removed = false;

  private constructor(ctap: Ctap2Client, info: AuthenticatorInfo) {
    this.ctap = ctap;
    this.#info = info;
    this.slotDescription = ctap.hid.device.productName || 'FIDO2 security key';
  }

  static async open(device: HidDeviceLike, options: { hid?: HidEvents } = {}): Promise<FidoProvider> {
    const ctap = new Ctap2Client(await CtapHidDevice.open(device));
    const provider = new FidoProvider(ctap, await ctap.hid.getInfo());
    const events = options.hid;
    if (events) {
      const onDisconnect = (event: { readonly device: unknown }) => {
        if (event.device !== device) return;
        events.removeEventListener('disconnect', onDisconnect);
        provider.markRemoved();
      };
      events.addEventListener('disconnect', onDisconnect);
    }
    return provider;
  }

  /** Make a credential made elsewhere (stored by the application) known to this slot. */
  addCredential(credential: FidoCredential): void {
    this.#credentials.set(hex(credential.credentialId), { ...credential });
  }

  async tokenInfo(): Promise<ProviderTokenInfo> {
    return {
      label: 'FIDO2 security key', manufacturerID: 'FIDO', model: this.#info.versions.at(-1) ?? 'FIDO',
      serialNumber: hex(this.#info.aaguid).slice(0, 16), hardwareVersion: { major: 0, minor: 0 },
      firmwareVersion: { major: 0, minor: 0 }, minPinLen: 4, maxPinLen: 63,
    };
  }

  async pinState(): Promise<ProviderPinState> {
    this.#info = await this.#guard(() => this.ctap.hid.getInfo());
    if (this.#info.options.clientPin !== true) return {};
    return { retriesLeft: await this.#guard(() => this.ctap.pinRetries()), maxRetries: MAX_PIN_RETRIES };
  }

  async login(user: ProviderUser, pin: string): Promise<void> {
    if (user === 'so') throw fail(CKR_USER_TYPE_INVALID, 'a FIDO key has no SO');
    this.#token = await this.#guard(() => this.ctap.pinToken(pin, PERMISSION_MAKE_CREDENTIAL | PERMISSION_GET_ASSERTION));
  }

  async logout(): Promise<void> {
    this.#token = undefined;
  }

  async objects(): Promise<readonly ProviderObject[]> {
    // With a PIN on the key, its credentials are the user's; without one there is nobody to log in.
    const isPrivate = this.#info.options.clientPin === true;
    const out: ProviderObject[] = [];
    for (const [id, c] of this.#credentials) {
      const common: Attribute[] = [
        { type: CKA_TOKEN, value: true }, { type: CKA_ID, value: c.credentialId.slice() }, { type: CKA_LABEL, value: c.rpId },
        { type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_EC_PARAMS, value: P256_PARAMS.slice() }, { type: CKA_MODIFIABLE, value: false },
      ];
      out.push({ ref: `pub:${id}`, attributes: [...common, { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_PRIVATE, value: false },
        { type: CKA_EC_POINT, value: tlv(0x04, c.publicKey) }, { type: CKA_VERIFY, value: false }, { type: CKA_DERIVE, value: false }] });
      out.push({ ref: id, attributes: [...common, { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_PRIVATE, value: isPrivate },
        { type: CKA_SIGN, value: false }, { type: CKA_DECRYPT, value: false }, { type: CKA_DERIVE, value: true },
        { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_ALWAYS_SENSITIVE, value: true },
        { type: CKA_NEVER_EXTRACTABLE, value: true }, { type: CKA_LOCAL, value: true }] });
    }
    return out;
  }

  mechanisms(): ReadonlyMap<number, MechanismInfo> {
    return MECHANISMS;
  }

  async sign(): Promise<Uint8Array> {
    throw fail(CKR_FUNCTION_NOT_SUPPORTED, 'a FIDO key signs only WebAuthn assertions, not caller data');
  }

  /** makeCredential: CKA_LABEL of the private template (or the public one) is the RP id. */
  async generateKeyPair(mechanism: Mechanism, publicTemplate: readonly Attribute[], privateTemplate: readonly Attribute[]): Promise<{ publicKey: string; privateKey: string }> {
    if (mechanism.mechanism !== CKM_EC_KEY_PAIR_GEN) throw fail(CKR_MECHANISM_INVALID, 'a FIDO key makes ES256 credentials');
    const params = publicTemplate.find((a) => a.type === CKA_EC_PARAMS)?.value;
    if (params !== undefined && !(params instanceof Uint8Array && params.length === P256_PARAMS.length && params.every((b, i) => b === P256_PARAMS[i]))) {
      throw fail(CKR_CURVE_NOT_SUPPORTED, 'FIDO credentials here are P-256');
    }
    const rpId = [...privateTemplate, ...publicTemplate].find((a) => a.type === CKA_LABEL)?.value;
    if (typeof rpId !== 'string' || rpId === '') throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_LABEL: the relying party id of the credential');
    const token = this.#token;
    const made = await this.#guard(() => this.ctap.makeCredential({
      rpId, userId: crypto.getRandomValues(new Uint8Array(16)), userName: 'vhsm', ...(token ? { pinToken: token } : {}),
    }));
    const id = hex(made.credentialId);
    this.#credentials.set(id, { credentialId: made.credentialId, rpId, publicKey: made.publicKey });
    return { publicKey: `pub:${id}`, privateKey: id };
  }

  /** hmac-secret of the credential for the 32-byte salt in the mechanism parameter. */
  async deriveSecret(key: string, mechanism: Mechanism): Promise<Uint8Array> {
    if (mechanism.mechanism !== CKM_VHSM_FIDO_HMAC_SECRET) throw fail(CKR_MECHANISM_INVALID, 'a FIDO key derives with hmac-secret only');
    const salt = mechanism.parameter;
    if (!(salt instanceof Uint8Array) || salt.length !== 32) throw fail(CKR_MECHANISM_PARAM_INVALID, 'the parameter is the 32-byte salt');
    const credential = this.#credentials.get(key);
    if (!credential) throw fail(CKR_KEY_HANDLE_INVALID, 'unknown credential');
    const token = this.#token;
    const assertion = await this.#guard(() => this.ctap.getAssertion({
      rpId: credential.rpId, credentialId: credential.credentialId, clientDataHash: crypto.getRandomValues(new Uint8Array(32)), salt,
      ...(token ? { pinToken: token } : {}),
    }));
    return assertion.hmacSecret!;
  }

  on(_event: ProviderEvent, listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  markRemoved(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#token = undefined;
    for (const listener of this.#listeners) listener();
    this.#listeners.clear();
  }

  async close(): Promise<void> {
    this.markRemoved();
    await this.ctap.hid.device.close().catch(() => undefined);
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#removed) throw fail(CKR_DEVICE_REMOVED, 'the security key was removed');
    try {
      return await work();
    } catch (e) {
      if (e instanceof Pkcs11Error && e.code === CKR_DEVICE_REMOVED) this.markRemoved();
      throw e;
    }
  }
}

/** A WebHID-shaped FIDO device as a TokenProvider for `cryptoki.attachToken`. */
export function openHidToken(device: HidDeviceLike, options: { hid?: HidEvents } = {}): Promise<FidoProvider> {
  return FidoProvider.open(device, options);
}
