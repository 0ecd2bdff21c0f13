/**
 * A PIV card (SP 800-73-4) of our own, with the YubiKey extensions tools look for (GET VERSION,
 * GET SERIAL): PIN with retries, an AES-128 management key (challenge-response), EC P-256 keys in
 * 9A/9C/9D/9E, data objects (CHUID, certificates), GENERAL AUTHENTICATE (sign, ECDH, management
 * key), GET/PUT DATA and GENERATE ASYMMETRIC KEY PAIR. Key bytes stay inside this object.
 */
import { blockSize, encryptBlock, MANAGEMENT_ALGORITHM_IDS } from '../block-cipher.js';
import type { ManagementAlgorithm } from '../block-cipher.js';
import { findTlv, parseTlvs, tlv } from '../tlv.js';
import { IsoCard, SW, join } from './iso-card.js';
import type { Command, Reply } from './iso-card.js';
import { newP256Key, scalarBytes, signDigest } from './p256.js';
import type { P256Key } from './p256.js';
import { newRsaKey, rsaPrivate } from './rsa.js';
import type { RsaCardKey } from './rsa.js';
import { rawSignatureToDer, selfSignedCertificate } from './x509.js';

export const PIV_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00);
export const PIV_SLOTS = [0x9a, 0x9c, 0x9d, 0x9e] as const;
export type PivSlot = (typeof PIV_SLOTS)[number];
/** Where each slot's certificate lives. */
export const PIV_CERT_OBJECTS: Record<PivSlot, number> = { 0x9a: 0x5fc105, 0x9c: 0x5fc10a, 0x9d: 0x5fc10b, 0x9e: 0x5fc101 };
export const PIV_ALG_ECC_P256 = 0x11;
export const PIV_ALG_RSA_2048 = 0x07;
const CHUID = 0x5fc102;
const MANAGEMENT_KEY_REF = 0x9b;

export interface PivCardOptions {
  pin?: string;
  pinRetries?: number;
  /** 16-byte AES-128 management key. */
  managementKey?: Uint8Array;
  /** Cipher of the management key (AES-128 unless said). */
  managementAlgorithm?: ManagementAlgorithm;
  serial?: number;
}

export const DEFAULT_MANAGEMENT_KEY = Uint8Array.from({ length: 16 }, (_, i) => (i % 8) + 1);

export class PivCard extends IsoCard {
  /** T=1, historical bytes "vhsmPIV" (a bare 3B 80 80 01 01 is taken by OpenSC for a PIVKey, which has no EC). */
  readonly atr = Uint8Array.of(0x3b, 0x87, 0x80, 0x01, 0x76, 0x68, 0x73, 0x6d, 0x50, 0x49, 0x56, 0x49);
  readonly serial: number;
  #pin: Uint8Array;
  readonly #maxRetries: number;
  #retries: number;
  #managementKey: Uint8Array;
  readonly #managementAlgorithm: ManagementAlgorithm;
  readonly #objects = new Map<number, Uint8Array>();
  readonly #keys = new Map<number, { alg: typeof PIV_ALG_ECC_P256; key: P256Key } | { alg: typeof PIV_ALG_RSA_2048; key: RsaCardKey }>();
  /** PIV is the default application after reset, as on a YubiKey. */
  #selected = true;
  #pinVerified = false;
  /** 9C needs the PIN right before each signature (PIN policy "always"). */
  #pinFresh = false;
  #managementAuthenticated = false;
  #challenge: Uint8Array | undefined;

  constructor(options: PivCardOptions = {}) {
    super();
    this.#pin = padPin(options.pin ?? '123456');
    this.#maxRetries = options.pinRetries ?? 3;
    this.#retries = this.#maxRetries;
    this.#managementKey = (options.managementKey ?? DEFAULT_MANAGEMENT_KEY).slice();
    this.#managementAlgorithm = options.managementAlgorithm ?? 'aes128';
    this.serial = options.serial ?? 12_345_678;
    const guid = Uint8Array.from({ length: 16 }, (_, i) => (this.serial >> (i % 4) * 8) & 0xff);
    this.#objects.set(CHUID, join([tlv(0x30, new Uint8Array(25)), tlv(0x34, guid), tlv(0x35, new TextEncoder().encode('20351231')), tlv(0x3e), tlv(0xfe)]));
  }

  override reset(): void {
    super.reset();
    this.#selected = true;
    this.#pinVerified = false;
    this.#pinFresh = false;
    this.#managementAuthenticated = false;
    this.#challenge = undefined;
  }

  /** Test set-up: a key and a self-signed certificate in a slot, as an issuer would leave them. */
  async provision(slot: PivSlot, commonName: string, algorithm: 'p256' | 'rsa2048' = 'p256'): Promise<Uint8Array> {
    const entry = algorithm === 'rsa2048'
      ? { alg: PIV_ALG_RSA_2048, key: await newRsaKey(2048) } as const
      : { alg: PIV_ALG_ECC_P256, key: await newP256Key() } as const;
    this.#keys.set(slot, entry);
    const der = await selfSignedCertificate(entry.key.pair, commonName, Uint8Array.of(slot, 1));
    this.#objects.set(PIV_CERT_OBJECTS[slot], join([tlv(0x70, der), tlv(0x71, Uint8Array.of(0)), tlv(0xfe)]));
    return der;
  }

  protected async handle(c: Command): Promise<Reply> {
    if ((c.cla & 0xe0) !== 0) return { sw: SW.CLA_NOT_SUPPORTED };
    if (c.ins === 0xa4) return this.#select(c);
    if (!this.#selected) return { sw: SW.CONDITIONS_NOT_SATISFIED };
    switch (c.ins) {
      case 0x20: return this.#verify(c);
      case 0x24: return this.#changePin(c);
      case 0xcb: return this.#getData(c);
      case 0xdb: return this.#putData(c);
      case 0x87: return this.#generalAuthenticate(c);
      case 0x47: return this.#generate(c);
      case 0xfd: return { data: Uint8Array.of(5, 4, 3), sw: SW.OK };
      case 0xf7: return this.#metadata(c);
      case 0xf8: return { data: Uint8Array.of(this.serial >>> 24, (this.serial >> 16) & 0xff, (this.serial >> 8) & 0xff, this.serial & 0xff), sw: SW.OK };
      default: return { sw: SW.INS_NOT_SUPPORTED };
    }
  }

  #select(c: Command): Reply {
    // SELECT of another application fails and, having none, leaves the current one selected.
    if (c.p1 !== 0x04 || c.data.length < 5 || !PIV_AID.subarray(0, c.data.length).every((b, i) => b === c.data[i])) return { sw: SW.NOT_FOUND };
    this.#selected = true;
    const template = tlv(0x61, tlv(0x4f, PIV_AID.subarray(5)), tlv(0x79, tlv(0x4f, PIV_AID.subarray(0, 5))),
      tlv(0xac, tlv(0x80, Uint8Array.of(PIV_ALG_ECC_P256)), tlv(0x80, Uint8Array.of(PIV_ALG_RSA_2048)), tlv(0x06)));
    return { data: template, sw: SW.OK };
  }

  #verify(c: Command): Reply {
    if (c.p1 === 0xff) {
      this.#pinVerified = false;
      this.#pinFresh = false;
      return { sw: SW.OK };
    }
    if (c.p2 !== 0x80) return { sw: SW.REF_NOT_FOUND };
    if (c.data.length === 0) {
      if (this.#pinVerified) return { sw: SW.OK };
      return { sw: this.#retries === 0 ? SW.AUTH_BLOCKED : 0x63c0 | this.#retries };
    }
    if (this.#retries === 0) return { sw: SW.AUTH_BLOCKED };
    if (c.data.length !== 8) return { sw: SW.WRONG_LENGTH };
    if (!equal(c.data, this.#pin)) {
      this.#retries--;
      this.#pinVerified = false;
      return { sw: this.#retries === 0 ? SW.AUTH_BLOCKED : 0x63c0 | this.#retries };
    }
    this.#retries = this.#maxRetries;
    this.#pinVerified = true;
    this.#pinFresh = true;
    return { sw: SW.OK };
  }

  /** CHANGE REFERENCE DATA of the PIN (key reference 80): old and new, 8 padded bytes each. */
  #changePin(c: Command): Reply {
    if (c.p2 !== 0x80) return { sw: SW.REF_NOT_FOUND };
    if (c.data.length !== 16) return { sw: SW.WRONG_LENGTH };
    if (this.#retries === 0) return { sw: SW.AUTH_BLOCKED };
    if (!equal(c.data.subarray(0, 8), this.#pin)) {
      this.#retries--;
      return { sw: this.#retries === 0 ? SW.AUTH_BLOCKED : 0x63c0 | this.#retries };
    }
    this.#retries = this.#maxRetries;
    this.#pin = c.data.slice(8);
    return { sw: SW.OK };
  }

  /**
   * YubiKey GET METADATA (5.3+): for the PIN, algorithm, default flag and both counters; for a key
   * slot, algorithm, PIN and touch policy, origin and the public key as GENERATE encodes it.
   */
  #metadata(c: Command): Reply {
    if (c.p2 === 0x80) {
      const isDefault = equal(this.#pin, padPin('123456')) ? 1 : 0;
      return { data: join([tlv(0x01, Uint8Array.of(0xff)), tlv(0x05, Uint8Array.of(isDefault)), tlv(0x06, Uint8Array.of(this.#maxRetries, this.#retries))]), sw: SW.OK };
    }
    const entry = this.#keys.get(c.p2);
    if (!entry) return { sw: SW.REF_NOT_FOUND };
    const publicKey = entry.alg === PIV_ALG_RSA_2048
      ? join([tlv(0x81, entry.key.modulus), tlv(0x82, entry.key.exponent)])
      : tlv(0x86, entry.key.point);
    const policy = Uint8Array.of(c.p2 === 0x9c ? 3 : c.p2 === 0x9e ? 1 : 2, 1);
    return { data: join([tlv(0x01, Uint8Array.of(entry.alg)), tlv(0x02, policy), tlv(0x03, Uint8Array.of(1)), tlv(0x04, publicKey)]), sw: SW.OK };
  }

  #getData(c: Command): Reply {
    if (c.p1 !== 0x3f || c.p2 !== 0xff) return { sw: SW.WRONG_P1P2 };
    const tag = findTlv(c.data, 0x5c);
    if (!tag) return { sw: SW.INCORRECT_DATA };
    const id = bytesToNumber(tag.value);
    if (id === 0x7e) return { data: tlv(0x7e, tlv(0x4f, PIV_AID), tlv(0x5f2f, Uint8Array.of(0x40, 0x00))), sw: SW.OK };
    const value = this.#objects.get(id);
    if (!value) return { sw: SW.NOT_FOUND };
    return { data: tlv(0x53, value), sw: SW.OK };
  }

  #putData(c: Command): Reply {
    if (!this.#managementAuthenticated) return { sw: SW.SECURITY_NOT_SATISFIED };
    const items = parseTlvs(c.data);
    const tag = items.find((t) => t.tag === 0x5c);
    const value = items.find((t) => t.tag === 0x53);
    if (!tag || !value) return { sw: SW.INCORRECT_DATA };
    const id = bytesToNumber(tag.value);
    if (value.value.length === 0) this.#objects.delete(id);
    else this.#objects.set(id, value.value.slice());
    return { sw: SW.OK };
  }

  async #generate(c: Command): Promise<Reply> {
    if (!this.#managementAuthenticated) return { sw: SW.SECURITY_NOT_SATISFIED };
    if (!(PIV_SLOTS as readonly number[]).includes(c.p2)) return { sw: SW.REF_NOT_FOUND };
    const template = findTlv(c.data, 0xac);
    const alg = template && findTlv(template.value, 0x80);
    if (alg?.value[0] === PIV_ALG_RSA_2048) {
      const key = await newRsaKey(2048);
      this.#keys.set(c.p2, { alg: PIV_ALG_RSA_2048, key });
      return { data: tlv(0x7f49, tlv(0x81, key.modulus), tlv(0x82, key.exponent)), sw: SW.OK };
    }
    if (alg?.value[0] !== PIV_ALG_ECC_P256) return { sw: SW.INCORRECT_DATA };
    const key = await newP256Key();
    this.#keys.set(c.p2, { alg: PIV_ALG_ECC_P256, key });
    return { data: tlv(0x7f49, tlv(0x86, key.point)), sw: SW.OK };
  }

  async #generalAuthenticate(c: Command): Promise<Reply> {
    const template = findTlv(c.data, 0x7c);
    if (!template) return { sw: SW.INCORRECT_DATA };
    const items = parseTlvs(template.value);
    const get = (tag: number) => items.find((t) => t.tag === tag);
    if (c.p2 === MANAGEMENT_KEY_REF) return this.#managementAuth(c.p1, get(0x81), get(0x82));
    const entry = this.#keys.get(c.p2);
    if (!entry) return { sw: SW.REF_NOT_FOUND };
    if (c.p1 !== entry.alg) return { sw: SW.INCORRECT_DATA };
    if (c.p2 !== 0x9e && !this.#pinVerified) return { sw: SW.SECURITY_NOT_SATISFIED };
    if (c.p2 === 0x9c) {
      if (!this.#pinFresh) return { sw: SW.SECURITY_NOT_SATISFIED };
      this.#pinFresh = false;
    }
    const challenge = get(0x81);
    const peer = get(0x85);
    if (entry.alg === PIV_ALG_RSA_2048) {
      // RSA: the host sends the padded block; the card applies the private key (sign and decrypt alike).
      const out = challenge && challenge.value.length === entry.key.modulus.length ? rsaPrivate(entry.key, challenge.value) : undefined;
      return out ? { data: tlv(0x7c, tlv(0x82, out)), sw: SW.OK } : { sw: SW.INCORRECT_DATA };
    }
    const key = entry.key;
    if (challenge) {
      const { r, s } = signDigest(key.d, challenge.value);
      const der = rawSignatureToDer(join([scalarBytes(r), scalarBytes(s)]));
      return { data: tlv(0x7c, tlv(0x82, der)), sw: SW.OK };
    }
    if (peer) {
      try {
        const ecdh = await crypto.subtle.importKey('jwk', { ...(await crypto.subtle.exportKey('jwk', key.pair.privateKey)), key_ops: ['deriveBits'] }, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
        const pub = await crypto.subtle.importKey('raw', peer.value.slice(), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
        const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: pub }, ecdh, 256));
        return { data: tlv(0x7c, tlv(0x82, shared)), sw: SW.OK };
      } catch {
        return { sw: SW.INCORRECT_DATA };
      }
    }
    return { sw: SW.INCORRECT_DATA };
  }

  /** Single authentication of the host: the card sends a challenge, the host returns it encrypted. */
  async #managementAuth(alg: number, challenge: { value: Uint8Array } | undefined, response: { value: Uint8Array } | undefined): Promise<Reply> {
    if (alg !== MANAGEMENT_ALGORITHM_IDS[this.#managementAlgorithm]) return { sw: SW.INCORRECT_DATA };
    if (challenge && challenge.value.length === 0) {
      this.#challenge = crypto.getRandomValues(new Uint8Array(blockSize(this.#managementAlgorithm)));
      return { data: tlv(0x7c, tlv(0x81, this.#challenge)), sw: SW.OK };
    }
    const expected = this.#challenge;
    this.#challenge = undefined;
    if (!response || !expected) return { sw: SW.CONDITIONS_NOT_SATISFIED };
    const ok = equal(response.value, await encryptBlock(this.#managementAlgorithm, this.#managementKey, expected));
    this.#managementAuthenticated = ok;
    return { sw: ok ? SW.OK : SW.SECURITY_NOT_SATISFIED };
  }

}

function bytesToNumber(bytes: Uint8Array): number {
  return bytes.reduce((n, b) => n * 256 + b, 0);
}

export function padPin(pin: string): Uint8Array {
  const bytes = new TextEncoder().encode(pin);
  const out = new Uint8Array(8).fill(0xff);
  out.set(bytes.subarray(0, 8));
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
