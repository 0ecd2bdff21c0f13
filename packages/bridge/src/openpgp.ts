/**
 * OpenPGP card (3.4) driver presented as a TokenProvider: token info from the AID, C_Login(USER) =
 * VERIFY PW1, the three keys with OpenSC's CKA_IDs (01 signature, 02 decryption, 03 authentication)
 * and their public keys read from the card; C_Sign = PSO:COMPUTE DIGITAL SIGNATURE (signature key)
 * or INTERNAL AUTHENTICATE (authentication key) over a host-side hash (ECDSA r||s); C_DeriveKey
 * with CKM_ECDH1_DERIVE = PSO:DECIPHER with the decryption key. When PW1 is valid for one signature
 * only (the card default), the signature key says CKA_ALWAYS_AUTHENTICATE and each signature takes
 * a context-specific login (VERIFY 81). C_Login(SO) = VERIFY PW3, for key generation.
 */
import {
  CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS,
  CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_MODIFIABLE, CKA_NEVER_EXTRACTABLE,
  CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VERIFY, CKF_DERIVE, CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKK_EC,
  CKM_EC_KEY_PAIR_GEN, CKM_ECDH1_DERIVE, CKM_ECDSA, CKM_ECDSA_SHA1,
  CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED, CKR_DEVICE_ERROR,
  CKR_KEY_HANDLE_INVALID, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_PIN_INCORRECT,
  CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_TEMPLATE_INCOMPLETE, CKR_TOKEN_NOT_RECOGNIZED, CKR_USER_NOT_LOGGED_IN,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism, MechanismInfo } from '@vhsm/pkcs11';
import type { ProviderObject, ProviderPinState, ProviderTokenInfo, ProviderUser } from '@vhsm/token';
import type { CardChannel, Response } from './apdu.js';
import { SW_OK } from './apdu.js';
import { fail } from './errors.js';
import { concat, equal, hex } from './bytes.js';
import { CardProvider } from './provider-base.js';
import type { CardConnection } from './provider-base.js';
import { findTlv, parseTlvs, tlv } from './tlv.js';

export const OPENPGP_AID = Uint8Array.of(0xd2, 0x76, 0x00, 0x01, 0x24, 0x01);
const P256_OID = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const P256_PARAMS = Uint8Array.of(0x06, 0x08, ...P256_OID);
const ECDSA_ALGORITHM_ID = 0x13;
const ECDH_ALGORITHM_ID = 0x12;

const HASHES = new Map<number, string | undefined>([
  [CKM_ECDSA, undefined], [CKM_ECDSA_SHA1, 'SHA-1'], [CKM_ECDSA_SHA256, 'SHA-256'],
  [CKM_ECDSA_SHA384, 'SHA-384'], [CKM_ECDSA_SHA512, 'SHA-512'],
]);
const MECHANISMS: ReadonlyMap<number, MechanismInfo> = new Map([
  ...[...HASHES.keys()].map((m): [number, MechanismInfo] => [m, { minKeySize: 256, maxKeySize: 256, flags: CKF_SIGN }]),
  [CKM_ECDH1_DERIVE, { minKeySize: 256, maxKeySize: 256, flags: CKF_DERIVE }],
  [CKM_EC_KEY_PAIR_GEN, { minKeySize: 256, maxKeySize: 256, flags: CKF_GENERATE_KEY_PAIR }],
]);

export async function selectOpenPgp(channel: CardChannel): Promise<boolean> {
  const r = await channel.send({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x00, data: OPENPGP_AID });
  return r.sw === SW_OK;
}

interface CardState {
  aid: Uint8Array;
  /** PW status bytes (C4): validity of PW1 for signing, max lengths, retry counters. */
  pwStatus: Uint8Array;
  /** C5: the three keys' fingerprints, 20 bytes each (zero: no key). */
  fingerprints: Uint8Array;
  /** C1, C2, C3: algorithm attributes of the signature, decryption and authentication keys. */
  attributes: Map<number, Uint8Array>;
}

/** The card's three keys, with OpenSC's CKA_IDs and labels. */
const KEYS = [
  { ref: 'sig', crt: 0xb6, id: 1, label: 'Signature key', attributesTag: 0xc1, algorithm: ECDSA_ALGORITHM_ID },
  { ref: 'dec', crt: 0xb8, id: 2, label: 'Encryption key', attributesTag: 0xc2, algorithm: ECDH_ALGORITHM_ID },
  { ref: 'aut', crt: 0xa4, id: 3, label: 'Authentication key', attributesTag: 0xc3, algorithm: ECDSA_ALGORITHM_ID },
] as const;

export class OpenPgpProvider extends CardProvider {
  readonly #channel: CardChannel;
  #maxRetries: number | undefined;

  constructor(connection: CardConnection) {
    super(connection);
    this.#channel = connection.channel;
  }

  async init(): Promise<void> {
    this.#maxRetries = (await this.#state()).pwStatus[4];
  }

  async tokenInfo(): Promise<ProviderTokenInfo> {
    const { aid, pwStatus } = await this.#state();
    return {
      label: 'OpenPGP card', manufacturerID: hex(aid.subarray(8, 10)),
      model: `OpenPGP card ${aid[6]}.${aid[7]}`, serialNumber: hex(aid.subarray(10, 14)).toUpperCase(),
      hardwareVersion: { major: 0, minor: 0 }, firmwareVersion: { major: aid[6] ?? 0, minor: aid[7] ?? 0 },
      minPinLen: 6, maxPinLen: pwStatus[1] ?? 127,
    };
  }

  async pinState(): Promise<ProviderPinState> {
    const retries = (await this.#state()).pwStatus[4] ?? 0;
    return this.#maxRetries === undefined ? { retriesLeft: retries } : { retriesLeft: retries, maxRetries: this.#maxRetries };
  }

  /** USER: VERIFY PW1 (82, and 81 when it stays valid); CONTEXT_SPECIFIC: VERIFY 81; SO: VERIFY PW3. */
  async login(user: ProviderUser, pin: string): Promise<void> {
    if (user === 'so') return this.#verifyAdmin(pin);
    const bytes = new TextEncoder().encode(pin);
    if (bytes.length < 6) throw fail(CKR_PIN_LEN_RANGE, 'PW1 has at least 6 characters');
    const oneSignature = (await this.#state()).pwStatus[0] === 0;
    // PW1 in mode 82 for a session; mode 81 for signing, which the card may spend after one signature.
    const modes = user === 'context' ? [0x81] : oneSignature ? [0x82] : [0x82, 0x81];
    for (const mode of modes) {
      const r = await this.#send(0x20, 0x00, mode, bytes);
      if (r.sw === SW_OK) continue;
      if (r.sw === 0x6983) throw fail(CKR_PIN_LOCKED, 'PW1 is blocked');
      if (r.sw === 0x6982) throw fail(CKR_PIN_INCORRECT, 'the card refused PW1');
      throw cardError('VERIFY', r.sw);
    }
    bytes.fill(0);
  }

  /** CHANGE REFERENCE DATA of PW1: old and new PINs back to back. */
  async changePin(oldPin: string, newPin: string): Promise<void> {
    const [oldBytes, newBytes] = [new TextEncoder().encode(oldPin), new TextEncoder().encode(newPin)];
    if (newBytes.length < 6 || newBytes.length > 127) throw fail(CKR_PIN_LEN_RANGE, 'PW1 has 6 to 127 bytes');
    const r = await this.#send(0x24, 0x00, 0x81, concat([oldBytes, newBytes]));
    oldBytes.fill(0);
    newBytes.fill(0);
    if (r.sw === SW_OK) return;
    if (r.sw === 0x6983) throw fail(CKR_PIN_LOCKED, 'PW1 is blocked');
    if (r.sw === 0x6982) throw fail(CKR_PIN_INCORRECT, 'the card refused PW1');
    throw cardError('CHANGE REFERENCE DATA', r.sw);
  }

  async logout(): Promise<void> {
    await this.#send(0x20, 0xff, 0x81);
  }

  /** The keys the card has, each as a public key and a private-key reference; keys not ECDSA/ECDH P-256 are left out. */
  async objects(): Promise<readonly ProviderObject[]> {
    const state = await this.#state();
    const out: ProviderObject[] = [];
    for (const [index, spec] of KEYS.entries()) {
      if (state.fingerprints.subarray(index * 20, index * 20 + 20).every((b) => b === 0)) continue;
      const attributes = state.attributes.get(spec.attributesTag);
      if (!attributes || attributes[0] !== spec.algorithm || !equal(attributes.subarray(1), P256_OID)) continue;
      const r = await this.#send(0x47, 0x81, 0x00, Uint8Array.of(spec.crt, 0x00));
      const template = r.sw === SW_OK ? findTlv(r.data, 0x7f49) : undefined;
      const point = template && findTlv(template.value, 0x86)?.value;
      if (!point) throw cardError('GENERATE (read public key)', r.sw);
      const signs = spec.ref !== 'dec';
      const common: Attribute[] = [
        { type: CKA_TOKEN, value: true }, { type: CKA_ID, value: Uint8Array.of(spec.id) }, { type: CKA_LABEL, value: spec.label },
        { type: CKA_MODIFIABLE, value: false }, { type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_EC_PARAMS, value: P256_PARAMS.slice() },
      ];
      out.push(
        { ref: `pub:${spec.ref}`, attributes: [...common, { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_PRIVATE, value: false },
          { type: CKA_EC_POINT, value: tlv(0x04, point) }, { type: CKA_VERIFY, value: signs }, { type: CKA_DERIVE, value: false }] },
        { ref: spec.ref, attributes: [...common, { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_PRIVATE, value: true },
          { type: CKA_SIGN, value: signs }, { type: CKA_DECRYPT, value: false }, { type: CKA_DERIVE, value: !signs },
          { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_ALWAYS_SENSITIVE, value: true },
          { type: CKA_NEVER_EXTRACTABLE, value: true },
          // PW1 may be good for one signature only; the other keys use PW1 in its session mode (82).
          { type: CKA_ALWAYS_AUTHENTICATE, value: spec.ref === 'sig' && state.pwStatus[0] === 0 }] },
      );
    }
    return out;
  }

  mechanisms(): ReadonlyMap<number, MechanismInfo> {
    return MECHANISMS;
  }

  /** The signature key with PSO:COMPUTE DIGITAL SIGNATURE, the authentication key with INTERNAL AUTHENTICATE. */
  async sign(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array> {
    if (key !== 'sig' && key !== 'aut') throw fail(CKR_KEY_HANDLE_INVALID, 'the decryption key does not sign');
    if (!HASHES.has(mechanism.mechanism)) throw fail(CKR_MECHANISM_INVALID, 'the OpenPGP card signs with ECDSA only here');
    if (mechanism.parameter !== undefined) throw fail(CKR_MECHANISM_PARAM_INVALID, 'ECDSA takes no parameter');
    const hash = HASHES.get(mechanism.mechanism);
    const digest = hash ? new Uint8Array(await crypto.subtle.digest(hash, data.slice())) : data;
    const r = key === 'sig'
      ? await this.#send(0x2a, 0x9e, 0x9a, digest.subarray(0, 32))
      : await this.#send(0x88, 0x00, 0x00, digest.subarray(0, 32));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, `the card wants PW1 (${key === 'sig' ? '81' : '82'}) verified`);
    if (r.sw !== SW_OK || r.data.length !== 64) throw cardError(key === 'sig' ? 'PSO:COMPUTE DIGITAL SIGNATURE' : 'INTERNAL AUTHENTICATE', r.sw);
    return r.data;
  }

  /** ECDH with the decryption key: PSO:DECIPHER with the peer point, the shared x-coordinate back. */
  async deriveSecret(key: string, mechanism: Mechanism): Promise<Uint8Array> {
    if (key !== 'dec') throw fail(CKR_KEY_HANDLE_INVALID, 'only the decryption key agrees keys');
    const publicData = (mechanism.parameter as { publicData?: unknown } | undefined)?.publicData;
    if (!(publicData instanceof Uint8Array)) throw fail(CKR_MECHANISM_PARAM_INVALID, 'publicData: expected the peer point');
    const point = publicData.length === 67 && publicData[0] === 0x04 && publicData[1] === 0x41 ? publicData.subarray(2) : publicData;
    if (point.length !== 65 || point[0] !== 0x04) throw fail(CKR_MECHANISM_PARAM_INVALID, 'publicData: an uncompressed P-256 point');
    const r = await this.#send(0x2a, 0x80, 0x86, tlv(0xa6, tlv(0x7f49, tlv(0x86, point))));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'the card wants PW1 (82) verified');
    if (r.sw === 0x6a80) throw fail(CKR_MECHANISM_PARAM_INVALID, 'the card refused the peer point');
    if (r.sw !== SW_OK || r.data.length !== 32) throw cardError('PSO:DECIPHER', r.sw);
    return r.data.slice();
  }

  /** VERIFY PW3 (the admin PIN), needed to generate keys. */
  async #verifyAdmin(pin: string): Promise<void> {
    if (new TextEncoder().encode(pin).length < 8) throw fail(CKR_PIN_LEN_RANGE, 'PW3 has at least 8 characters');
    const r = await this.#send(0x20, 0x00, 0x83, new TextEncoder().encode(pin));
    if (r.sw === 0x6983) throw fail(CKR_PIN_LOCKED, 'PW3 is blocked');
    if (r.sw !== SW_OK) throw fail(CKR_PIN_INCORRECT, 'the card refused PW3');
  }

  /** C_GenerateKeyPair: the signature key (CKA_ID 01), ECDSA P-256, generated on the card after the SO (PW3) login. */
  async generateKeyPair(mechanism: Mechanism, publicTemplate: readonly Attribute[], privateTemplate: readonly Attribute[]): Promise<{ publicKey: string; privateKey: string }> {
    if (mechanism.mechanism !== CKM_EC_KEY_PAIR_GEN) throw fail(CKR_MECHANISM_INVALID, 'this driver generates EC P-256 key pairs');
    const params = publicTemplate.find((a) => a.type === CKA_EC_PARAMS)?.value;
    if (!(params instanceof Uint8Array)) throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS is required');
    if (!equal(params, P256_PARAMS)) throw fail(CKR_CURVE_NOT_SUPPORTED, 'this driver generates P-256 keys');
    for (const a of [...publicTemplate, ...privateTemplate]) {
      if (a.type === CKA_ID && !(a.value instanceof Uint8Array && equal(a.value, Uint8Array.of(1)))) {
        throw fail(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_ID: only the signature key (01) is generated here');
      }
    }
    const r = await this.#send(0x47, 0x80, 0x00, Uint8Array.of(0xb6, 0x00));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'the SO (PW3) must be logged in');
    if (r.sw !== SW_OK) throw cardError('GENERATE ASYMMETRIC KEY PAIR', r.sw);
    return { publicKey: 'pub:sig', privateKey: 'sig' };
  }

  async #state(): Promise<CardState> {
    const r = await this.#send(0xca, 0x00, 0x6e);
    if (r.sw !== SW_OK) throw cardError('GET DATA 6E', r.sw);
    const outer = findTlv(r.data, 0x6e);
    const items = parseTlvs(outer ? outer.value : r.data);
    const aid = items.find((t) => t.tag === 0x4f)?.value;
    const discretionary = items.find((t) => t.tag === 0x73)?.value;
    const inner = discretionary ? parseTlvs(discretionary) : [];
    const get = (tag: number) => inner.find((t) => t.tag === tag)?.value;
    const pwStatus = get(0xc4);
    const fingerprints = get(0xc5);
    if (!aid || aid.length < 14 || !pwStatus || pwStatus.length < 7 || !fingerprints || fingerprints.length < 60) {
      throw fail(CKR_TOKEN_NOT_RECOGNIZED, 'incomplete application related data');
    }
    const attributes = new Map<number, Uint8Array>();
    for (const tag of [0xc1, 0xc2, 0xc3]) {
      const value = get(tag);
      if (value) attributes.set(tag, value);
    }
    return { aid, pwStatus, fingerprints, attributes };
  }

  #send(ins: number, p1: number, p2: number, data?: Uint8Array): Promise<Response> {
    return this.guard(() => this.#channel.send(data ? { cla: 0, ins, p1, p2, data, le: 256 } : { cla: 0, ins, p1, p2, le: 256 }));
  }
}

function cardError(command: string, sw: number): Error {
  return fail(CKR_DEVICE_ERROR, `${command}: card status ${sw.toString(16).padStart(4, '0')}`);
}
