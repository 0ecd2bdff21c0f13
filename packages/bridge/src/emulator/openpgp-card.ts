/**
 * An OpenPGP card 3.4 of our own, enough for a signing token: application related data (AID,
 * algorithm attributes, PW status, fingerprints), PW1/PW3 with retry counters, ECDSA P-256 keys,
 * GENERATE ASYMMETRIC KEY PAIR (generate with PW3, read the public key without), and PSO:COMPUTE
 * DIGITAL SIGNATURE with the signature counter. PW1 stays valid for one signature only (the
 * card's default), so each signature needs a fresh VERIFY 81.
 */
import { findTlv, tlv } from '../tlv.js';
import { IsoCard, SW, join } from './iso-card.js';
import type { Command, Reply } from './iso-card.js';
import { newP256Key, scalarBytes, signDigest } from './p256.js';
import type { P256Key } from './p256.js';

export const OPENPGP_AID_PREFIX = Uint8Array.of(0xd2, 0x76, 0x00, 0x01, 0x24, 0x01);
/** Curve OID of NIST P-256, as algorithm attributes carry it (no tag, no length). */
const P256_OID = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const ECDSA_ALGORITHM_ID = 0x13;
const ECDH_ALGORITHM_ID = 0x12;
/** Control reference templates of the three keys: signature, decryption, authentication. */
const KEY_CRTS = [0xb6, 0xb8, 0xa4] as const;

export interface OpenPgpCardOptions {
  pin?: string;
  adminPin?: string;
  serial?: number;
}

interface Key extends P256Key {
  fingerprint: Uint8Array;
}

interface Password {
  value: Uint8Array;
  retries: number;
}

const MAX_RETRIES = 3;

export class OpenPgpCard extends IsoCard {
  /** T=1, historical bytes carrying the OpenPGP card's usual "card service data" byte. */
  readonly atr = Uint8Array.of(0x3b, 0x84, 0x80, 0x01, 0x80, 0x73, 0xc0, 0x21, 0x92);
  readonly aid: Uint8Array;
  readonly #pw1: Password;
  readonly #pw3: Password;
  readonly #keys = new Map<number, Key>();
  #signatures = 0;
  #selected = false;
  #pw1Signature = false;
  #pw1Other = false;
  #pw3Verified = false;

  constructor(options: OpenPgpCardOptions = {}) {
    super();
    this.#pw1 = { value: new TextEncoder().encode(options.pin ?? '123456'), retries: MAX_RETRIES };
    this.#pw3 = { value: new TextEncoder().encode(options.adminPin ?? '12345678'), retries: MAX_RETRIES };
    const serial = options.serial ?? 0x0102_0304;
    // Version 3.4, manufacturer FFFE (test cards), serial, RFU.
    this.aid = join([OPENPGP_AID_PREFIX, Uint8Array.of(0x03, 0x04, 0xff, 0xfe, serial >>> 24, (serial >> 16) & 0xff, (serial >> 8) & 0xff, serial & 0xff, 0, 0)]);
  }

  override reset(): void {
    super.reset();
    this.#selected = false;
    this.#pw1Signature = false;
    this.#pw1Other = false;
    this.#pw3Verified = false;
  }

  /** Test set-up: a signature key, as `gpg --card-edit` would leave it. */
  async provision(): Promise<Uint8Array> {
    return this.provisionKey('sig');
  }

  /** Test set-up: one of the three keys (signature, decryption, authentication); its public point. */
  async provisionKey(which: 'sig' | 'dec' | 'aut'): Promise<Uint8Array> {
    const key = await newKey();
    this.#keys.set({ sig: 0xb6, dec: 0xb8, aut: 0xa4 }[which], key);
    return key.point;
  }

  protected async handle(c: Command): Promise<Reply> {
    if (c.ins === 0xa4) return this.#select(c);
    if (!this.#selected) return { sw: SW.CONDITIONS_NOT_SATISFIED };
    switch (c.ins) {
      case 0xca: return this.#getData(c);
      case 0x20: return this.#verify(c);
      case 0x24: return this.#changePw1(c);
      case 0x47: return this.#generate(c);
      case 0x2a: return c.p1 === 0x80 ? this.#decipher(c) : this.#pso(c);
      case 0x88: return this.#internalAuthenticate(c);
      // SELECT DATA: which occurrence of the cardholder certificate (7F21) GET DATA reads; all are empty here.
      case 0xa5: return { sw: c.p1 <= 2 && c.p2 === 0x04 ? SW.OK : SW.WRONG_P1P2 };
      default: return { sw: SW.INS_NOT_SUPPORTED };
    }
  }

  #select(c: Command): Reply {
    if (c.p1 !== 0x04 || c.data.length < OPENPGP_AID_PREFIX.length || !c.data.every((b, i) => b === this.aid[i])) return { sw: SW.NOT_FOUND };
    this.#selected = true;
    return { sw: SW.OK };
  }

  #getData(c: Command): Reply {
    const tag = (c.p1 << 8) | c.p2;
    switch (tag) {
      case 0x004f: return { data: this.aid, sw: SW.OK };
      case 0x006e: return { data: tlv(0x6e, tlv(0x4f, this.aid), tlv(0x73, this.#discretionary())), sw: SW.OK };
      case 0x00c4: return { data: this.#pwStatus(), sw: SW.OK };
      // Cardholder related data (name, language, salutation), login data, URL, cardholder certificate: empty here.
      case 0x0065: return { data: tlv(0x65, tlv(0x5b), tlv(0x5f2d, new TextEncoder().encode('en')), tlv(0x5f35, Uint8Array.of(0x39))), sw: SW.OK };
      case 0x005e:
      case 0x5f50:
      case 0x7f21: return { sw: SW.OK };
      case 0x007a: return { data: tlv(0x7a, tlv(0x93, Uint8Array.of(this.#signatures >> 16, (this.#signatures >> 8) & 0xff, this.#signatures & 0xff))), sw: SW.OK };
      default: return { sw: SW.REF_NOT_FOUND };
    }
  }

  #discretionary(): Uint8Array {
    const attributes = join([Uint8Array.of(ECDSA_ALGORITHM_ID), P256_OID]);
    const decryption = join([Uint8Array.of(ECDH_ALGORITHM_ID), P256_OID]);
    const fingerprints = join(KEY_CRTS.map((crt) => this.#keys.get(crt)?.fingerprint ?? new Uint8Array(20)));
    return join([
      // Extended capabilities: key import, PW status changeable; max lengths.
      tlv(0xc0, Uint8Array.of(0x34, 0, 0, 0xff, 0x04, 0xc0, 0, 0xff, 0x01, 0)),
      tlv(0xc1, attributes), tlv(0xc2, decryption), tlv(0xc3, attributes),
      tlv(0xc4, this.#pwStatus()),
      tlv(0xc5, fingerprints),
    ]);
  }

  #pwStatus(): Uint8Array {
    // PW1 valid for one signature; max lengths 127 (UTF-8); retry counters PW1, RC, PW3.
    return Uint8Array.of(0x00, 0x7f, 0x7f, 0x7f, this.#pw1.retries, 0, this.#pw3.retries);
  }

  #verify(c: Command): Reply {
    const password = c.p2 === 0x83 ? this.#pw3 : c.p2 === 0x81 || c.p2 === 0x82 ? this.#pw1 : undefined;
    if (!password || (c.p1 !== 0x00 && c.p1 !== 0xff)) return { sw: SW.WRONG_P1P2 };
    if (c.p1 === 0xff) {
      // Reset the access status of the password (OpenPGP card 3.x).
      if (c.p2 === 0x83) this.#pw3Verified = false;
      else this.#pw1Signature = this.#pw1Other = false;
      return { sw: SW.OK };
    }
    const state = c.p2 === 0x81 ? this.#pw1Signature : c.p2 === 0x82 ? this.#pw1Other : this.#pw3Verified;
    if (c.data.length === 0) return { sw: state ? SW.OK : password.retries === 0 ? SW.AUTH_BLOCKED : 0x63c0 | password.retries };
    if (password.retries === 0) return { sw: SW.AUTH_BLOCKED };
    if (c.data.length !== password.value.length || !c.data.every((b, i) => b === password.value[i])) {
      password.retries--;
      return { sw: password.retries === 0 ? SW.AUTH_BLOCKED : SW.SECURITY_NOT_SATISFIED };
    }
    password.retries = MAX_RETRIES;
    if (c.p2 === 0x81) this.#pw1Signature = true;
    else if (c.p2 === 0x82) this.#pw1Other = true;
    else this.#pw3Verified = true;
    return { sw: SW.OK };
  }

  /** CHANGE REFERENCE DATA of PW1 (81): old PIN then new PIN, the split known from the old one's length. */
  #changePw1(c: Command): Reply {
    if (c.p1 !== 0x00 || c.p2 !== 0x81) return { sw: SW.WRONG_P1P2 };
    const pw1 = this.#pw1;
    if (pw1.retries === 0) return { sw: SW.AUTH_BLOCKED };
    const old = c.data.subarray(0, pw1.value.length);
    if (!old.every((b, i) => b === pw1.value[i])) {
      pw1.retries--;
      return { sw: pw1.retries === 0 ? SW.AUTH_BLOCKED : SW.SECURITY_NOT_SATISFIED };
    }
    const next = c.data.slice(pw1.value.length);
    if (next.length < 6) return { sw: SW.WRONG_LENGTH };
    pw1.retries = MAX_RETRIES;
    pw1.value = next;
    return { sw: SW.OK };
  }

  async #generate(c: Command): Promise<Reply> {
    const crt = c.data[0];
    if (c.data.length < 2 || !(KEY_CRTS as readonly number[]).includes(crt as number)) return { sw: SW.INCORRECT_DATA };
    if (c.p1 === 0x80) {
      if (!this.#pw3Verified) return { sw: SW.SECURITY_NOT_SATISFIED };
      this.#keys.set(crt as number, await newKey());
    } else if (c.p1 !== 0x81) {
      return { sw: SW.WRONG_P1P2 };
    }
    const key = this.#keys.get(crt as number);
    if (!key) return { sw: SW.REF_NOT_FOUND };
    return { data: tlv(0x7f49, tlv(0x86, key.point)), sw: SW.OK };
  }

  /** INTERNAL AUTHENTICATE with the authentication key: ECDSA over the digest given, PW1 (82). */
  #internalAuthenticate(c: Command): Reply {
    const key = this.#keys.get(0xa4);
    if (!key) return { sw: SW.REF_NOT_FOUND };
    if (!this.#pw1Other) return { sw: SW.SECURITY_NOT_SATISFIED };
    if (c.data.length === 0 || c.data.length > 64) return { sw: SW.WRONG_LENGTH };
    const { r, s } = signDigest(key.d, c.data);
    return { data: join([scalarBytes(r), scalarBytes(s)]), sw: SW.OK };
  }

  /** PSO:DECIPHER for ECDH: A6 { 7F49 { 86 point } } → the shared x-coordinate, PW1 (82). */
  async #decipher(c: Command): Promise<Reply> {
    if (c.p2 !== 0x86) return { sw: SW.WRONG_P1P2 };
    const key = this.#keys.get(0xb8);
    if (!key) return { sw: SW.REF_NOT_FOUND };
    if (!this.#pw1Other) return { sw: SW.SECURITY_NOT_SATISFIED };
    const outer = findTlv(c.data, 0xa6);
    const inner = outer && findTlv(outer.value, 0x7f49);
    const point = inner && findTlv(inner.value, 0x86);
    if (!point) return { sw: SW.INCORRECT_DATA };
    try {
      const jwk = await crypto.subtle.exportKey('jwk', key.pair.privateKey);
      const ecdh = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['deriveBits'] }, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
      const peer = await crypto.subtle.importKey('raw', point.value.slice(), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      return { data: new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, ecdh, 256)), sw: SW.OK };
    } catch {
      return { sw: SW.INCORRECT_DATA };
    }
  }

  #pso(c: Command): Reply {
    if (c.p1 !== 0x9e || c.p2 !== 0x9a) return { sw: SW.WRONG_P1P2 };
    const key = this.#keys.get(0xb6);
    if (!key) return { sw: SW.REF_NOT_FOUND };
    if (!this.#pw1Signature) return { sw: SW.SECURITY_NOT_SATISFIED };
    this.#pw1Signature = false;
    if (c.data.length === 0 || c.data.length > 64) return { sw: SW.WRONG_LENGTH };
    const { r, s } = signDigest(key.d, c.data);
    this.#signatures++;
    return { data: join([scalarBytes(r), scalarBytes(s)]), sw: SW.OK };
  }
}

/** The fingerprint only has to be unique per key here; a real card stores the one OpenPGP computes. */
async function newKey(): Promise<Key> {
  const key = await newP256Key();
  return { ...key, fingerprint: new Uint8Array(await crypto.subtle.digest('SHA-1', key.point)) };
}
