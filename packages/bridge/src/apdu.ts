/**
 * ISO 7816-4 APDUs over any transport that moves one APDU at a time: short or extended encoding,
 * command chaining (CLA bit 0x10) when a short-only reader gets more than 255 bytes, and
 * GET RESPONSE (61xx) / wrong-Le (6Cxx) handling so callers always see the whole response.
 */
import { CKR_DEVICE_ERROR } from '@vhsm/pkcs11';
import { concat } from './bytes.js';
import { fail } from './errors.js';

export interface Apdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  /** Expected response length; 256 (short) or 65536 (extended) means "all". Absent: no response data expected. */
  le?: number;
}

export interface ApduTransport {
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

export interface Response {
  data: Uint8Array;
  sw: number;
}

export const SW_OK = 0x9000;
const SHORT_MAX = 255;
const GET_RESPONSE_ROUNDS = 4096;

export function encodeApdu(a: Apdu, extended: boolean): Uint8Array {
  const data = a.data ?? new Uint8Array(0);
  const head = [a.cla, a.ins, a.p1, a.p2];
  const out: number[] = [...head];
  if (!extended) {
    if (data.length > SHORT_MAX || (a.le ?? 0) > 256) throw fail(CKR_DEVICE_ERROR, 'APDU too long for short encoding');
    if (data.length > 0) out.push(data.length, ...data);
    if (a.le !== undefined) out.push(a.le & 0xff);
    return Uint8Array.from(out);
  }
  if (data.length > 0xffff || (a.le ?? 0) > 0x10000) throw fail(CKR_DEVICE_ERROR, 'APDU too long');
  if (data.length > 0) out.push(0, data.length >> 8, data.length & 0xff, ...data);
  if (a.le !== undefined) {
    const le = a.le & 0xffff;
    if (data.length === 0) out.push(0);
    out.push(le >> 8, le & 0xff);
  }
  return Uint8Array.from(out);
}

export function splitResponse(raw: Uint8Array): Response {
  if (raw.length < 2) throw fail(CKR_DEVICE_ERROR, 'card response shorter than a status word');
  return { data: raw.slice(0, -2), sw: ((raw[raw.length - 2] as number) << 8) | (raw[raw.length - 1] as number) };
}

/** APDU exchange with a card, as its reader allows (short only, or extended too). */
export class CardChannel {
  readonly #transport: ApduTransport;
  readonly extended: boolean;

  constructor(transport: ApduTransport, options: { extended: boolean }) {
    this.#transport = transport;
    this.extended = options.extended;
  }

  /** Send a command; the result holds the whole response data and the final status word. */
  async send(a: Apdu): Promise<Response> {
    const data = a.data ?? new Uint8Array(0);
    const useExtended = this.extended && (data.length > SHORT_MAX || (a.le ?? 0) > 256);
    let first: Response;
    if (useExtended || data.length <= SHORT_MAX) {
      first = await this.#raw(a, useExtended);
    } else {
      first = { data: new Uint8Array(0), sw: SW_OK };
      for (let at = 0; at < data.length; at += SHORT_MAX) {
        const last = at + SHORT_MAX >= data.length;
        const part: Apdu = { cla: last ? a.cla : a.cla | 0x10, ins: a.ins, p1: a.p1, p2: a.p2, data: data.subarray(at, at + SHORT_MAX) };
        if (last && a.le !== undefined) part.le = a.le;
        first = await this.#raw(part, false);
        if (!last && first.sw !== SW_OK) return first;
      }
    }
    return this.#collect(a, first, useExtended);
  }

  async #raw(a: Apdu, extended: boolean): Promise<Response> {
    return splitResponse(await this.#transport.transmit(encodeApdu(a, extended)));
  }

  async #collect(a: Apdu, first: Response, extended: boolean): Promise<Response> {
    let response = first;
    if (response.sw >> 8 === 0x6c) {
      // Wrong Le: the card says how many bytes it has; ask again with that.
      response = await this.#raw({ ...a, le: response.sw & 0xff || 256 }, extended);
    }
    const parts = [response.data];
    for (let round = 0; response.sw >> 8 === 0x61; round++) {
      if (round >= GET_RESPONSE_ROUNDS) throw fail(CKR_DEVICE_ERROR, 'the card never finished its response');
      response = await this.#raw({ cla: a.cla & 0x03, ins: 0xc0, p1: 0, p2: 0, le: response.sw & 0xff || 256 }, false);
      parts.push(response.data);
    }
    return { data: concat(parts), sw: response.sw };
  }
}
