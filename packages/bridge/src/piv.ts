/**
 * PIV (SP 800-73-4) card driver presented as a TokenProvider. Objects follow OpenSC's conventions:
 * slots 9A/9C/9D/9E have CKA_ID 01/02/03/04 and OpenSC's labels; a slot is listed when its
 * certificate is on the card (or its key was generated in this session). Hashing is done on the
 * host; the card signs the digest and its DER signature comes back as r||s.
 */
import {
  CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_CERTIFICATE_TYPE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE,
  CKA_EC_PARAMS, CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID, CKA_ISSUER, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL,
  CKA_MODIFIABLE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_PUBLIC_EXPONENT,
  CKA_SENSITIVE, CKA_SERIAL_NUMBER, CKA_SIGN, CKA_SUBJECT, CKA_TOKEN, CKA_VALUE, CKA_VERIFY, CKC_X_509,
  CKF_DERIVE, CKF_GENERATE_KEY_PAIR, CKF_SIGN, CKK_EC, CKK_RSA, CKM_EC_KEY_PAIR_GEN, CKM_ECDH1_DERIVE, CKM_ECDSA, CKM_ECDSA_SHA1,
  CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_RSA_PKCS, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS, CKO_CERTIFICATE,
  CKF_DECRYPT, CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS_PSS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA256, CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512, CKM_SHA512_RSA_PKCS_PSS, CKM_SHA_1, CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKZ_DATA_SPECIFIED,
  CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED, CKR_DATA_LEN_RANGE,
  CKR_DEVICE_ERROR, CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT, CKR_TOKEN_NOT_RECOGNIZED, CKR_USER_NOT_LOGGED_IN,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism, MechanismInfo, OaepParams, PssParams } from '@vhsm/pkcs11';
import type { ProviderObject, ProviderPinState, ProviderTokenInfo, ProviderUser } from '@vhsm/token';
import type { CardChannel, Response } from './apdu.js';
import { SW_OK } from './apdu.js';
import { blockSize, encryptBlock, MANAGEMENT_ALGORITHM_IDS } from './block-cipher.js';
import type { ManagementAlgorithm } from './block-cipher.js';
import { concat, equal, hex } from './bytes.js';
import { fail } from './errors.js';
import { CardProvider } from './provider-base.js';
import type { CardConnection } from './provider-base.js';
import { digest, HASH_OF_CKM, HASH_OF_MGF, oaepMessage, pkcs1DecryptionMessage, pkcs1SignatureBlock, pssBlock } from './rsa-padding.js';
import { derSignatureToRaw, findTlv, parseTlvs, tlv } from './tlv.js';

export const PIV_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x03, 0x08);
const ALG_ECC_P256 = 0x11;
const ALG_RSA_2048 = 0x07;
const RSA_OID = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01);
const P256_PARAMS = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const EC_PUBLIC_KEY_OID = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);

interface SlotSpec {
  slot: number;
  id: number;
  object: number;
  certLabel: string;
  keyLabel: string;
}

/** OpenSC's numbering and names. */
export const PIV_KEY_SLOTS: readonly SlotSpec[] = [
  { slot: 0x9a, id: 1, object: 0x5fc105, certLabel: 'Certificate for PIV Authentication', keyLabel: 'PIV AUTH key' },
  { slot: 0x9c, id: 2, object: 0x5fc10a, certLabel: 'Certificate for Digital Signature', keyLabel: 'SIGN key' },
  { slot: 0x9d, id: 3, object: 0x5fc10b, certLabel: 'Certificate for Key Management', keyLabel: 'KEY MAN key' },
  { slot: 0x9e, id: 4, object: 0x5fc101, certLabel: 'Certificate for Card Authentication', keyLabel: 'CARD AUTH key' },
];

const HASHES = new Map<number, string | undefined>([
  [CKM_ECDSA, undefined], [CKM_ECDSA_SHA1, 'SHA-1'], [CKM_ECDSA_SHA256, 'SHA-256'],
  [CKM_ECDSA_SHA384, 'SHA-384'], [CKM_ECDSA_SHA512, 'SHA-512'],
]);
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => Number.parseInt(b, 16));
/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1); undefined prefix: CKM_RSA_PKCS, the caller's block. */
const RSA_DIGEST_INFO = new Map<number, { hash: string; prefix: Uint8Array } | undefined>([
  [CKM_RSA_PKCS, undefined],
  [CKM_SHA1_RSA_PKCS, { hash: 'SHA-1', prefix: hex2('3021300906052b0e03021a05000414') }],
  [CKM_SHA256_RSA_PKCS, { hash: 'SHA-256', prefix: hex2('3031300d060960864801650304020105000420') }],
  [CKM_SHA384_RSA_PKCS, { hash: 'SHA-384', prefix: hex2('3041300d060960864801650304020205000430') }],
  [CKM_SHA512_RSA_PKCS, { hash: 'SHA-512', prefix: hex2('3051300d060960864801650304020305000440') }],
]);
/** PSS with the hash done here (undefined: CKM_RSA_PKCS_PSS, the caller's hash). */
const RSA_PSS = new Map<number, number | undefined>([
  [CKM_RSA_PKCS_PSS, undefined], [CKM_SHA1_RSA_PKCS_PSS, CKM_SHA_1], [CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256],
  [CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384], [CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512],
]);
const rsa = (flags: number): MechanismInfo => ({ minKeySize: 2048, maxKeySize: 2048, flags });
const MECHANISMS: ReadonlyMap<number, MechanismInfo> = new Map([
  ...[...HASHES.keys()].map((m): [number, MechanismInfo] => [m, { minKeySize: 256, maxKeySize: 256, flags: CKF_SIGN }]),
  ...[...RSA_DIGEST_INFO.keys(), ...RSA_PSS.keys()].map((m): [number, MechanismInfo] => [m, rsa(m === CKM_RSA_PKCS ? CKF_SIGN | CKF_DECRYPT : CKF_SIGN)]),
  [CKM_RSA_PKCS_OAEP, rsa(CKF_DECRYPT)],
  [CKM_EC_KEY_PAIR_GEN, { minKeySize: 256, maxKeySize: 256, flags: CKF_GENERATE_KEY_PAIR }],
  [CKM_RSA_PKCS_KEY_PAIR_GEN, { minKeySize: 2048, maxKeySize: 2048, flags: CKF_GENERATE_KEY_PAIR }],
  [CKM_ECDH1_DERIVE, { minKeySize: 256, maxKeySize: 256, flags: CKF_DERIVE }],
]);

/** Does the card answer SELECT of the PIV application? */
export async function selectPiv(channel: CardChannel): Promise<boolean> {
  const r = await channel.send({ cla: 0, ins: 0xa4, p1: 0x04, p2: 0x00, data: PIV_AID, le: 256 });
  return r.sw === SW_OK;
}

export class PivProvider extends CardProvider {
  readonly #channel: CardChannel;
  /** Public keys generated in this session (the card says them only once). */
  readonly #generated = new Map<number, PublicKeyInfo>();
  /** The key type in each slot, as last listed: signing needs the card's algorithm reference. */
  readonly #keyTypes = new Map<number, PublicKeyInfo>();
  #maxRetries: number | undefined;
  /** The card answered GET METADATA with "no such instruction": not a YubiKey 5.3+. */
  #noMetadata = false;
  #serial = '';

  constructor(connection: CardConnection) {
    super(connection);
    this.#channel = connection.channel;
  }

  /** Read what token info needs once, after SELECT. */
  async init(): Promise<void> {
    const serial = await this.#channel.send({ cla: 0, ins: 0xf8, p1: 0, p2: 0, le: 256 });
    if (serial.sw === SW_OK && serial.data.length === 4) {
      this.#serial = String(new DataView(serial.data.buffer, serial.data.byteOffset).getUint32(0));
    } else {
      const chuid = await this.#getData(0x5fc102);
      const guid = chuid && findTlv(chuid, 0x34);
      this.#serial = guid ? hex(guid.value).slice(0, 16) : '';
    }
    this.#maxRetries = (await this.pinState()).retriesLeft;
  }

  async tokenInfo(): Promise<ProviderTokenInfo> {
    return {
      label: 'PIV card', manufacturerID: 'piv', model: 'PIV', serialNumber: this.#serial,
      hardwareVersion: { major: 0, minor: 0 }, firmwareVersion: { major: 0, minor: 0 }, minPinLen: 6, maxPinLen: 8,
    };
  }

  async pinState(): Promise<ProviderPinState> {
    // YubiKey 5.3+: GET METADATA of the PIN gives both counters, verified or not.
    const metadata = await this.#metadata(0x80);
    const retries = metadata?.get(0x06);
    if (retries && retries.length === 2) {
      this.#maxRetries = retries[0];
      return { retriesLeft: retries[1] as number, maxRetries: retries[0] as number };
    }
    const r = await this.#send(0x20, 0x00, 0x80);
    const state: ProviderPinState = {};
    if ((r.sw & 0xfff0) === 0x63c0) state.retriesLeft = r.sw & 0x0f;
    else if (r.sw === 0x6983) state.retriesLeft = 0;
    // 9000: verified already, so the counter is full.
    else if (r.sw === SW_OK && this.#maxRetries !== undefined) state.retriesLeft = this.#maxRetries;
    if (this.#maxRetries !== undefined) state.maxRetries = this.#maxRetries;
    return state;
  }

  /** YubiKey GET METADATA (firmware 5.3+) of a key reference; undefined when the card has none. */
  async #metadata(reference: number): Promise<Map<number, Uint8Array> | undefined> {
    if (this.#noMetadata) return undefined;
    const r = await this.#send(0xf7, 0x00, reference, new Uint8Array(0));
    if (r.sw === 0x6d00 || r.sw === 0x6e00) this.#noMetadata = true;
    if (r.sw !== SW_OK) return undefined;
    return new Map(parseTlvs(r.data).map((t) => [t.tag, t.value.slice()]));
  }

  /** The public key of a slot without a certificate, from its metadata (tag 04, as GENERATE gives it). */
  async #metadataKey(slot: number): Promise<PublicKeyInfo | undefined> {
    const metadata = await this.#metadata(slot);
    const encoded = metadata?.get(0x04);
    const algorithm = metadata?.get(0x01)?.[0];
    if (!encoded || algorithm === undefined) return undefined;
    return publicKeyFrom(algorithm, encoded);
  }

  /** USER and CONTEXT_SPECIFIC: VERIFY the PIN. SO: the AES-128 management key, as 32 hex digits. */
  async login(user: ProviderUser, pin: string): Promise<void> {
    if (user === 'so') return this.#authenticateManagementKey(pin);
    const padded = padPin(pin);
    const r = await this.#send(0x20, 0x00, 0x80, padded);
    padded.fill(0);
    if (r.sw === SW_OK) return;
    if (r.sw === 0x6983 || r.sw === 0x63c0) throw fail(CKR_PIN_LOCKED, 'the card PIN is blocked');
    if ((r.sw & 0xfff0) === 0x63c0) throw fail(CKR_PIN_INCORRECT, `${r.sw & 0x0f} tries left`);
    throw cardError('VERIFY', r.sw);
  }

  /** CHANGE REFERENCE DATA of the PIN: the old and new PINs, each padded to 8 bytes. */
  async changePin(oldPin: string, newPin: string): Promise<void> {
    const [oldBytes, newBytes] = [padPin(oldPin), padPin(newPin)];
    const r = await this.#send(0x24, 0x00, 0x80, concat([oldBytes, newBytes]));
    oldBytes.fill(0);
    newBytes.fill(0);
    if (r.sw === SW_OK) return;
    if (r.sw === 0x6983 || r.sw === 0x63c0) throw fail(CKR_PIN_LOCKED, 'the card PIN is blocked');
    if ((r.sw & 0xfff0) === 0x63c0) throw fail(CKR_PIN_INCORRECT, `${r.sw & 0x0f} tries left`);
    throw cardError('CHANGE REFERENCE DATA', r.sw);
  }

  async logout(): Promise<void> {
    // Reset the PIN's security status (SP 800-73-4 VERIFY with P1=FF).
    await this.#send(0x20, 0xff, 0x80);
  }

  async objects(): Promise<readonly ProviderObject[]> {
    const out: ProviderObject[] = [];
    for (const spec of PIV_KEY_SLOTS) {
      const object = await this.#getData(spec.object);
      const certificate = object && findTlv(object, 0x70)?.value;
      const cert = certificate ? parseCertificate(certificate) : undefined;
      const publicKey = cert?.key ?? this.#generated.get(spec.slot) ?? await this.#metadataKey(spec.slot);
      if (!publicKey) continue;
      this.#keyTypes.set(spec.slot, publicKey);
      const id = Uint8Array.of(spec.id);
      const common: Attribute[] = [{ type: CKA_TOKEN, value: true }, { type: CKA_ID, value: id }, { type: CKA_MODIFIABLE, value: false }];
      const keyValues: Attribute[] = publicKey.type === 'ec'
        ? [{ type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_EC_PARAMS, value: P256_PARAMS.slice() }]
        : [{ type: CKA_KEY_TYPE, value: CKK_RSA }, { type: CKA_MODULUS, value: publicKey.modulus.slice() },
          { type: CKA_PUBLIC_EXPONENT, value: publicKey.exponent.slice() }, { type: CKA_MODULUS_BITS, value: publicKey.modulus.length * 8 }];
      if (cert && certificate) {
        out.push({
          ref: `cert:${hex(Uint8Array.of(spec.slot))}`,
          attributes: [...common, { type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_PRIVATE, value: false },
            { type: CKA_LABEL, value: spec.certLabel }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
            { type: CKA_VALUE, value: certificate.slice() }, { type: CKA_SUBJECT, value: cert.subject },
            { type: CKA_ISSUER, value: cert.issuer }, { type: CKA_SERIAL_NUMBER, value: cert.serial }],
        });
      }
      const subject: Attribute[] = cert ? [{ type: CKA_SUBJECT, value: cert.subject }] : [];
      out.push({
        ref: `pub:${hex(Uint8Array.of(spec.slot))}`,
        attributes: [...common, ...subject, { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_PRIVATE, value: false },
          { type: CKA_LABEL, value: spec.keyLabel }, ...keyValues,
          ...(publicKey.type === 'ec' ? [{ type: CKA_EC_POINT, value: tlv(0x04, publicKey.point) }] : []),
          { type: CKA_VERIFY, value: spec.slot !== 0x9d }, { type: CKA_DERIVE, value: false }],
      });
      out.push({
        ref: hex(Uint8Array.of(spec.slot)),
        attributes: [...common, ...subject, { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
          // The card-authentication key works without the PIN, as OpenSC presents it.
          { type: CKA_PRIVATE, value: spec.slot !== 0x9e }, { type: CKA_LABEL, value: spec.keyLabel },
          ...keyValues,
          { type: CKA_SIGN, value: spec.slot !== 0x9d }, { type: CKA_DERIVE, value: spec.slot === 0x9d && publicKey.type === 'ec' },
          { type: CKA_DECRYPT, value: spec.slot === 0x9d && publicKey.type === 'rsa' }, { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false },
          { type: CKA_ALWAYS_SENSITIVE, value: true }, { type: CKA_NEVER_EXTRACTABLE, value: true },
          { type: CKA_LOCAL, value: this.#generated.has(spec.slot) },
          { type: CKA_ALWAYS_AUTHENTICATE, value: spec.slot === 0x9c }],
      });
    }
    return out;
  }

  mechanisms(): ReadonlyMap<number, MechanismInfo> {
    return MECHANISMS;
  }

  async sign(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array> {
    const slot = slotOf(key);
    if (!((MECHANISMS.get(mechanism.mechanism)?.flags ?? 0) & CKF_SIGN)) throw fail(CKR_MECHANISM_INVALID, 'not a signing mechanism of this card');
    if (mechanism.parameter !== undefined && !RSA_PSS.has(mechanism.mechanism)) throw fail(CKR_MECHANISM_PARAM_INVALID, 'this mechanism takes no parameter');
    const publicKey = await this.#keyIn(slot);
    if (publicKey.type === 'rsa') {
      const block = RSA_PSS.has(mechanism.mechanism)
        ? await this.#pss(mechanism, data, publicKey.modulus)
        : await this.#pkcs1(mechanism.mechanism, data, publicKey.modulus.length);
      return this.#rsaPrivate(slot, block);
    }
    if (!HASHES.has(mechanism.mechanism)) throw fail(CKR_KEY_TYPE_INCONSISTENT, 'an EC key signs with ECDSA');
    const hash = HASHES.get(mechanism.mechanism);
    const digest = hash ? new Uint8Array(await crypto.subtle.digest(hash, data.slice())) : data;
    // The card takes at most the order's size; ECDSA uses the leftmost bits anyway.
    const input = digest.subarray(0, 32);
    const r = await this.#send(0x87, ALG_ECC_P256, slot, tlv(0x7c, tlv(0x82), tlv(0x81, input)));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'the card wants the PIN verified for this key');
    if (r.sw === 0x6a88 || r.sw === 0x6a80) throw fail(CKR_KEY_HANDLE_INVALID, 'no usable key in this slot');
    if (r.sw !== SW_OK) throw cardError('GENERAL AUTHENTICATE', r.sw);
    const template = findTlv(r.data, 0x7c);
    const der = template && findTlv(template.value, 0x82);
    if (!der) throw fail(CKR_DEVICE_ERROR, 'signature response without 7C/82');
    return derSignatureToRaw(der.value, 32);
  }

  /** ECDH with the card's key (GENERAL AUTHENTICATE with the peer point in tag 85): the shared x-coordinate. */
  async deriveSecret(key: string, mechanism: Mechanism): Promise<Uint8Array> {
    const slot = slotOf(key);
    const parameter = mechanism.parameter as { publicData?: unknown } | undefined;
    const publicData = parameter?.publicData;
    if (!(publicData instanceof Uint8Array)) throw fail(CKR_MECHANISM_PARAM_INVALID, 'publicData: expected the peer point');
    let point: Uint8Array = publicData;
    // The peer point raw (04‖x‖y) or wrapped in a DER OCTET STRING, as applications pass either.
    if (point.length === 67 && point[0] === 0x04 && point[1] === 0x41) point = point.subarray(2);
    if (point.length !== 65 || point[0] !== 0x04) throw fail(CKR_MECHANISM_PARAM_INVALID, 'publicData: an uncompressed P-256 point');
    if (!this.#keyTypes.has(slot)) await this.objects();
    if (this.#keyTypes.get(slot)?.type !== 'ec') throw fail(CKR_KEY_TYPE_INCONSISTENT, 'ECDH needs an EC key');
    const r = await this.#send(0x87, ALG_ECC_P256, slot, tlv(0x7c, tlv(0x82), tlv(0x85, point)));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'the card wants the PIN verified for this key');
    if (r.sw === 0x6a80) throw fail(CKR_MECHANISM_PARAM_INVALID, 'the card refused the peer point');
    if (r.sw !== SW_OK) throw cardError('GENERAL AUTHENTICATE', r.sw);
    const template = findTlv(r.data, 0x7c);
    const shared = template && findTlv(template.value, 0x82)?.value;
    if (!shared || shared.length !== 32) throw fail(CKR_DEVICE_ERROR, 'key agreement response without 7C/82');
    return shared.slice();
  }

  /** PKCS#1 v1.5 signature: DigestInfo and type-1 padding made here, the private operation on the card. */
  async #pkcs1(mechanism: number, data: Uint8Array, size: number): Promise<Uint8Array> {
    if (!RSA_DIGEST_INFO.has(mechanism)) throw fail(CKR_KEY_TYPE_INCONSISTENT, 'an RSA key signs with the RSA mechanisms');
    const digestInfo = RSA_DIGEST_INFO.get(mechanism);
    const payload = digestInfo ? concat([digestInfo.prefix, await digest(digestInfo.hash, data)]) : data;
    return pkcs1SignatureBlock(payload, size);
  }

  /** EMSA-PSS with the mechanism's parameters; the hashed variants must name their own hash. */
  async #pss(mechanism: Mechanism, data: Uint8Array, modulus: Uint8Array): Promise<Uint8Array> {
    const p = mechanism.parameter as Partial<PssParams> | undefined;
    const hash = typeof p?.hashAlg === 'number' ? HASH_OF_CKM.get(p.hashAlg) : undefined;
    const mgfHash = typeof p?.mgf === 'number' ? HASH_OF_MGF.get(p.mgf) : undefined;
    if (!hash || !mgfHash || typeof p?.saltLen !== 'number' || !Number.isInteger(p.saltLen)) {
      throw fail(CKR_MECHANISM_PARAM_INVALID, 'PSS takes { hashAlg, mgf, saltLen }');
    }
    const own = RSA_PSS.get(mechanism.mechanism);
    if (own !== undefined && own !== p.hashAlg) throw fail(CKR_MECHANISM_PARAM_INVALID, 'hashAlg must be the mechanism\'s hash');
    const mHash = own === undefined ? data : await digest(hash.name, data);
    if (mHash.length !== hash.length) throw fail(CKR_DATA_LEN_RANGE, `CKM_RSA_PKCS_PSS signs a ${hash.length}-byte hash`);
    return pssBlock(mHash, hash.name, mgfHash, p.saltLen, bitLength(modulus));
  }

  /** C_Decrypt with an RSA key: the card's private operation, the padding removed here. */
  async decrypt(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array> {
    const slot = slotOf(key);
    if (!((MECHANISMS.get(mechanism.mechanism)?.flags ?? 0) & CKF_DECRYPT)) throw fail(CKR_MECHANISM_INVALID, 'not a decryption mechanism of this card');
    const publicKey = await this.#keyIn(slot);
    if (publicKey.type !== 'rsa') throw fail(CKR_KEY_TYPE_INCONSISTENT, 'decryption needs an RSA key');
    if (data.length !== publicKey.modulus.length) throw fail(CKR_ENCRYPTED_DATA_LEN_RANGE, `the ciphertext has ${publicKey.modulus.length} bytes`);
    if (mechanism.mechanism === CKM_RSA_PKCS) {
      if (mechanism.parameter !== undefined) throw fail(CKR_MECHANISM_PARAM_INVALID, 'CKM_RSA_PKCS takes no parameter');
      return pkcs1DecryptionMessage(await this.#rsaPrivate(slot, data));
    }
    const p = mechanism.parameter as Partial<OaepParams> | undefined;
    const hash = typeof p?.hashAlg === 'number' ? HASH_OF_CKM.get(p.hashAlg) : undefined;
    const mgfHash = typeof p?.mgf === 'number' ? HASH_OF_MGF.get(p.mgf) : undefined;
    const label = p?.sourceData ?? new Uint8Array(0);
    if (!hash || !mgfHash || !(label instanceof Uint8Array) || (p?.source !== undefined && p.source !== CKZ_DATA_SPECIFIED)) {
      throw fail(CKR_MECHANISM_PARAM_INVALID, 'OAEP takes { hashAlg, mgf, source?, sourceData? }');
    }
    return oaepMessage(await this.#rsaPrivate(slot, data), hash.name, hash.length, mgfHash, label);
  }

  async #keyIn(slot: number): Promise<PublicKeyInfo> {
    if (!this.#keyTypes.has(slot)) await this.objects();
    const publicKey = this.#keyTypes.get(slot);
    if (!publicKey) throw fail(CKR_KEY_HANDLE_INVALID, 'no key in this slot');
    return publicKey;
  }

  /** The card's RSA private operation on one modulus-sized block (GENERAL AUTHENTICATE, tag 81). */
  async #rsaPrivate(slot: number, block: Uint8Array): Promise<Uint8Array> {
    const size = block.length;
    const r = await this.#send(0x87, ALG_RSA_2048, slot, tlv(0x7c, tlv(0x82), tlv(0x81, block)));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'the card wants the PIN verified for this key');
    if (r.sw !== SW_OK) throw cardError('GENERAL AUTHENTICATE', r.sw);
    const template = findTlv(r.data, 0x7c);
    const signature = template && findTlv(template.value, 0x82)?.value;
    if (!signature || signature.length !== size) throw fail(CKR_DEVICE_ERROR, 'private-key response without 7C/82');
    return signature.slice();
  }

  /** Prove the AES-128 management key (needed for GENERATE and PUT DATA). */
  async #authenticateManagementKey(hexKey: string): Promise<void> {
    if (!/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/.test(hexKey)) {
      throw fail(CKR_PIN_LEN_RANGE, 'the SO PIN is the management key in hex: 32 (AES-128), 48 (3DES or AES-192) or 64 (AES-256) digits');
    }
    const key = Uint8Array.from(hexKey.match(/../g)!, (b) => Number.parseInt(b, 16));
    // A 24-byte key is 3DES on most cards and AES-192 on newer YubiKeys: the card refuses the one it does not use.
    const candidates: ManagementAlgorithm[] = key.length === 16 ? ['aes128'] : key.length === 32 ? ['aes256'] : ['3des', 'aes192'];
    try {
      for (const algorithm of candidates) {
        const id = MANAGEMENT_ALGORITHM_IDS[algorithm];
        const challenge = await this.#send(0x87, id, 0x9b, tlv(0x7c, tlv(0x81)));
        if ((challenge.sw === 0x6a80 || challenge.sw === 0x6a86) && algorithm !== candidates.at(-1)) continue;
        const template = challenge.sw === SW_OK ? findTlv(challenge.data, 0x7c) : undefined;
        const value = template && findTlv(template.value, 0x81)?.value;
        if (!value || value.length !== blockSize(algorithm)) throw cardError('GENERAL AUTHENTICATE (management key)', challenge.sw);
        const r = await this.#send(0x87, id, 0x9b, tlv(0x7c, tlv(0x82, await encryptBlock(algorithm, key, value))));
        if (r.sw !== SW_OK) throw fail(CKR_PIN_INCORRECT, 'the card refused the management key');
        return;
      }
    } finally {
      key.fill(0);
    }
  }


  /**
   * C_GenerateKeyPair: CKM_EC_KEY_PAIR_GEN on P-256 or CKM_RSA_PKCS_KEY_PAIR_GEN of 2048 bits (exponent
   * 65537) in the slot named by CKA_ID (01..04 = 9A..9E), GENERATE ASYMMETRIC KEY PAIR on the card
   * (after the SO's management-key login).
   */
  async generateKeyPair(mechanism: Mechanism, publicTemplate: readonly Attribute[], privateTemplate: readonly Attribute[]): Promise<{ publicKey: string; privateKey: string }> {
    let algorithm: number;
    if (mechanism.mechanism === CKM_EC_KEY_PAIR_GEN) {
      const params = valueOf(publicTemplate, CKA_EC_PARAMS);
      if (!(params instanceof Uint8Array)) throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS is required');
      if (!equal(params, P256_PARAMS)) throw fail(CKR_CURVE_NOT_SUPPORTED, 'this card generates P-256 keys');
      algorithm = ALG_ECC_P256;
    } else if (mechanism.mechanism === CKM_RSA_PKCS_KEY_PAIR_GEN) {
      const bits = valueOf(publicTemplate, CKA_MODULUS_BITS);
      if (bits === undefined) throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_MODULUS_BITS is required');
      if (bits !== 2048) throw fail(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_MODULUS_BITS: this card generates 2048-bit RSA keys');
      const exponent = valueOf(publicTemplate, CKA_PUBLIC_EXPONENT);
      if (exponent !== undefined && !(exponent instanceof Uint8Array && equal(stripZeros(exponent), Uint8Array.of(1, 0, 1)))) {
        throw fail(CKR_TEMPLATE_INCONSISTENT, 'CKA_PUBLIC_EXPONENT: the card uses 65537');
      }
      algorithm = ALG_RSA_2048;
    } else {
      throw fail(CKR_MECHANISM_INVALID, 'the PIV card generates EC P-256 and RSA-2048 key pairs');
    }
    for (const template of [publicTemplate, privateTemplate]) {
      if (valueOf(template, CKA_TOKEN) === false) throw fail(CKR_TEMPLATE_INCONSISTENT, 'keys on the card are token objects');
    }
    const spec = slotSpec(publicTemplate, privateTemplate);
    await this.#generate(spec.slot, algorithm);
    const key = hex(Uint8Array.of(spec.slot));
    return { publicKey: `pub:${key}`, privateKey: key };
  }

  /** C_CreateObject: an X.509 certificate stored in the slot named by its CKA_ID (PUT DATA). */
  async createObject(template: readonly Attribute[]): Promise<string> {
    if (valueOf(template, CKA_CLASS) !== CKO_CERTIFICATE) throw fail(CKR_TEMPLATE_INCONSISTENT, 'the PIV card stores certificates only');
    const type = valueOf(template, CKA_CERTIFICATE_TYPE);
    if (type !== undefined && type !== CKC_X_509) throw fail(CKR_TEMPLATE_INCONSISTENT, 'the PIV card stores X.509 certificates');
    if (valueOf(template, CKA_TOKEN) === false) throw fail(CKR_TEMPLATE_INCONSISTENT, 'objects on the card are token objects');
    const der = valueOf(template, CKA_VALUE);
    if (!(der instanceof Uint8Array)) throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_VALUE (the DER certificate) is required');
    try {
      parseCertificate(der);
    } catch {
      throw fail(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_VALUE: not an X.509 certificate');
    }
    const spec = slotSpec(template, []);
    await this.#writeCertificate(spec, der);
    return `cert:${hex(Uint8Array.of(spec.slot))}`;
  }

  async #generate(slot: number, algorithm: number): Promise<void> {
    const r = await this.#send(0x47, 0x00, slot, tlv(0xac, tlv(0x80, Uint8Array.of(algorithm))));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'authenticate the management key first');
    if (r.sw !== SW_OK) throw cardError('GENERATE ASYMMETRIC KEY PAIR', r.sw);
    const template = findTlv(r.data, 0x7f49);
    const publicKey = template && publicKeyFrom(algorithm, template.value);
    if (!publicKey) throw fail(CKR_DEVICE_ERROR, 'generate response without the public key (7F49)');
    this.#generated.set(slot, publicKey);
    this.#keyTypes.set(slot, publicKey);
  }

  /** PUT DATA of the slot's certificate object (DER certificate, uncompressed). */
  async #writeCertificate(spec: SlotSpec, der: Uint8Array): Promise<void> {
    const body = concat([tlv(0x70, der), tlv(0x71, Uint8Array.of(0)), tlv(0xfe)]);
    const r = await this.#send(0xdb, 0x3f, 0xff, concat([tlv(0x5c, objectTag(spec.object)), tlv(0x53, body)]));
    if (r.sw === 0x6982) throw fail(CKR_USER_NOT_LOGGED_IN, 'authenticate the management key first');
    if (r.sw !== SW_OK) throw cardError('PUT DATA', r.sw);
  }

  async #getData(object: number): Promise<Uint8Array | undefined> {
    const r = await this.#send(0xcb, 0x3f, 0xff, tlv(0x5c, objectTag(object)));
    if (r.sw === 0x6a82) return undefined;
    if (r.sw !== SW_OK) throw cardError('GET DATA', r.sw);
    return findTlv(r.data, 0x53)?.value;
  }

  #send(ins: number, p1: number, p2: number, data?: Uint8Array): Promise<Response> {
    return this.guard(() => this.#channel.send(data ? { cla: 0, ins, p1, p2, data, le: 256 } : { cla: 0, ins, p1, p2 }));
  }
}

/** A PIN of 6 to 8 bytes, padded with FF to 8 as PIV wants it. */
function padPin(pin: string): Uint8Array {
  const bytes = new TextEncoder().encode(pin);
  if (bytes.length < 6 || bytes.length > 8) throw fail(CKR_PIN_LEN_RANGE, 'a PIV PIN has 6 to 8 characters');
  const padded = new Uint8Array(8).fill(0xff);
  padded.set(bytes);
  return padded;
}

function valueOf(template: readonly Attribute[], type: number): Attribute['value'] {
  return template.find((a) => a.type === type)?.value;
}

/** The key slot a template names by CKA_ID (OpenSC numbering); both templates must agree. */
function slotSpec(first: readonly Attribute[], second: readonly Attribute[]): SlotSpec {
  const ids = [valueOf(first, CKA_ID), valueOf(second, CKA_ID)].filter((v) => v !== undefined);
  if (ids.length === 0) throw fail(CKR_TEMPLATE_INCOMPLETE, 'CKA_ID (01..04 for 9A, 9C, 9D, 9E) names the card slot');
  const [id] = ids;
  if (!(id instanceof Uint8Array) || ids.some((other) => !(other instanceof Uint8Array) || !equal(other, id))) {
    throw fail(CKR_TEMPLATE_INCONSISTENT, 'the templates name different CKA_IDs');
  }
  const spec = PIV_KEY_SLOTS.find((s) => id.length === 1 && s.id === id[0]);
  if (!spec) throw fail(CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_ID: 01, 02, 03 or 04 (PIV 9A, 9C, 9D, 9E)');
  return spec;
}

function objectTag(object: number): Uint8Array {
  return object > 0xffff ? Uint8Array.of(object >> 16, (object >> 8) & 0xff, object & 0xff) : Uint8Array.of(object);
}

function slotOf(key: string): number {
  const slot = Number.parseInt(key, 16);
  if (!PIV_KEY_SLOTS.some((s) => s.slot === slot) || !/^[0-9a-f]{2}$/.test(key)) throw fail(CKR_KEY_HANDLE_INVALID, 'not a PIV key slot');
  return slot;
}

function cardError(command: string, sw: number): Error {
  return fail(CKR_DEVICE_ERROR, `${command}: card status ${sw.toString(16).padStart(4, '0')}`);
}

export type PublicKeyInfo = { type: 'ec'; point: Uint8Array } | { type: 'rsa'; modulus: Uint8Array; exponent: Uint8Array };

/** What the objects need from an X.509 certificate: names, serial and the public key (P-256 or RSA). */
export function parseCertificate(der: Uint8Array): { subject: Uint8Array; issuer: Uint8Array; serial: Uint8Array; key: PublicKeyInfo | undefined } {
  try {
    const [certificate] = parseTlvs(der);
    const [tbs] = parseTlvs(certificate!.value);
    const fields = parseTlvs(tbs!.value);
    const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
    const [serial, , issuer, , subject, spki] = rest;
    const [algorithm, key] = parseTlvs(spki!.value);
    const [oid, params] = parseTlvs(algorithm!.value);
    let publicKey: PublicKeyInfo | undefined;
    if (equal(oid!.raw, EC_PUBLIC_KEY_OID) && params !== undefined && equal(params.raw, P256_PARAMS)) {
      publicKey = { type: 'ec', point: key!.value.slice(1) };
    } else if (equal(oid!.raw, RSA_OID)) {
      const [n, e] = parseTlvs(parseTlvs(key!.value.subarray(1))[0]!.value);
      publicKey = { type: 'rsa', modulus: stripZeros(n!.value), exponent: stripZeros(e!.value) };
    }
    return { subject: subject!.raw.slice(), issuer: issuer!.raw.slice(), serial: serial!.raw.slice(), key: publicKey };
  } catch {
    throw fail(CKR_TOKEN_NOT_RECOGNIZED, 'a certificate on the card does not parse');
  }
}

/** A public key as GENERATE and GET METADATA encode it: 86 (EC point) or 81/82 (RSA modulus, exponent). */
function publicKeyFrom(algorithm: number, encoded: Uint8Array): PublicKeyInfo | undefined {
  const items = parseTlvs(encoded);
  const get = (tag: number) => items.find((t) => t.tag === tag)?.value.slice();
  if (algorithm === ALG_ECC_P256) {
    const point = get(0x86);
    return point && point.length === 65 ? { type: 'ec', point } : undefined;
  }
  const modulus = get(0x81);
  const exponent = get(0x82);
  return algorithm === ALG_RSA_2048 && modulus && exponent ? { type: 'rsa', modulus: stripZeros(modulus), exponent: stripZeros(exponent) } : undefined;
}

function bitLength(modulus: Uint8Array): number {
  const top = modulus[0] ?? 0;
  return (modulus.length - 1) * 8 + (top === 0 ? 0 : 32 - Math.clz32(top));
}

/** An unsigned big-endian integer without its sign byte(s). */
function stripZeros(bytes: Uint8Array): Uint8Array {
  let at = 0;
  while (at < bytes.length - 1 && bytes[at] === 0) at++;
  return bytes.slice(at);
}
