/**
 * An emulated FIDO2 authenticator behind an object shaped like WebHID's `HIDDevice`: its own
 * CTAPHID framing (written apart from the host's, so one cannot hide the other's mistakes),
 * channel allocation, PING, CBOR with authenticatorGetInfo and authenticatorSelection (which waits
 * for a touch, sending KEEPALIVE, and honours CANCEL), and the CTAPHID errors.
 */
import { encodeCbor } from '../cbor.js';
import type { CborKey, CborMap, CborValue } from '../cbor.js';
import type { HidDeviceLike, HidInputReportEventLike } from '../hid.js';
import { Ctap2Authenticator } from './ctap2-authenticator.js';
import { join } from './iso-card.js';

const BROADCAST = 0xffffffff;
const ERR_INVALID_CMD = 0x01;
const ERR_INVALID_LEN = 0x03;
const ERR_INVALID_SEQ = 0x04;
const ERR_CHANNEL_BUSY = 0x06;
const ERR_INVALID_CHANNEL = 0x0b;

interface Incoming {
  command: number;
  length: number;
  data: number[];
  seq: number;
}

export interface EmulatedAuthenticatorOptions {
  aaguid?: Uint8Array;
  /** Milliseconds between KEEPALIVE packets while waiting for a touch. */
  keepaliveMs?: number;
}

export class EmulatedFidoDevice implements HidDeviceLike {
  readonly vendorId = 0x1209;
  readonly productId = 0x0002;
  readonly productName = 'vhsm emulated authenticator';
  readonly collections = [{ usagePage: 0xf1d0, usage: 0x01 }];
  opened = false;
  /** Every report the host sent, for framing tests. */
  readonly received: Uint8Array[] = [];
  readonly #listeners = new Set<(event: HidInputReportEventLike) => void>();
  readonly #channels = new Set<number>();
  readonly #incoming = new Map<number, Incoming>();
  readonly #aaguid: Uint8Array;
  /** clientPIN, makeCredential, getAssertion (with hmac-secret). */
  readonly ctap2: Ctap2Authenticator;
  readonly #keepaliveMs: number;
  #nextCid = 0x0100_0001;
  /** The one request in progress (a real authenticator does one thing at a time). */
  #pending: { cid: number; cancel: () => void } | undefined;
  #touch: (() => void) | undefined;

  constructor(options: EmulatedAuthenticatorOptions = {}) {
    this.#aaguid = options.aaguid ?? Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    this.#keepaliveMs = options.keepaliveMs ?? 5;
    this.ctap2 = new Ctap2Authenticator(this.#aaguid);
  }

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  addEventListener(_type: 'inputreport', listener: (event: HidInputReportEventLike) => void): void {
    this.#listeners.add(listener);
  }

  removeEventListener(_type: 'inputreport', listener: (event: HidInputReportEventLike) => void): void {
    this.#listeners.delete(listener);
  }

  /** The user touches the key. */
  touch(): void {
    this.#touch?.();
  }

  get waitingForTouch(): boolean {
    return this.#touch !== undefined;
  }

  async sendReport(reportId: number, data: Uint8Array<ArrayBuffer>): Promise<void> {
    if (!this.opened) throw Object.assign(new Error('device not opened'), { name: 'InvalidStateError' });
    if (reportId !== 0 || data.length !== 64) throw Object.assign(new Error('bad report'), { name: 'NotAllowedError' });
    this.received.push(data.slice());
    const cid = ((data[0]! << 24) >>> 0) + (data[1]! << 16) + (data[2]! << 8) + data[3]!;
    const type = data[4]!;
    if (type & 0x80) {
      const length = (data[5]! << 8) | data[6]!;
      if (type === 0x91) {
        // CANCEL: no answer of its own; the pending request ends, cancelled.
        if (this.#pending?.cid === cid) this.#pending.cancel();
        return;
      }
      if (cid !== BROADCAST && !this.#channels.has(cid)) return this.#error(cid, ERR_INVALID_CHANNEL);
      if (this.#incoming.has(cid) && type !== 0x86) return this.#error(cid, ERR_INVALID_SEQ);
      if (length > 7609) return this.#error(cid, ERR_INVALID_LEN);
      this.#incoming.set(cid, { command: type, length, data: [...data.subarray(7, 7 + Math.min(length, 57))], seq: 0 });
    } else {
      const message = this.#incoming.get(cid);
      if (!message) return;
      if (type !== message.seq) {
        this.#incoming.delete(cid);
        return this.#error(cid, ERR_INVALID_SEQ);
      }
      message.seq++;
      message.data.push(...data.subarray(5, 5 + Math.min(message.length - message.data.length, 59)));
    }
    const message = this.#incoming.get(cid)!;
    if (message.data.length < message.length) return;
    this.#incoming.delete(cid);
    await this.#handle(cid, message.command, Uint8Array.from(message.data));
  }

  async #handle(cid: number, command: number, payload: Uint8Array): Promise<void> {
    if (command === 0x86) {
      if (payload.length !== 8) return this.#error(cid, ERR_INVALID_LEN);
      const allocated = cid === BROADCAST ? this.#nextCid++ : cid;
      this.#channels.add(allocated);
      // Protocol 2, version 1.0.0, capabilities WINK | CBOR (no NMSG: CTAP1 is not offered).
      const cidBytes = Uint8Array.of(allocated >>> 24, (allocated >> 16) & 0xff, (allocated >> 8) & 0xff, allocated & 0xff);
      return this.#reply(cid, 0x86, join([payload, cidBytes, Uint8Array.of(2, 1, 0, 0, 0x01 | 0x04)]));
    }
    if (cid === BROADCAST) return this.#error(cid, ERR_INVALID_CHANNEL);
    if (this.#pending) return this.#error(cid, ERR_CHANNEL_BUSY);
    if (command === 0x81) return this.#reply(cid, 0x81, payload);
    if (command !== 0x90 || payload.length === 0) return this.#error(cid, ERR_INVALID_CMD);
    switch (payload[0]) {
      case 0x04: return this.#reply(cid, 0x90, join([Uint8Array.of(0), encodeCbor(this.#info())]));
      case 0x0b: return this.#waitForTouch(cid);
      case 0x01:
      case 0x02:
      case 0x06: return this.#reply(cid, 0x90, await this.ctap2.command(payload[0], payload.subarray(1)));
      default: return this.#reply(cid, 0x90, Uint8Array.of(ERR_INVALID_CMD));
    }
  }

  #info(): CborMap {
    return new Map<CborKey, CborValue>([
      [1, ['FIDO_2_0', 'FIDO_2_1']],
      [2, ['hmac-secret']],
      [3, this.#aaguid.slice()],
      [4, new Map<CborKey, CborValue>([['rk', true], ['up', true], ['plat', false], ['clientPin', this.ctap2.pinSet], ['pinUvAuthToken', true]])],
      [5, 1200],
      [6, [2]],
    ]);
  }

  /** authenticatorSelection: KEEPALIVE(UPNEEDED) until touched or cancelled. */
  #waitForTouch(cid: number): void {
    const timer = setInterval(() => this.#reply(cid, 0xbb, Uint8Array.of(2)), this.#keepaliveMs);
    const done = (status: number) => {
      clearInterval(timer);
      this.#pending = undefined;
      this.#touch = undefined;
      this.#reply(cid, 0x90, Uint8Array.of(status));
    };
    this.#pending = { cid, cancel: () => done(0x2d) };
    this.#touch = () => done(0);
  }

  #error(cid: number, code: number): void {
    this.#reply(cid, 0xbf, Uint8Array.of(code));
  }

  #reply(cid: number, command: number, payload: Uint8Array): void {
    const packets: Uint8Array<ArrayBuffer>[] = [];
    const header = (p: Uint8Array) => p.set([cid >>> 24, (cid >> 16) & 0xff, (cid >> 8) & 0xff, cid & 0xff], 0);
    const first = new Uint8Array(64);
    header(first);
    first.set([command, payload.length >> 8, payload.length & 0xff], 4);
    first.set(payload.subarray(0, 57), 7);
    packets.push(first);
    for (let at = 57, seq = 0; at < payload.length; at += 59, seq++) {
      const packet = new Uint8Array(64);
      header(packet);
      packet[4] = seq;
      packet.set(payload.subarray(at, at + 59), 5);
      packets.push(packet);
    }
    // Reports arrive as events, after the sendReport call that caused them has returned.
    setTimeout(() => {
      for (const packet of packets) for (const l of this.#listeners) l({ reportId: 0, data: new DataView(packet.buffer) });
    }, 0);
  }
}
