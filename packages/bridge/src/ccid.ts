/**
 * CCID (USB Chip/Smart Card Interface Devices, rev 1.1) over a WebUSB-shaped device: find the
 * interface of class 0x0B, read its class descriptor from the configuration descriptor, power the
 * card on, and exchange APDUs with PC_to_RDR_XfrBlock at the short or extended APDU level.
 */
import { CKR_DEVICE_ERROR, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, Pkcs11Error } from '@vhsm/pkcs11';
import { concat } from './bytes.js';
import { fail } from './errors.js';
import { atrT1Parameters, T1Transport } from './t1.js';
import type { UsbDeviceLike, UsbEndpointLike } from './usb.js';

export const CCID_CLASS = 0x0b;
const CCID_DESCRIPTOR_TYPE = 0x21;

export const PC_TO_RDR_ICC_POWER_ON = 0x62;
export const PC_TO_RDR_ICC_POWER_OFF = 0x63;
export const PC_TO_RDR_GET_SLOT_STATUS = 0x65;
export const PC_TO_RDR_XFR_BLOCK = 0x6f;
export const PC_TO_RDR_SET_PARAMETERS = 0x61;
export const RDR_TO_PC_PARAMETERS = 0x82;
export const RDR_TO_PC_DATA_BLOCK = 0x80;
export const RDR_TO_PC_SLOT_STATUS = 0x81;
export const RDR_TO_PC_NOTIFY_SLOT_CHANGE = 0x50;

/** dwFeatures: the exchange level. */
export const FEATURE_TPDU = 0x0001_0000;
export const FEATURE_SHORT_APDU = 0x0002_0000;
export const FEATURE_EXTENDED_APDU = 0x0004_0000;
const LEVEL_MASK = 0x0007_0000;
/** dwFeatures: the reader negotiates IFSD itself (T=1). */
const FEATURE_AUTO_IFSD = 0x0000_0400;

/** wLevelParameter / bChainParameter values of the extended APDU level. */
export const CHAIN_BEGIN_AND_END = 0x00;
export const CHAIN_BEGIN = 0x01;
export const CHAIN_END = 0x02;
export const CHAIN_MIDDLE = 0x03;
export const CHAIN_CONTINUE_RESPONSE = 0x10;

const HEADER = 10;
/** How many time-extension replies we accept for one command before calling the reader stuck. */
const MAX_TIME_EXTENSIONS = 1000;

export interface CcidDescriptor {
  maxSlotIndex: number;
  protocols: number;
  maxIfsd: number;
  features: number;
  maxMessageLength: number;
  level: 'tpdu' | 'short' | 'extended' | 'character';
}

/** Parse the 54-byte CCID class descriptor (CCID 1.1 §5.1). */
export function parseCcidDescriptor(d: Uint8Array): CcidDescriptor {
  if (d.length < 54 || d[1] !== CCID_DESCRIPTOR_TYPE) throw fail(CKR_DEVICE_ERROR, 'CCID class descriptor: expected 54 bytes of type 0x21');
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const features = v.getUint32(40, true);
  const levelBits = features & LEVEL_MASK;
  const level = levelBits & FEATURE_EXTENDED_APDU ? 'extended'
    : levelBits & FEATURE_SHORT_APDU ? 'short'
      : levelBits & FEATURE_TPDU ? 'tpdu' : 'character';
  return {
    maxSlotIndex: d[4] as number,
    protocols: v.getUint32(6, true),
    maxIfsd: v.getUint32(28, true),
    features,
    maxMessageLength: v.getUint32(44, true),
    level,
  };
}

/** Walk a configuration descriptor: the CCID interface number and its class descriptor. */
export function findCcidDescriptor(config: Uint8Array): { interfaceNumber: number; descriptor: Uint8Array } | undefined {
  let inCcid: number | undefined;
  for (let i = 0; i + 1 < config.length;) {
    const length = config[i] as number;
    const type = config[i + 1] as number;
    if (length < 2 || i + length > config.length) break;
    if (type === 4) inCcid = config[i + 5] === CCID_CLASS ? config[i + 2] as number : undefined;
    else if (type === CCID_DESCRIPTOR_TYPE && inCcid !== undefined) {
      return { interfaceNumber: inCcid, descriptor: config.subarray(i, i + length) };
    }
    i += length;
  }
  return undefined;
}

/** One message of the bulk pipe. */
export interface CcidMessage {
  type: number;
  slot: number;
  seq: number;
  /** The three message-specific bytes (bStatus, bError, bChainParameter in replies). */
  params: Uint8Array;
  data: Uint8Array;
}

export function encodeCcid(m: CcidMessage): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(HEADER + m.data.length);
  out[0] = m.type;
  new DataView(out.buffer).setUint32(1, m.data.length, true);
  out[5] = m.slot;
  out[6] = m.seq;
  out.set(m.params.subarray(0, 3), 7);
  out.set(m.data, HEADER);
  return out;
}

export function ccidLength(header: Uint8Array): number {
  return new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(1, true);
}

export function decodeCcid(bytes: Uint8Array): CcidMessage {
  return {
    type: bytes[0] as number, slot: bytes[5] as number, seq: bytes[6] as number,
    params: bytes.slice(7, 10), data: bytes.slice(HEADER, HEADER + ccidLength(bytes)),
  };
}

export interface CcidReaderOptions {
  /** Which card slot of a multi-slot reader. */
  slot?: number;
}

/** A CCID reader with one card slot in use. Calls are serialized: one command on the pipe at a time. */
export class CcidReader {
  readonly device: UsbDeviceLike;
  readonly descriptor: CcidDescriptor;
  readonly interfaceNumber: number;
  readonly slot: number;
  atr: Uint8Array | undefined;
  #bulkIn: UsbEndpointLike;
  #bulkOut: UsbEndpointLike;
  readonly interrupt: UsbEndpointLike | undefined;
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** At the TPDU level: the T=1 protocol with the powered card. */
  #t1: T1Transport | undefined;
  #removed = false;

  private constructor(device: UsbDeviceLike, interfaceNumber: number, descriptor: CcidDescriptor,
    endpoints: { bulkIn: UsbEndpointLike; bulkOut: UsbEndpointLike; interrupt: UsbEndpointLike | undefined }, slot: number) {
    this.device = device;
    this.interfaceNumber = interfaceNumber;
    this.descriptor = descriptor;
    this.#bulkIn = endpoints.bulkIn;
    this.#bulkOut = endpoints.bulkOut;
    this.interrupt = endpoints.interrupt;
    this.slot = slot;
  }

  /** Open the device, claim its CCID interface and read the class descriptor. */
  static async open(device: UsbDeviceLike, options: CcidReaderOptions = {}): Promise<CcidReader> {
    try {
      if (!device.opened) await device.open();
      if (!device.configuration) {
        const first = device.configurations[0];
        if (!first) throw fail(CKR_DEVICE_ERROR, 'the device has no configuration');
        await device.selectConfiguration(first.configurationValue);
      }
    } catch (e) {
      throw transferError(e);
    }
    const configuration = device.configuration;
    if (!configuration) throw fail(CKR_DEVICE_ERROR, 'no active configuration');
    const config = await readConfigDescriptor(device);
    const found = findCcidDescriptor(config);
    if (!found) throw fail(CKR_DEVICE_ERROR, 'no CCID interface (class 0x0B) on this device');
    const descriptor = parseCcidDescriptor(found.descriptor);
    if (descriptor.level === 'character' || (descriptor.level === 'tpdu' && !(descriptor.protocols & 2))) {
      throw fail(CKR_DEVICE_ERROR, `reader exchange level ${descriptor.level} is not supported (APDU levels, or TPDU with T=1)`);
    }
    const usbInterface = configuration.interfaces.find((i) => i.interfaceNumber === found.interfaceNumber);
    const alternate = usbInterface?.alternates.find((a) => a.interfaceClass === CCID_CLASS);
    if (!usbInterface || !alternate) throw fail(CKR_DEVICE_ERROR, 'the CCID interface is not in the active configuration');
    const bulkIn = alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'in');
    const bulkOut = alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'out');
    const interrupt = alternate.endpoints.find((e) => e.type === 'interrupt' && e.direction === 'in');
    if (!bulkIn || !bulkOut) throw fail(CKR_DEVICE_ERROR, 'the CCID interface lacks its bulk endpoints');
    const slot = options.slot ?? 0;
    if (slot > descriptor.maxSlotIndex) throw fail(CKR_DEVICE_ERROR, `the reader has no slot ${slot}`);
    try {
      await device.claimInterface(found.interfaceNumber);
      if (alternate.alternateSetting !== 0) await device.selectAlternateInterface(found.interfaceNumber, alternate.alternateSetting);
    } catch (e) {
      throw transferError(e);
    }
    return new CcidReader(device, found.interfaceNumber, descriptor, { bulkIn, bulkOut, interrupt }, slot);
  }

  get removed(): boolean {
    return this.#removed;
  }

  markRemoved(): void {
    this.#removed = true;
  }

  /** Power the card on and keep its ATR. */
  powerOn(): Promise<Uint8Array> {
    return this.#exclusive(async () => {
      const reply = await this.#command(PC_TO_RDR_ICC_POWER_ON, new Uint8Array(3), new Uint8Array(0));
      if (reply.type !== RDR_TO_PC_DATA_BLOCK) throw fail(CKR_DEVICE_ERROR, 'power-on: unexpected reply');
      this.atr = reply.data;
      this.#t1 = undefined;
      if (this.descriptor.level === 'tpdu') await this.#startT1(reply.data);
      return reply.data;
    });
  }

  powerOff(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#command(PC_TO_RDR_ICC_POWER_OFF, new Uint8Array(3), new Uint8Array(0));
      this.atr = undefined;
    });
  }

  /** Send one APDU (short or extended, as the reader's level allows) and return the raw response. */
  transmit(apdu: Uint8Array): Promise<Uint8Array> {
    return this.#exclusive(() => this.#transmit(apdu));
  }

  async close(): Promise<void> {
    try {
      await this.device.releaseInterface(this.interfaceNumber);
      await this.device.close();
    } catch {
      // Closing a device that is already gone has nothing left to release.
    }
  }

  /** TPDU level: set the T=1 parameters from the ATR, then announce our IFSD unless the reader does. */
  async #startT1(atr: Uint8Array): Promise<void> {
    const { t1, ifsc } = atrT1Parameters(atr);
    if (!t1) throw fail(CKR_DEVICE_ERROR, 'the card offers no T=1, and T=0 at the TPDU level is not supported');
    // bmFindexDindex 11, LRC, guard time 0, BWI 4 / CWI 13, no clock stop, IFSC, NAD 0.
    const parameters = Uint8Array.of(0x11, 0x10, 0x00, 0x4d, 0x00, ifsc, 0x00);
    const reply = await this.#command(PC_TO_RDR_SET_PARAMETERS, Uint8Array.of(1, 0, 0), parameters);
    if (reply.type !== RDR_TO_PC_PARAMETERS) throw fail(CKR_DEVICE_ERROR, 'SetParameters: unexpected reply');
    const t1Transport = new T1Transport(async (block) => (await this.#command(PC_TO_RDR_XFR_BLOCK, levelParams(0), block)).data, { ifsc });
    if (!(this.descriptor.features & FEATURE_AUTO_IFSD)) await t1Transport.negotiateIfsd();
    this.#t1 = t1Transport;
  }

  async #transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.descriptor.level === 'tpdu') {
      if (!this.#t1) throw fail(CKR_DEVICE_ERROR, 'power the card on first');
      return this.#t1.transmit(apdu);
    }
    const room = this.descriptor.maxMessageLength - HEADER;
    const parts: Uint8Array[] = [];
    if (apdu.length <= room) {
      parts.push(apdu);
    } else {
      if (this.descriptor.level !== 'extended') throw fail(CKR_DEVICE_ERROR, 'APDU longer than the reader accepts');
      for (let i = 0; i < apdu.length; i += room) parts.push(apdu.subarray(i, i + room));
    }
    let reply: CcidMessage | undefined;
    for (let i = 0; i < parts.length; i++) {
      const level = parts.length === 1 ? CHAIN_BEGIN_AND_END : i === 0 ? CHAIN_BEGIN : i === parts.length - 1 ? CHAIN_END : CHAIN_MIDDLE;
      reply = await this.#command(PC_TO_RDR_XFR_BLOCK, levelParams(level), parts[i] as Uint8Array);
      if (i < parts.length - 1 && reply.data.length !== 0) throw fail(CKR_DEVICE_ERROR, 'reader answered in the middle of a chained command');
    }
    const chunks = [reply!.data];
    let chain = reply!.params[2] as number;
    while (chain === CHAIN_BEGIN || chain === CHAIN_MIDDLE) {
      const next = await this.#command(PC_TO_RDR_XFR_BLOCK, levelParams(CHAIN_CONTINUE_RESPONSE), new Uint8Array(0));
      chunks.push(next.data);
      chain = next.params[2] as number;
    }
    return concat(chunks);
  }

  /** One command/reply pair, with sequence check and time-extension replies. */
  async #command(type: number, params: Uint8Array, data: Uint8Array): Promise<CcidMessage> {
    if (this.#removed) throw fail(CKR_DEVICE_REMOVED, 'the reader was disconnected');
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xff;
    await this.#write(encodeCcid({ type, slot: this.slot, seq, params, data }));
    for (let extensions = 0; extensions <= MAX_TIME_EXTENSIONS; extensions++) {
      const reply = await this.#read();
      if (reply.seq !== seq || reply.slot !== this.slot) throw fail(CKR_DEVICE_ERROR, 'CCID reply out of sequence');
      const status = reply.params[0] as number;
      const commandStatus = status >> 6;
      if (commandStatus === 2) continue; // time extension: the card asked for more time
      if (commandStatus === 1) {
        const icc = status & 3;
        if (icc === 2) throw fail(CKR_TOKEN_NOT_PRESENT, 'no card in the reader');
        throw fail(CKR_DEVICE_ERROR, `CCID command failed, bError 0x${(reply.params[1] as number).toString(16)}`);
      }
      return reply;
    }
    throw fail(CKR_DEVICE_ERROR, 'the reader kept asking for more time');
  }

  async #write(message: Uint8Array<ArrayBuffer>): Promise<void> {
    try {
      const r = await this.device.transferOut(this.#bulkOut.endpointNumber, message);
      if (r.status !== 'ok') throw fail(CKR_DEVICE_ERROR, `bulk-out ${r.status}`);
    } catch (e) {
      throw this.#transferFailed(e);
    }
  }

  /** Read one message, reassembling it from packets of the endpoint's size. */
  async #read(): Promise<CcidMessage> {
    const packetSize = this.#bulkIn.packetSize;
    const chunks: Uint8Array[] = [];
    let have = 0;
    let need = HEADER;
    try {
      while (have < need) {
        const r = await this.device.transferIn(this.#bulkIn.endpointNumber, packetSize);
        if (r.status !== 'ok' || !r.data) throw fail(CKR_DEVICE_ERROR, `bulk-in ${r.status}`);
        const packet = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
        // The zero-length packet that ended the previous message when it filled its last packet.
        if (packet.length === 0 && chunks.length === 0) continue;
        chunks.push(packet);
        have += packet.length;
        if (chunks.length === 1 && packet.length >= HEADER) need = HEADER + ccidLength(packet);
        // A short packet ends the transfer: the message cannot continue past it.
        if (packet.length < packetSize && have < need) throw fail(CKR_DEVICE_ERROR, 'CCID message cut short');
      }
    } catch (e) {
      throw this.#transferFailed(e);
    }
    return decodeCcid(concat(chunks));
  }

  #transferFailed(e: unknown): unknown {
    const error = transferError(e);
    if (error.code === CKR_DEVICE_REMOVED) this.#removed = true;
    return error;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function levelParams(level: number): Uint8Array {
  // bBWI 0, then wLevelParameter little-endian.
  return Uint8Array.of(0, level & 0xff, level >> 8);
}

async function readConfigDescriptor(device: UsbDeviceLike): Promise<Uint8Array> {
  const setup = { requestType: 'standard', recipient: 'device', request: 6, value: 0x0200, index: 0 } as const;
  try {
    const head = await device.controlTransferIn(setup, 9);
    if (head.status !== 'ok' || !head.data || head.data.byteLength < 4) throw fail(CKR_DEVICE_ERROR, 'cannot read the configuration descriptor');
    const total = head.data.getUint16(2, true);
    const full = await device.controlTransferIn(setup, total);
    if (full.status !== 'ok' || !full.data) throw fail(CKR_DEVICE_ERROR, 'cannot read the configuration descriptor');
    return new Uint8Array(full.data.buffer, full.data.byteOffset, full.data.byteLength);
  } catch (e) {
    throw transferError(e);
  }
}

/** WebUSB rejects with a DOMException; NotFoundError means the device is gone. */
function transferError(e: unknown): Pkcs11Error {
  if (e instanceof Pkcs11Error) return e;
  if (e instanceof Error && e.name === 'NotFoundError') return fail(CKR_DEVICE_REMOVED, 'the device was disconnected');
  return fail(CKR_DEVICE_ERROR, `USB transfer failed${e instanceof Error ? `: ${e.name}` : ''}`);
}
