/**
 * The CTAP2 part of the emulated authenticator: clientPIN with PIN/UV auth protocol 2 (retries,
 * key agreement, setPIN, a PIN/UV auth token with permissions), makeCredential and getAssertion
 * with ES256 credentials and the hmac-secret extension. Keys and PIN state stay in this object.
 */
import { decodeCbor, encodeCbor } from '../cbor.js';
import type { CborKey, CborMap, CborValue } from '../cbor.js';
import { authenticate, coseKey, cosePoint, decrypt, encrypt, hmacKey, sharedSecret } from '../pin-protocol.js';
import { join } from './iso-card.js';
import { rawSignatureToDer } from './x509.js';

const OK = 0x00;
const ERR_INVALID_CBOR = 0x12;
const ERR_MISSING_PARAMETER = 0x14;
const ERR_UNSUPPORTED_ALGORITHM = 0x26;
const ERR_NO_CREDENTIALS = 0x2e;
const ERR_PIN_INVALID = 0x31;
const ERR_PIN_BLOCKED = 0x32;
const ERR_PIN_AUTH_INVALID = 0x33;
const ERR_PIN_NOT_SET = 0x35;
const ERR_PUAT_REQUIRED = 0x36;
const ERR_PIN_POLICY_VIOLATION = 0x37;
const ERR_INVALID_SUBCOMMAND = 0x3e;
const MAX_PIN_RETRIES = 8;

interface StoredCredential {
  rpId: string;
  keys: CryptoKeyPair;
  point: Uint8Array;
  /** hmac-secret's per-credential keys, with and without user verification. */
  credRandom: { uv: Uint8Array; noUv: Uint8Array };
}

export class Ctap2Authenticator {
  readonly aaguid: Uint8Array;
  #agreement: CryptoKeyPair | undefined;
  #pinHash: Uint8Array | undefined;
  #retries = MAX_PIN_RETRIES;
  #token: { raw: Uint8Array; key: CryptoKey; permissions: number; rpId: string | undefined } | undefined;
  readonly #credentials = new Map<string, StoredCredential>();
  #signCount = 0;

  constructor(aaguid: Uint8Array) {
    this.aaguid = aaguid;
  }

  get pinRetries(): number {
    return this.#retries;
  }

  get pinSet(): boolean {
    return this.#pinHash !== undefined;
  }

  /** What hmac-secret must answer for a credential and salt (for tests that check the host). */
  async expectedHmacSecret(credentialId: Uint8Array, salt: Uint8Array, uv: boolean): Promise<Uint8Array | undefined> {
    const credential = this.#credentials.get(hex(credentialId));
    if (!credential) return undefined;
    return authenticate(await hmacKey(uv ? credential.credRandom.uv : credential.credRandom.noUv), salt);
  }

  /** One CTAP2 command: the status byte, then the CBOR response if any. */
  async command(command: number, body: Uint8Array): Promise<Uint8Array> {
    let parameters: CborMap = new Map();
    if (body.length > 0) {
      try {
        const decoded = decodeCbor(body);
        if (!(decoded instanceof Map)) return Uint8Array.of(ERR_INVALID_CBOR);
        parameters = decoded;
      } catch {
        return Uint8Array.of(ERR_INVALID_CBOR);
      }
    }
    const [status, response] = await this.#dispatch(command, parameters);
    return response ? join([Uint8Array.of(status), encodeCbor(response)]) : Uint8Array.of(status);
  }

  async #dispatch(command: number, p: CborMap): Promise<[number, CborMap?]> {
    switch (command) {
      case 0x06: return this.#clientPin(p);
      case 0x01: return this.#makeCredential(p);
      case 0x02: return this.#getAssertion(p);
      default: return [0x01];
    }
  }

  async #keyAgreement(): Promise<CryptoKeyPair> {
    this.#agreement ??= await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    return this.#agreement;
  }

  async #clientPin(p: CborMap): Promise<[number, CborMap?]> {
    if (p.get(1) !== 2) return [ERR_MISSING_PARAMETER];
    const sub = p.get(2);
    if (sub === 0x01) return [OK, new Map([[3, this.#retries]])];
    const agreement = await this.#keyAgreement();
    if (sub === 0x02) {
      const point = new Uint8Array(await crypto.subtle.exportKey('raw', agreement.publicKey));
      return [OK, new Map([[1, coseKey(point)]])];
    }
    const peer = cosePoint(p.get(3));
    if (!peer) return [ERR_MISSING_PARAMETER];
    const secret = await sharedSecret(agreement.privateKey, peer);
    if (sub === 0x03) {
      const newPinEnc = p.get(5);
      const param = p.get(4);
      if (!(newPinEnc instanceof Uint8Array) || !(param instanceof Uint8Array)) return [ERR_MISSING_PARAMETER];
      if (this.#pinHash) return [ERR_PIN_AUTH_INVALID];
      if (!equal(param, await authenticate(secret.hmacKey, newPinEnc))) return [ERR_PIN_AUTH_INVALID];
      const padded = await decrypt(secret, newPinEnc);
      if (!padded || padded.length !== 64) return [ERR_PIN_POLICY_VIOLATION];
      const end = padded.indexOf(0);
      const pin = padded.subarray(0, end < 0 ? 64 : end);
      if (pin.length < 4) return [ERR_PIN_POLICY_VIOLATION];
      this.#pinHash = new Uint8Array(await crypto.subtle.digest('SHA-256', pin.slice())).slice(0, 16);
      this.#retries = MAX_PIN_RETRIES;
      return [OK];
    }
    if (sub === 0x09 || sub === 0x05) {
      if (!this.#pinHash) return [ERR_PIN_NOT_SET];
      if (this.#retries === 0) return [ERR_PIN_BLOCKED];
      const pinHashEnc = p.get(6);
      if (!(pinHashEnc instanceof Uint8Array)) return [ERR_MISSING_PARAMETER];
      this.#retries--;
      const hash = await decrypt(secret, pinHashEnc);
      if (!hash || !equal(hash, this.#pinHash)) {
        // A wrong PIN also changes the key agreement key, as the specification asks.
        this.#agreement = undefined;
        return [this.#retries === 0 ? ERR_PIN_BLOCKED : ERR_PIN_INVALID];
      }
      this.#retries = MAX_PIN_RETRIES;
      const raw = crypto.getRandomValues(new Uint8Array(32));
      const permissions = sub === 0x09 ? p.get(9) : 0x03;
      const rpId = p.get(10);
      this.#token = { raw, key: await hmacKey(raw), permissions: typeof permissions === 'number' ? permissions : 0, rpId: typeof rpId === 'string' ? rpId : undefined };
      return [OK, new Map([[2, await encrypt(secret, raw)]])];
    }
    return [ERR_INVALID_SUBCOMMAND];
  }

  /** Check pinUvAuthParam against the current token: true (verified), false (none given), or a status. */
  async #verified(p: CborMap, paramKey: number, protocolKey: number, clientDataHash: Uint8Array, permission: number, rpId: string): Promise<boolean | number> {
    const param = p.get(paramKey);
    if (param === undefined) return false;
    if (!(param instanceof Uint8Array) || p.get(protocolKey) !== 2) return ERR_MISSING_PARAMETER;
    const token = this.#token;
    if (!token || !equal(param, await authenticate(token.key, clientDataHash))) return ERR_PIN_AUTH_INVALID;
    if (!(token.permissions & permission) || (token.rpId !== undefined && token.rpId !== rpId)) return ERR_PIN_AUTH_INVALID;
    return true;
  }

  async #makeCredential(p: CborMap): Promise<[number, CborMap?]> {
    const clientDataHash = p.get(1);
    const rp = p.get(2);
    const params = p.get(4);
    if (!(clientDataHash instanceof Uint8Array) || !(rp instanceof Map) || typeof rp.get('id') !== 'string' || !Array.isArray(params)) return [ERR_MISSING_PARAMETER];
    const rpId = rp.get('id') as string;
    if (!params.some((c) => c instanceof Map && c.get('alg') === -7)) return [ERR_UNSUPPORTED_ALGORITHM];
    const uv = await this.#verified(p, 8, 9, clientDataHash, 0x01, rpId);
    if (typeof uv === 'number') return [uv];
    if (this.#pinHash && !uv) return [ERR_PUAT_REQUIRED];
    const extensions = p.get(6);
    const hmacSecret = extensions instanceof Map && extensions.get('hmac-secret') === true;
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const point = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
    const credentialId = crypto.getRandomValues(new Uint8Array(32));
    this.#credentials.set(hex(credentialId), {
      rpId, keys, point,
      credRandom: { uv: crypto.getRandomValues(new Uint8Array(32)), noUv: crypto.getRandomValues(new Uint8Array(32)) },
    });
    const cose = new Map<CborKey, CborValue>([[1, 2], [3, -7], [-1, 1], [-2, point.slice(1, 33)], [-3, point.slice(33)]]);
    const attested = join([this.aaguid, Uint8Array.of(0, credentialId.length), credentialId, encodeCbor(cose)]);
    const ext = hmacSecret ? encodeCbor(new Map<CborKey, CborValue>([['hmac-secret', true]])) : new Uint8Array(0);
    const flags = 0x01 | (uv ? 0x04 : 0) | 0x40 | (hmacSecret ? 0x80 : 0);
    const authData = join([await this.#rpIdHash(rpId), Uint8Array.of(flags), this.#counter(), attested, ext]);
    return [OK, new Map<CborKey, CborValue>([[1, 'none'], [2, authData], [3, new Map()]])];
  }

  async #getAssertion(p: CborMap): Promise<[number, CborMap?]> {
    const rpId = p.get(1);
    const clientDataHash = p.get(2);
    const allow = p.get(3);
    if (typeof rpId !== 'string' || !(clientDataHash instanceof Uint8Array)) return [ERR_MISSING_PARAMETER];
    const wanted = Array.isArray(allow) ? allow.map((d) => (d instanceof Map ? d.get('id') : undefined)) : [];
    const id = wanted.find((w): w is Uint8Array => w instanceof Uint8Array && this.#credentials.get(hex(w))?.rpId === rpId);
    if (!id) return [ERR_NO_CREDENTIALS];
    const credential = this.#credentials.get(hex(id))!;
    const uv = await this.#verified(p, 6, 7, clientDataHash, 0x02, rpId);
    if (typeof uv === 'number') return [uv];
    let ext = new Uint8Array(0);
    const extensions = p.get(4);
    const hmac = extensions instanceof Map ? extensions.get('hmac-secret') : undefined;
    if (hmac instanceof Map) {
      const peer = cosePoint(hmac.get(1));
      const saltEnc = hmac.get(2);
      const saltAuth = hmac.get(3);
      if (!peer || !(saltEnc instanceof Uint8Array) || !(saltAuth instanceof Uint8Array) || hmac.get(4) !== 2) return [ERR_MISSING_PARAMETER];
      const secret = await sharedSecret((await this.#keyAgreement()).privateKey, peer);
      if (!equal(saltAuth, await authenticate(secret.hmacKey, saltEnc))) return [ERR_PIN_AUTH_INVALID];
      const salts = await decrypt(secret, saltEnc);
      if (!salts || (salts.length !== 32 && salts.length !== 64)) return [ERR_MISSING_PARAMETER];
      const key = await hmacKey(uv ? credential.credRandom.uv : credential.credRandom.noUv);
      const outputs = [await authenticate(key, salts.subarray(0, 32))];
      if (salts.length === 64) outputs.push(await authenticate(key, salts.subarray(32)));
      ext = encodeCbor(new Map<CborKey, CborValue>([['hmac-secret', await encrypt(secret, join(outputs))]]));
    }
    const flags = 0x01 | (uv ? 0x04 : 0) | (ext.length > 0 ? 0x80 : 0);
    const authData = join([await this.#rpIdHash(rpId), Uint8Array.of(flags), this.#counter(), ext]);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, credential.keys.privateKey, join([authData, clientDataHash])));
    return [OK, new Map<CborKey, CborValue>([
      [1, new Map<CborKey, CborValue>([['id', id], ['type', 'public-key']])], [2, authData], [3, rawSignatureToDer(raw)],
    ])];
  }

  async #rpIdHash(rpId: string): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(rpId)));
  }

  #counter(): Uint8Array {
    const n = ++this.#signCount;
    return Uint8Array.of(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
