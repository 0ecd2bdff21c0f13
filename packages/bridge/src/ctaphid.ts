/**
 * CTAPHID (CTAP 2.1 §11.2) over a WebHID-shaped device: 64-byte reports, an initialization packet
 * (CID, command with the high bit, 16-bit length) then continuation packets (CID, sequence 0..127);
 * a channel allocated with CTAPHID_INIT on the broadcast CID; KEEPALIVE while the authenticator
 * works or waits for a touch; CANCEL to abort a pending CBOR request.
 */
import { CKR_DATA_LEN_RANGE, CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_FUNCTION_CANCELED } from '@vhsm/pkcs11';
import { decodeCbor, encodeCbor } from './cbor.js';
import type { CborMap, CborValue } from './cbor.js';
import { concat } from './bytes.js';
import { fail } from './errors.js';
import { FIDO_USAGE_PAGE } from './hid.js';
import type { HidDeviceLike, HidInputReportEventLike } from './hid.js';

export const CTAPHID_PING = 0x81;
export const CTAPHID_MSG = 0x83;
export const CTAPHID_INIT = 0x86;
export const CTAPHID_WINK = 0x88;
export const CTAPHID_CBOR = 0x90;
export const CTAPHID_CANCEL = 0x91;
export const CTAPHID_KEEPALIVE = 0xbb;
export const CTAPHID_ERROR = 0xbf;
export const BROADCAST_CID = 0xffffffff;
export const CTAP2_GET_INFO = 0x04;
export const CTAP2_SELECTION = 0x0b;
export const CTAP2_ERR_KEEPALIVE_CANCEL = 0x2d;
export const KEEPALIVE_PROCESSING = 1;
export const KEEPALIVE_UP_NEEDED = 2;

const REPORT = 64;
const INIT_DATA = REPORT - 7;
const CONT_DATA = REPORT - 5;
export const MAX_MESSAGE = INIT_DATA + 128 * CONT_DATA;

/** Cut a message into reports: one initialization packet, then continuation packets. */
export function framePackets(cid: number, command: number, payload: Uint8Array): Uint8Array<ArrayBuffer>[] {
  if (payload.length > MAX_MESSAGE) throw fail(CKR_DATA_LEN_RANGE, `CTAPHID messages hold at most ${MAX_MESSAGE} bytes`);
  const packets: Uint8Array<ArrayBuffer>[] = [];
  const first = new Uint8Array(REPORT);
  const view = new DataView(first.buffer);
  view.setUint32(0, cid);
  first[4] = command | 0x80;
  view.setUint16(5, payload.length);
  first.set(payload.subarray(0, INIT_DATA), 7);
  packets.push(first);
  for (let at = INIT_DATA, seq = 0; at < payload.length; at += CONT_DATA, seq++) {
    const packet = new Uint8Array(REPORT);
    new DataView(packet.buffer).setUint32(0, cid);
    packet[4] = seq;
    packet.set(payload.subarray(at, at + CONT_DATA), 5);
    packets.push(packet);
  }
  return packets;
}

/** Reassembles the messages of one channel from its packets. */
export class MessageAssembler {
  #command = 0;
  #length = 0;
  #parts: Uint8Array[] = [];
  #have = 0;
  #seq = 0;

  /** Feed one packet; returns the message when it is complete. */
  push(packet: Uint8Array): { command: number; payload: Uint8Array } | undefined {
    const type = packet[4] as number;
    if (type & 0x80) {
      this.#command = type;
      this.#length = ((packet[5] as number) << 8) | (packet[6] as number);
      this.#parts = [packet.subarray(7, 7 + Math.min(this.#length, INIT_DATA))];
      this.#have = this.#parts[0]!.length;
      this.#seq = 0;
    } else {
      if (this.#parts.length === 0 || type !== this.#seq) throw fail(CKR_DEVICE_ERROR, 'CTAPHID continuation out of sequence');
      const part = packet.subarray(5, 5 + Math.min(this.#length - this.#have, CONT_DATA));
      this.#parts.push(part);
      this.#have += part.length;
      this.#seq++;
    }
    if (this.#have < this.#length) return undefined;
    const message = { command: this.#command, payload: concat(this.#parts) };
    this.#parts = [];
    return message;
  }
}

export interface TransactOptions {
  signal?: AbortSignal;
  onKeepalive?: (status: number) => void;
}

export interface AuthenticatorInfo {
  versions: string[];
  extensions: string[];
  aaguid: Uint8Array;
  options: Record<string, boolean>;
  maxMsgSize?: number;
  pinUvAuthProtocols: number[];
}

export class CtapHidDevice {
  readonly device: HidDeviceLike;
  readonly cid: number;
  readonly version: { protocol: number; major: number; minor: number; build: number; capabilities: number };
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(device: HidDeviceLike, cid: number, version: CtapHidDevice['version']) {
    this.device = device;
    this.cid = cid;
    this.version = version;
  }

  /** Open a FIDO HID device and allocate a channel (CTAPHID_INIT on the broadcast channel). */
  static async open(device: HidDeviceLike): Promise<CtapHidDevice> {
    if (!device.collections.some((c) => c.usagePage === FIDO_USAGE_PAGE)) throw fail(CKR_DEVICE_ERROR, 'not a FIDO HID device (usage page 0xF1D0)');
    try {
      if (!device.opened) await device.open();
    } catch (e) {
      throw fail(CKR_DEVICE_ERROR, `cannot open the HID device${e instanceof Error ? `: ${e.name}` : ''}`);
    }
    const nonce = crypto.getRandomValues(new Uint8Array(8));
    const reply = await exchange(device, BROADCAST_CID, CTAPHID_INIT, nonce, {}, (payload) => payload.length >= 17 && nonce.every((b, i) => b === payload[i]));
    const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    return new CtapHidDevice(device, view.getUint32(8), {
      protocol: reply[12] as number, major: reply[13] as number, minor: reply[14] as number, build: reply[15] as number, capabilities: reply[16] as number,
    });
  }

  /** One request/response on our channel; calls are serialized. */
  transact(command: number, payload: Uint8Array, options: TransactOptions = {}): Promise<Uint8Array> {
    const run = this.#queue.then(() => exchange(this.device, this.cid, command, payload, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  ping(data: Uint8Array): Promise<Uint8Array> {
    return this.transact(CTAPHID_PING, data);
  }

  /** A CTAP2 command: status byte checked, CBOR response decoded (undefined when empty). */
  async cbor(command: number, parameters?: CborMap, options: TransactOptions = {}): Promise<CborValue | undefined> {
    const body = parameters ? concat([Uint8Array.of(command), encodeCbor(parameters)]) : Uint8Array.of(command);
    const response = await this.transact(CTAPHID_CBOR, body, options);
    const status = response[0];
    if (status === CTAP2_ERR_KEEPALIVE_CANCEL) throw fail(CKR_FUNCTION_CANCELED, 'the request was cancelled');
    if (status !== 0) throw fail(CKR_DEVICE_ERROR, `CTAP2 status 0x${(status ?? 0).toString(16)}`);
    return response.length > 1 ? decodeCbor(response.subarray(1)) : undefined;
  }

  async getInfo(): Promise<AuthenticatorInfo> {
    const info = await this.cbor(CTAP2_GET_INFO);
    if (!(info instanceof Map)) throw fail(CKR_DEVICE_ERROR, 'authenticatorGetInfo: not a map');
    const strings = (v: CborValue | undefined) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    const options: Record<string, boolean> = {};
    const rawOptions = info.get(4);
    if (rawOptions instanceof Map) for (const [k, v] of rawOptions) if (typeof k === 'string' && typeof v === 'boolean') options[k] = v;
    const aaguid = info.get(3);
    if (!(aaguid instanceof Uint8Array) || aaguid.length !== 16) throw fail(CKR_DEVICE_ERROR, 'authenticatorGetInfo: bad aaguid');
    const result: AuthenticatorInfo = {
      versions: strings(info.get(1)), extensions: strings(info.get(2)), aaguid, options,
      pinUvAuthProtocols: (Array.isArray(info.get(6)) ? info.get(6) as CborValue[] : []).filter((x): x is number => typeof x === 'number'),
    };
    const max = info.get(5);
    if (typeof max === 'number') result.maxMsgSize = max;
    return result;
  }
}

/**
 * Send a message and wait for the answer on a channel. KEEPALIVE packets go to the callback; an
 * aborted signal sends CTAPHID_CANCEL and the authenticator's answer (cancelled) ends the wait.
 */
function exchange(device: HidDeviceLike, cid: number, command: number, payload: Uint8Array,
  options: TransactOptions, accept: (payload: Uint8Array) => boolean = () => true): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const assembler = new MessageAssembler();
    let cancelled = false;
    const finish = (error: unknown, value?: Uint8Array) => {
      device.removeEventListener('inputreport', onReport);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value!);
    };
    const onReport = (event: HidInputReportEventLike) => {
      const packet = new Uint8Array(event.data.buffer, event.data.byteOffset, event.data.byteLength);
      if (packet.length < 5 || new DataView(packet.buffer, packet.byteOffset).getUint32(0) !== cid) return;
      let message: { command: number; payload: Uint8Array } | undefined;
      try {
        message = assembler.push(packet);
      } catch (e) {
        finish(e);
        return;
      }
      if (!message) return;
      if (message.command === CTAPHID_KEEPALIVE) {
        options.onKeepalive?.(message.payload[0] ?? 0);
        return;
      }
      if (message.command === CTAPHID_ERROR) {
        finish(fail(CKR_DEVICE_ERROR, `CTAPHID error 0x${(message.payload[0] ?? 0).toString(16)}`));
        return;
      }
      if (message.command !== command || !accept(message.payload)) return;
      if (cancelled && message.payload[0] === CTAP2_ERR_KEEPALIVE_CANCEL) {
        finish(fail(CKR_FUNCTION_CANCELED, 'the request was cancelled'));
        return;
      }
      finish(undefined, message.payload);
    };
    const onAbort = () => {
      cancelled = true;
      // CANCEL carries no answer of its own: the pending request answers, cancelled.
      void send(device, framePackets(cid, CTAPHID_CANCEL, new Uint8Array(0))).catch((e: unknown) => finish(e));
    };
    device.addEventListener('inputreport', onReport);
    if (options.signal?.aborted) {
      finish(fail(CKR_FUNCTION_CANCELED, 'aborted before sending'));
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    send(device, framePackets(cid, command, payload)).catch((e: unknown) => finish(e));
  });
}

async function send(device: HidDeviceLike, packets: Uint8Array<ArrayBuffer>[]): Promise<void> {
  try {
    for (const packet of packets) await device.sendReport(0, packet);
  } catch (e) {
    throw e instanceof Error && e.name === 'NotFoundError'
      ? fail(CKR_DEVICE_REMOVED, 'the authenticator was disconnected')
      : fail(CKR_DEVICE_ERROR, `HID report failed${e instanceof Error ? `: ${e.name}` : ''}`);
  }
}
