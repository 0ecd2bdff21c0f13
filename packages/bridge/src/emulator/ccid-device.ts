/**
 * An emulated CCID reader behind an object shaped like WebUSB's `USBDevice`: one configuration with
 * a class-0x0B interface (bulk in/out, interrupt in), a CCID class descriptor at the short or
 * extended APDU level, replies cut into 64-byte packets, optional time-extension replies, and
 * extended-level chaining of long commands and responses.
 */
import type {
  UsbConfigurationLike, UsbControlSetup, UsbDeviceLike, UsbInResult, UsbOutResult,
} from '../usb.js';
import type { EmulatedCard } from './iso-card.js';
import { join } from './iso-card.js';
import { T1Card } from './t1-card.js';

export interface EmulatedReaderOptions {
  /** Exchange level; 'tpdu' runs T=1 with the card (blocks in XfrBlock). */
  level?: 'short' | 'extended' | 'tpdu';
  /** T=1: the card's IFSC, announced in its ATR. */
  ifsc?: number;
  /** T=1: S(WTX) requests the card makes before each answer. */
  wtx?: number;
  /** dwMaxCCIDMessageLength: header plus data of one bulk message. */
  maxMessageLength?: number;
  packetSize?: number;
  /** Time-extension replies sent before each XfrBlock answer. */
  timeExtensions?: number;
  productName?: string;
}

const BULK_OUT = 1;
const BULK_IN = 2;
const INTERRUPT_IN = 3;

class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class EmulatedCcidDevice implements UsbDeviceLike {
  readonly vendorId = 0x1209;
  readonly productId = 0x0001;
  readonly productName: string;
  readonly manufacturerName = 'vhsm';
  readonly serialNumber = 'EMU0001';
  opened = false;
  configuration: UsbConfigurationLike | null = null;
  readonly configurations: UsbConfigurationLike[];
  /** Every bulk message the host sent, for framing tests. */
  readonly sent: Uint8Array[] = [];
  #card: EmulatedCard | undefined;
  #powered = false;
  #connected = true;
  readonly #level: 'short' | 'extended' | 'tpdu';
  readonly #ifsc: number;
  readonly #wtx: number;
  readonly #maxMessage: number;
  readonly #packetSize: number;
  readonly #timeExtensions: number;
  #inQueue: Uint8Array[] = [];
  #claimed = new Set<number>();
  /** Command chain being received (extended level). */
  #command: Uint8Array[] | undefined;
  /** Response left to send (extended level). */
  #response: Uint8Array | undefined;
  #interruptWaiters: ((r: UsbInResult) => void)[] = [];
  #t1Card: T1Card | undefined;
  #notices: Uint8Array[] = [];

  constructor(card: EmulatedCard | undefined, options: EmulatedReaderOptions = {}) {
    this.#card = card;
    this.#level = options.level ?? 'extended';
    this.#ifsc = options.ifsc ?? 32;
    this.#wtx = options.wtx ?? 0;
    this.#maxMessage = options.maxMessageLength ?? (this.#level === 'extended' ? 1034 : 271);
    this.#packetSize = options.packetSize ?? 64;
    this.#timeExtensions = options.timeExtensions ?? 0;
    this.productName = options.productName ?? 'vhsm emulated CCID reader';
    this.configurations = [{
      configurationValue: 1,
      interfaces: [{
        interfaceNumber: 0,
        alternates: [{
          alternateSetting: 0, interfaceClass: 0x0b, interfaceSubclass: 0, interfaceProtocol: 0,
          endpoints: [
            { endpointNumber: BULK_OUT, direction: 'out', type: 'bulk', packetSize: this.#packetSize },
            { endpointNumber: BULK_IN, direction: 'in', type: 'bulk', packetSize: this.#packetSize },
            { endpointNumber: INTERRUPT_IN, direction: 'in', type: 'interrupt', packetSize: 8 },
          ],
        }],
      }],
    }];
  }

  /** The T=1 engine of the card now in the reader (TPDU level), for framing tests. */
  get t1(): T1Card | undefined {
    return this.#t1Card;
  }

  insert(card: EmulatedCard): void {
    this.#card = card;
    this.#t1Card = undefined;
    this.#powered = false;
    this.#notify(true);
  }

  remove(): void {
    this.#card = undefined;
    this.#powered = false;
    this.#notify(false);
  }

  /** Unplug the reader: every pending and later transfer fails as WebUSB's do (NotFoundError). */
  disconnect(): void {
    this.#connected = false;
    for (const w of this.#interruptWaiters.splice(0)) w({ status: 'stall' });
  }

  async open(): Promise<void> {
    this.#check();
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  async selectConfiguration(value: number): Promise<void> {
    this.#check();
    this.configuration = this.configurations.find((c) => c.configurationValue === value) ?? null;
  }

  async claimInterface(n: number): Promise<void> {
    this.#check();
    this.#claimed.add(n);
  }

  async releaseInterface(n: number): Promise<void> {
    this.#claimed.delete(n);
  }

  async selectAlternateInterface(): Promise<void> {
    this.#check();
  }

  async controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInResult> {
    this.#check();
    if (setup.request !== 6 || setup.value >> 8 !== 2) return { status: 'stall' };
    const bytes = this.#configDescriptor().subarray(0, length);
    return { status: 'ok', data: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  async transferOut(endpoint: number, data: Uint8Array<ArrayBuffer>): Promise<UsbOutResult> {
    this.#check();
    if (endpoint !== BULK_OUT || !this.#claimed.has(0)) return { status: 'stall', bytesWritten: 0 };
    const message = data.slice();
    this.sent.push(message);
    for (const reply of await this.#handle(message)) {
      for (let i = 0; i < reply.length; i += this.#packetSize) this.#inQueue.push(reply.subarray(i, i + this.#packetSize));
      // A message that fills its last packet exactly is followed by a zero-length packet.
      if (reply.length % this.#packetSize === 0) this.#inQueue.push(new Uint8Array(0));
    }
    return { status: 'ok', bytesWritten: data.length };
  }

  async transferIn(endpoint: number, length: number): Promise<UsbInResult> {
    this.#check();
    if (endpoint === INTERRUPT_IN) {
      const notice = this.#notices.shift();
      if (notice) return { status: 'ok', data: new DataView(notice.buffer) };
      return new Promise((resolve, reject) => {
        this.#interruptWaiters.push((r) => (this.#connected ? resolve(r) : reject(new NotFoundError('device disconnected'))));
      });
    }
    if (endpoint !== BULK_IN) return { status: 'stall' };
    const packet = this.#inQueue.shift();
    if (!packet) return { status: 'stall' };
    if (packet.length > length) return { status: 'babble' };
    const copy = packet.slice();
    return { status: 'ok', data: new DataView(copy.buffer) };
  }

  #check(): void {
    if (!this.#connected) throw new NotFoundError('device disconnected');
  }

  #notify(present: boolean): void {
    // RDR_to_PC_NotifySlotChange: slot 0 state bit and changed bit.
    const notice = Uint8Array.of(0x50, (present ? 1 : 0) | 2);
    const waiter = this.#interruptWaiters.shift();
    if (waiter) waiter({ status: 'ok', data: new DataView(notice.buffer) });
    else this.#notices.push(notice);
  }

  async #handle(m: Uint8Array): Promise<Uint8Array[]> {
    const type = m[0] as number;
    const slot = m[5] as number;
    const seq = m[6] as number;
    const length = new DataView(m.buffer, m.byteOffset).getUint32(1, true);
    const data = m.subarray(10, 10 + length);
    const icc = !this.#card ? 2 : this.#powered ? 0 : 1;
    const slotStatus = (statusByte: number, error = 0) => reply(0x81, slot, seq, [statusByte, error, 0], new Uint8Array(0));
    const failed = (error: number) => reply(0x80, slot, seq, [0x40 | icc, error, 0], new Uint8Array(0));
    if (slot !== 0) return [slotStatus(0x42, 5)];
    switch (type) {
      case 0x62: {
        if (!this.#card) return [failed(0xfe)];
        this.#card.reset();
        this.#powered = true;
        if (this.#level !== 'tpdu') return [reply(0x80, slot, seq, [0, 0, 0], this.#card.atr)];
        this.#t1Card = new T1Card(this.#card, { ifsc: this.#ifsc, wtx: this.#wtx });
        return [reply(0x80, slot, seq, [0, 0, 0], t1Atr(this.#ifsc))];
      }
      case 0x63:
        this.#powered = false;
        return [slotStatus(this.#card ? 1 : 2)];
      case 0x65:
        return [slotStatus(icc)];
      case 0x61: {
        // PC_to_RDR_SetParameters: take T=1 parameters as given, answer RDR_to_PC_Parameters.
        if (!this.#card || m[7] !== 1 || this.#level !== 'tpdu') return [reply(0x82, slot, seq, [0x40 | icc, 7, 0], new Uint8Array(0))];
        return [reply(0x82, slot, seq, [icc, 0, 1], data)];
      }
      case 0x6f: {
        if (!this.#card || !this.#powered) return [failed(0xfe)];
        const level = (m[8] as number) | ((m[9] as number) << 8);
        const waits = Array.from({ length: this.#timeExtensions }, () => reply(0x80, slot, seq, [0x80, 1, 0], new Uint8Array(0)));
        if (this.#level === 'tpdu') return [...waits, reply(0x80, slot, seq, [0, 0, 0], await this.#t1Card!.receive(data.slice()))];
        if (this.#level === 'short' || level === 0) return [...waits, ...this.#respond(slot, seq, await this.#card.transmit(data.slice()))];
        if (level === 0x10) {
          const rest = this.#response;
          this.#response = undefined;
          if (!rest) return [failed(0x08)];
          return this.#respond(slot, seq, rest, true);
        }
        if (level === 1) this.#command = [data.slice()];
        else if (this.#command) this.#command.push(data.slice());
        else return [failed(0x08)];
        if (level === 3 || level === 1) return [reply(0x80, slot, seq, [0, 0, 0x10], new Uint8Array(0))];
        const apdu = join(this.#command);
        this.#command = undefined;
        return [...waits, ...this.#respond(slot, seq, await this.#card.transmit(apdu))];
      }
      default:
        return [slotStatus(icc, 0)];
    }
  }

  /** One DataBlock, or the first part of a chained response (extended level). */
  #respond(slot: number, seq: number, response: Uint8Array, continuing = false): Uint8Array[] {
    const room = this.#maxMessage - 10;
    if (this.#level === 'short' || response.length <= room) {
      return [reply(0x80, slot, seq, [0, 0, continuing ? 2 : 0], response)];
    }
    this.#response = response.slice(room);
    return [reply(0x80, slot, seq, [0, 0, continuing ? 3 : 1], response.subarray(0, room))];
  }

  #configDescriptor(): Uint8Array<ArrayBuffer> {
    const ccid = new Uint8Array(54);
    const v = new DataView(ccid.buffer);
    ccid[0] = 54;
    ccid[1] = 0x21;
    v.setUint16(2, 0x0110, true);
    ccid[4] = 0; // one slot
    ccid[5] = 0x07;
    v.setUint32(6, this.#level === 'tpdu' ? 0x2 : 0x3, true); // T=0 and T=1 (TPDU: T=1 only)
    v.setUint32(28, 254, true);
    const levelBits = { extended: 0x0004_0000, short: 0x0002_0000, tpdu: 0x0001_0000 }[this.#level];
    v.setUint32(40, 0x40 | 0x80 | levelBits, true);
    v.setUint32(44, this.#maxMessage, true);
    ccid[48] = 0xff;
    ccid[49] = 0xff;
    const iface = Uint8Array.of(9, 4, 0, 0, 3, 0x0b, 0, 0, 0);
    const ep = (address: number, attributes: number, size: number) => Uint8Array.of(7, 5, address, attributes, size & 0xff, size >> 8, 0);
    const endpoints = join([ep(BULK_OUT, 2, this.#packetSize), ep(0x80 | BULK_IN, 2, this.#packetSize), ep(0x80 | INTERRUPT_IN, 3, 8)]);
    const total = 9 + iface.length + ccid.length + endpoints.length;
    const config = Uint8Array.of(9, 2, total & 0xff, total >> 8, 1, 1, 0, 0x80, 50);
    return join([config, iface, ccid, endpoints]);
  }
}

/**
 * At the TPDU level the emulated card answers with an ATR that offers T=1 with the given IFSC
 * (TD1 → T=1, TD2 → T=1 with TA3 = IFSC, then TCK), whatever ATR the card model has.
 */
function t1Atr(ifsc: number): Uint8Array {
  const body = [0x80, 0x81, 0x11, ifsc];
  return Uint8Array.of(0x3b, ...body, body.reduce((x, b) => x ^ b, 0));
}

function reply(type: number, slot: number, seq: number, params: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(10 + data.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, data.length, true);
  out[5] = slot;
  out[6] = seq;
  out.set(params, 7);
  out.set(data, 10);
  return out;
}
