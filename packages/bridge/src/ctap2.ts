/**
 * CTAP2 commands over CTAPHID for what vhsm can use a security key for: clientPIN (retries, set,
 * a PIN/UV auth token with permissions), makeCredential and getAssertion with the hmac-secret
 * extension, which yields a fixed 32-byte secret per credential and salt (the PRF of WebAuthn).
 * PIN/UV auth protocol 2 only.
 */
import {
  CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_FUNCTION_CANCELED, CKR_FUNCTION_NOT_SUPPORTED, CKR_PIN_INCORRECT,
  CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_USER_NOT_LOGGED_IN, Pkcs11Error,
} from '@vhsm/pkcs11';
import { decodeCbor, decodeCborPrefix, encodeCbor } from './cbor.js';
import type { CborKey, CborMap, CborValue } from './cbor.js';
import { concat } from './bytes.js';
import { CTAP2_ERR_KEEPALIVE_CANCEL, CTAPHID_CBOR } from './ctaphid.js';
import type { CtapHidDevice, TransactOptions } from './ctaphid.js';
import { fail } from './errors.js';
import { authenticate, coseKey, cosePoint, decrypt, encrypt, hmacKey, PIN_PROTOCOL, sharedSecret } from './pin-protocol.js';
import type { SharedSecret } from './pin-protocol.js';

export const CTAP2_MAKE_CREDENTIAL = 0x01;
export const CTAP2_GET_ASSERTION = 0x02;
export const CTAP2_CLIENT_PIN = 0x06;
export const PERMISSION_MAKE_CREDENTIAL = 0x01;
export const PERMISSION_GET_ASSERTION = 0x02;

/** CTAP2 status codes and the CK_RV each becomes. */
const STATUS: Record<number, [number, string]> = {
  0x2d: [CKR_FUNCTION_CANCELED, 'cancelled'],
  0x2e: [CKR_ARGUMENTS_BAD, 'no such credential'],
  0x31: [CKR_PIN_INCORRECT, 'wrong PIN'],
  0x32: [CKR_PIN_LOCKED, 'PIN blocked'],
  0x34: [CKR_PIN_LOCKED, 'PIN blocked until power cycle'],
  0x35: [CKR_USER_NOT_LOGGED_IN, 'no PIN set'],
  0x36: [CKR_USER_NOT_LOGGED_IN, 'PIN required'],
  0x37: [CKR_PIN_LEN_RANGE, 'PIN policy violation'],
  0x33: [CKR_USER_NOT_LOGGED_IN, 'PIN/UV auth token not accepted'],
  0x2b: [CKR_FUNCTION_NOT_SUPPORTED, 'unsupported option'],
  0x26: [CKR_FUNCTION_NOT_SUPPORTED, 'unsupported algorithm'],
};

export interface PinToken {
  /** The authenticator's PIN/UV auth token, as an HMAC key (never exported again). */
  key: CryptoKey;
}

export interface Credential {
  credentialId: Uint8Array;
  /** Uncompressed P-256 point of the credential key. */
  publicKey: Uint8Array;
  authData: Uint8Array;
}

export interface Assertion {
  authData: Uint8Array;
  signature: Uint8Array;
  /** hmac-secret output for the salt, when asked. */
  hmacSecret?: Uint8Array;
}

export class Ctap2Client {
  readonly hid: CtapHidDevice;

  constructor(hid: CtapHidDevice) {
    this.hid = hid;
  }

  async pinRetries(): Promise<number> {
    const r = await this.#command(CTAP2_CLIENT_PIN, new Map([[1, PIN_PROTOCOL], [2, 0x01]]));
    const retries = r.get(3);
    if (typeof retries !== 'number') throw fail(CKR_DEVICE_ERROR, 'clientPIN: no retry count');
    return retries;
  }

  async setPin(pin: string): Promise<void> {
    const padded = pinBytes(pin);
    const { secret, keyAgreement } = await this.#agree();
    const newPinEnc = await encrypt(secret, padded);
    padded.fill(0);
    const pinUvAuthParam = await authenticate(secret.hmacKey, newPinEnc);
    await this.#command(CTAP2_CLIENT_PIN, new Map<CborKey, CborValue>([[1, PIN_PROTOCOL], [2, 0x03], [3, keyAgreement], [4, pinUvAuthParam], [5, newPinEnc]]));
  }

  /** getPinUvAuthTokenUsingPinWithPermissions. */
  async pinToken(pin: string, permissions: number, rpId?: string): Promise<PinToken> {
    const bytes = new TextEncoder().encode(pin);
    if (bytes.length < 4 || bytes.length > 63) throw fail(CKR_PIN_LEN_RANGE, 'a FIDO PIN has 4 to 63 bytes');
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)).slice(0, 16);
    bytes.fill(0);
    const { secret, keyAgreement } = await this.#agree();
    const request = new Map<CborKey, CborValue>([[1, PIN_PROTOCOL], [2, 0x09], [3, keyAgreement], [6, await encrypt(secret, hash)], [9, permissions]]);
    if (rpId !== undefined) request.set(10, rpId);
    const r = await this.#command(CTAP2_CLIENT_PIN, request);
    const encrypted = r.get(2);
    const token = encrypted instanceof Uint8Array ? await decrypt(secret, encrypted) : undefined;
    if (!token || token.length !== 32) throw fail(CKR_DEVICE_ERROR, 'clientPIN: no PIN/UV auth token');
    const key = await hmacKey(token);
    token.fill(0);
    return { key };
  }

  /** A non-discoverable ES256 credential with hmac-secret. */
  async makeCredential(options: { rpId: string; userId: Uint8Array; userName: string; pinToken?: PinToken }, transact: TransactOptions = {}): Promise<Credential> {
    const clientDataHash = crypto.getRandomValues(new Uint8Array(32));
    const request = new Map<CborKey, CborValue>([
      [1, clientDataHash],
      [2, new Map<CborKey, CborValue>([['id', options.rpId], ['name', options.rpId]])],
      [3, new Map<CborKey, CborValue>([['id', options.userId.slice()], ['name', options.userName], ['displayName', options.userName]])],
      [4, [new Map<CborKey, CborValue>([['alg', -7], ['type', 'public-key']])]],
      [6, new Map<CborKey, CborValue>([['hmac-secret', true]])],
    ]);
    if (options.pinToken) {
      request.set(8, await authenticate(options.pinToken.key, clientDataHash));
      request.set(9, PIN_PROTOCOL);
    }
    const r = await this.#command(CTAP2_MAKE_CREDENTIAL, request, transact);
    const authData = r.get(2);
    if (!(authData instanceof Uint8Array)) throw fail(CKR_DEVICE_ERROR, 'makeCredential: no authenticator data');
    const parsed = parseAuthData(authData);
    if (!parsed.credentialId || !parsed.publicKey) throw fail(CKR_DEVICE_ERROR, 'makeCredential: no attested credential');
    if (parsed.extensions?.get('hmac-secret') !== true) throw fail(CKR_FUNCTION_NOT_SUPPORTED, 'the credential has no hmac-secret');
    return { credentialId: parsed.credentialId, publicKey: parsed.publicKey, authData };
  }

  /** An assertion; with `salt` (32 bytes) also the credential's hmac-secret for it. */
  async getAssertion(options: { rpId: string; credentialId: Uint8Array; clientDataHash: Uint8Array; salt?: Uint8Array; pinToken?: PinToken },
    transact: TransactOptions = {}): Promise<Assertion> {
    const request = new Map<CborKey, CborValue>([
      [1, options.rpId],
      [2, options.clientDataHash.slice()],
      [3, [new Map<CborKey, CborValue>([['id', options.credentialId.slice()], ['type', 'public-key']])]],
    ]);
    let secret: SharedSecret | undefined;
    if (options.salt) {
      if (options.salt.length !== 32) throw fail(CKR_ARGUMENTS_BAD, 'salt: expected 32 bytes');
      const agreement = await this.#agree();
      secret = agreement.secret;
      const saltEnc = await encrypt(secret, options.salt);
      request.set(4, new Map<CborKey, CborValue>([['hmac-secret', new Map<CborKey, CborValue>([
        [1, agreement.keyAgreement], [2, saltEnc], [3, await authenticate(secret.hmacKey, saltEnc)], [4, PIN_PROTOCOL],
      ])]]));
    }
    if (options.pinToken) {
      request.set(6, await authenticate(options.pinToken.key, options.clientDataHash));
      request.set(7, PIN_PROTOCOL);
    }
    const r = await this.#command(CTAP2_GET_ASSERTION, request, transact);
    const authData = r.get(2);
    const signature = r.get(3);
    if (!(authData instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw fail(CKR_DEVICE_ERROR, 'getAssertion: incomplete response');
    const result: Assertion = { authData, signature };
    if (secret) {
      const encrypted = parseAuthData(authData).extensions?.get('hmac-secret');
      const output = encrypted instanceof Uint8Array ? await decrypt(secret, encrypted) : undefined;
      if (!output || output.length !== 32) throw fail(CKR_DEVICE_ERROR, 'getAssertion: no hmac-secret output');
      result.hmacSecret = output;
    }
    return result;
  }

  /** Key agreement with the authenticator's current key (getKeyAgreement). */
  async #agree(): Promise<{ secret: SharedSecret; keyAgreement: CborMap }> {
    const r = await this.#command(CTAP2_CLIENT_PIN, new Map([[1, PIN_PROTOCOL], [2, 0x02]]));
    const peer = cosePoint(r.get(1));
    if (!peer) throw fail(CKR_DEVICE_ERROR, 'clientPIN: no key agreement key');
    const ours = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const point = new Uint8Array(await crypto.subtle.exportKey('raw', ours.publicKey));
    return { secret: await sharedSecret(ours.privateKey, peer), keyAgreement: coseKey(point) };
  }

  async #command(command: number, parameters: CborMap, transact: TransactOptions = {}): Promise<CborMap> {
    const response = await this.hid.transact(CTAPHID_CBOR, concat([Uint8Array.of(command), encodeCbor(parameters)]), transact);
    const status = response[0] ?? 0xff;
    if (status !== 0) {
      const [code, why] = STATUS[status] ?? [CKR_DEVICE_ERROR, `CTAP2 status 0x${status.toString(16)}`];
      throw new Pkcs11Error(status === CTAP2_ERR_KEEPALIVE_CANCEL ? CKR_FUNCTION_CANCELED : code, 'bridge', why);
    }
    const body = response.length > 1 ? decodeCbor(response.subarray(1)) : new Map();
    if (!(body instanceof Map)) throw fail(CKR_DEVICE_ERROR, 'CTAP2 response is not a map');
    return body;
  }
}

/** The PIN padded to 64 bytes, as setPIN sends it. */
function pinBytes(pin: string): Uint8Array {
  const bytes = new TextEncoder().encode(pin);
  if (bytes.length < 4 || bytes.length > 63) throw fail(CKR_PIN_LEN_RANGE, 'a FIDO PIN has 4 to 63 bytes');
  const out = new Uint8Array(64);
  out.set(bytes);
  bytes.fill(0);
  return out;
}

/** rpIdHash ‖ flags ‖ signCount [‖ attested credential data] [‖ extensions]. */
export function parseAuthData(authData: Uint8Array): { flags: number; signCount: number; credentialId?: Uint8Array; publicKey?: Uint8Array; extensions?: CborMap } {
  if (authData.length < 37) throw fail(CKR_DEVICE_ERROR, 'authenticator data too short');
  const flags = authData[32] as number;
  const view = new DataView(authData.buffer, authData.byteOffset, authData.byteLength);
  const result: { flags: number; signCount: number; credentialId?: Uint8Array; publicKey?: Uint8Array; extensions?: CborMap } = { flags, signCount: view.getUint32(33) };
  let at = 37;
  if (flags & 0x40) {
    const length = view.getUint16(at + 16);
    result.credentialId = authData.slice(at + 18, at + 18 + length);
    at += 18 + length;
    // The credential's COSE key, then (if flagged) the extensions map, back to back.
    const { value, end } = decodeCborPrefix(authData.subarray(at));
    const point = cosePoint(value);
    if (point) result.publicKey = point;
    at += end;
  }
  if (flags & 0x80) {
    const extensions = decodeCbor(authData.subarray(at));
    if (extensions instanceof Map) result.extensions = extensions;
  }
  return result;
}
