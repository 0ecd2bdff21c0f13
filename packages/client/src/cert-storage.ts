/**
 * X.509 certificates on the token, in the shape of node-webcrypto-p11's certStorage (keys, getItem,
 * setItem, removeItem, hasItem, clear, indexOf). A stored certificate is a public CKO_CERTIFICATE
 * token object (CKC_X_509) with CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER taken from its DER,
 * and the CKA_ID of its key when one is given, so any PKCS#11 application finds the pair. Its id is
 * `x509-${hex CKA_ID}`. Build one over the facade: `new CertStorage(connection.subtle)`.
 */
import {
  CKA_CERTIFICATE_TYPE, CKA_CLASS, CKA_ID, CKA_ISSUER, CKA_LABEL, CKA_PRIVATE, CKA_SERIAL_NUMBER,
  CKA_SUBJECT, CKA_TOKEN, CKA_VALUE, CKC_X_509, CKO_CERTIFICATE, CKR_ATTRIBUTE_VALUE_INVALID,
} from '@vhsm/pkcs11';
import type { Template } from '@vhsm/pkcs11';
import { facadeError, toFacadeError } from './subtle/errors.js';
import { readTlv } from './subtle/der.js';
import { VhsmCryptoKey, bytes } from './subtle/subtle.js';
import type { VhsmSubtle } from './subtle/subtle.js';

const ID_PREFIX = 'x509-';
const SEQUENCE = 0x30;
const INTEGER = 0x02;
const VERSION = 0xa0;

export interface CertSetOptions {
  /** The certificate's key: the certificate takes its CKA_ID (else 8 random bytes). */
  key?: VhsmCryptoKey;
  /** CKA_LABEL. */
  label?: string;
}

export class CertStorage {
  readonly #subtle: VhsmSubtle;

  constructor(subtle: VhsmSubtle) {
    this.#subtle = subtle;
  }

  /** Ids of every X.509 certificate on the token. */
  keys(): Promise<string[]> {
    return this.#guard(async () => {
      const ids: string[] = [];
      for (const handle of await this.#find([])) {
        const [id] = await this.#subtle.pkcs11.C_GetAttributeValue(await this.#owner(), handle, [{ type: CKA_ID }]);
        ids.push(ID_PREFIX + hex(id?.value as Uint8Array));
      }
      return ids;
    });
  }

  /** The DER of the certificate with this id, or null. */
  getItem(id: string): Promise<ArrayBuffer | null> {
    return this.#guard(async () => {
      const handle = await this.#handleOf(id);
      if (handle === undefined) return null;
      const [value] = await this.#subtle.pkcs11.C_GetAttributeValue(await this.#owner(), handle, [{ type: CKA_VALUE }]);
      return new Uint8Array(value!.value as Uint8Array).buffer;
    });
  }

  /** Stores a certificate (DER, or PEM text) unless it already is; resolves to its id. */
  setItem(certificate: BufferSource | string, options: CertSetOptions = {}): Promise<string> {
    return this.#guard(async () => {
      const der = toDer(certificate);
      const existing = await this.indexOf(der);
      if (existing) return existing;
      if (options.key !== undefined && !(options.key instanceof VhsmCryptoKey)) throw new TypeError('key: expected a key made by this facade');
      const { subject, issuer, serial } = parseCertificate(der);
      const id = options.key?.id ?? crypto.getRandomValues(new Uint8Array(8));
      const template: Template = [
        { type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
        { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_ID, value: id },
        { type: CKA_SUBJECT, value: subject }, { type: CKA_ISSUER, value: issuer }, { type: CKA_SERIAL_NUMBER, value: serial },
        { type: CKA_VALUE, value: der },
      ];
      if (options.label !== undefined) template.push({ type: CKA_LABEL, value: options.label });
      await this.#subtle.pkcs11.C_CreateObject(await this.#owner(), template);
      return ID_PREFIX + hex(id);
    });
  }

  removeItem(id: string): Promise<void> {
    return this.#guard(async () => {
      const handle = await this.#handleOf(id);
      if (handle !== undefined) await this.#subtle.pkcs11.C_DestroyObject(await this.#owner(), handle);
    });
  }

  hasItem(certificate: BufferSource | string): Promise<boolean> {
    return this.indexOf(certificate).then((id) => id !== null);
  }

  /** The id under which this certificate is stored, or null. */
  indexOf(certificate: BufferSource | string): Promise<string | null> {
    return this.#guard(async () => {
      const [handle] = await this.#find([{ type: CKA_VALUE, value: toDer(certificate) }]);
      if (handle === undefined) return null;
      const [id] = await this.#subtle.pkcs11.C_GetAttributeValue(await this.#owner(), handle, [{ type: CKA_ID }]);
      return ID_PREFIX + hex(id?.value as Uint8Array);
    });
  }

  clear(): Promise<void> {
    return this.#guard(async () => {
      const owner = await this.#owner();
      for (const handle of await this.#find([])) await this.#subtle.pkcs11.C_DestroyObject(owner, handle);
    });
  }

  async #owner(): Promise<number> {
    return (await this.#subtle.context()).owner;
  }

  async #handleOf(id: string): Promise<number | undefined> {
    const match = /^x509-((?:[0-9a-f]{2})+)$/.exec(id);
    if (!match) return undefined;
    const bytesOfId = Uint8Array.from(match[1]?.match(/../g) ?? [], (h) => parseInt(h, 16));
    return (await this.#find([{ type: CKA_ID, value: bytesOfId }]))[0];
  }

  /** X.509 certificates on the token matching `extra`. */
  async #find(extra: Template): Promise<number[]> {
    const owner = await this.#owner();
    const p11 = this.#subtle.pkcs11;
    await p11.C_FindObjectsInit(owner, [
      { type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 }, { type: CKA_TOKEN, value: true }, ...extra,
    ]);
    try {
      const handles: number[] = [];
      for (let found = await p11.C_FindObjects(owner, 256); found.length > 0; found = await p11.C_FindObjects(owner, 256)) handles.push(...found);
      return handles;
    } finally {
      await p11.C_FindObjectsFinal(owner);
    }
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw toFacadeError(e);
    }
  }
}

/** DER bytes of a certificate given as DER or as PEM text. */
function toDer(certificate: BufferSource | string): Uint8Array<ArrayBuffer> {
  if (typeof certificate !== 'string') return new Uint8Array(bytes(certificate, 'certificate'));
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(certificate);
  if (!match) throw facadeError('DataError', 'certificate: expected DER bytes or a PEM CERTIFICATE block', CKR_ATTRIBUTE_VALUE_INVALID);
  return Uint8Array.from(atob((match[1] as string).replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}

/**
 * The DER encodings PKCS#11 keeps beside an X.509 certificate: the subject and issuer Names and the
 * serial number INTEGER, read from TBSCertificate (RFC 5280 §4.1).
 */
export function parseCertificate(der: Uint8Array): { subject: Uint8Array; issuer: Uint8Array; serial: Uint8Array } {
  const bad = (): never => {
    throw facadeError('DataError', 'certificate: not a DER X.509 certificate', CKR_ATTRIBUTE_VALUE_INVALID);
  };
  try {
    const certificate = readTlv(der);
    if (certificate.tag !== SEQUENCE || certificate.end !== der.length) bad();
    const tbs = readTlv(certificate.content);
    if (tbs.tag !== SEQUENCE) bad();
    const body = tbs.content;
    // Each field as its whole TLV (tag and length included), one after the other.
    const fields: { tag: number; tlv: Uint8Array }[] = [];
    for (let at = 0; at < body.length && fields.length < 6;) {
      const { tag, end } = readTlv(body, at);
      fields.push({ tag, tlv: body.subarray(at, end) });
      at = end;
    }
    const [serial, , issuer, , subject] = fields[0]?.tag === VERSION ? fields.slice(1) : fields;
    if (serial?.tag !== INTEGER || issuer?.tag !== SEQUENCE || subject?.tag !== SEQUENCE) bad();
    return { subject: (subject as { tlv: Uint8Array }).tlv.slice(), issuer: (issuer as { tlv: Uint8Array }).tlv.slice(), serial: (serial as { tlv: Uint8Array }).tlv.slice() };
  } catch (e) {
    if (e instanceof RangeError) bad();
    throw e;
  }
}

function hex(value: Uint8Array): string {
  return Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('');
}
