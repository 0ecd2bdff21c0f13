/**
 * ISO 7816-3 T=1, host side, for CCID readers at the TPDU level: the reader moves one block each
 * way per XfrBlock and the host runs the protocol. I-blocks carry the APDU in pieces of at most
 * IFSC bytes (chaining with the M bit), R-blocks acknowledge or ask for a block again, S-blocks
 * negotiate IFSD and answer the card's waiting-time extensions. EDC is LRC.
 */
import { CKR_DEVICE_ERROR } from '@vhsm/pkcs11';
import type { ApduTransport } from './apdu.js';
import { concat } from './bytes.js';
import { fail } from './errors.js';

export const S_RESYNCH = 0x00;
export const S_IFS = 0x01;
export const S_ABORT = 0x02;
export const S_WTX = 0x03;
const S_RESPONSE = 0x20;
const MAX_RETRIES = 3;
/** Bounds the blocks of one exchange so a card that never finishes cannot hold us forever. */
const MAX_BLOCKS = 4096;

export interface Block {
  nad: number;
  pcb: number;
  inf: Uint8Array;
}

export function lrc(bytes: Uint8Array): number {
  return bytes.reduce((x, b) => x ^ b, 0);
}

export function encodeBlock(b: Block): Uint8Array {
  const head = Uint8Array.of(b.nad, b.pcb, b.inf.length);
  const body = concat([head, b.inf]);
  return concat([body, Uint8Array.of(lrc(body))]);
}

/** Parse a block; undefined when its length or EDC is wrong (the peer asks for it again). */
export function decodeBlock(bytes: Uint8Array): Block | undefined {
  if (bytes.length < 4 || bytes.length !== 4 + (bytes[2] as number)) return undefined;
  if (lrc(bytes.subarray(0, -1)) !== bytes[bytes.length - 1]) return undefined;
  return { nad: bytes[0] as number, pcb: bytes[1] as number, inf: bytes.slice(3, -1) };
}

export const iBlock = (ns: number, more: boolean, inf: Uint8Array): Block => ({ nad: 0, pcb: (ns << 6) | (more ? 0x20 : 0), inf });
export const rBlock = (nr: number, error = 0): Block => ({ nad: 0, pcb: 0x80 | (nr << 4) | error, inf: new Uint8Array(0) });
export const sBlock = (type: number, inf: Uint8Array = new Uint8Array(0)): Block => ({ nad: 0, pcb: 0xc0 | type, inf });
export const isI = (b: Block) => (b.pcb & 0x80) === 0;
export const isR = (b: Block) => (b.pcb & 0xc0) === 0x80;
export const isS = (b: Block) => (b.pcb & 0xc0) === 0xc0;

/** T=1 parameters from the ATR: the card's IFSC (TA of the first T=1 interface group), default 32. */
export function atrT1Parameters(atr: Uint8Array): { t1: boolean; ifsc: number } {
  let t1 = false;
  let ifsc = 32;
  let y = (atr[1] ?? 0) >> 4;
  let at = 2;
  for (let group = 1; ; group++) {
    const ta = y & 1 ? atr[at++] : undefined;
    if (y & 2) at++;
    if (y & 4) at++;
    const td = y & 8 ? atr[at++] : undefined;
    if (group >= 3 && t1 && ta !== undefined && ifsc === 32) ifsc = ta;
    if (td === undefined) break;
    if ((td & 0x0f) === 1) t1 = true;
    y = td >> 4;
  }
  return { t1, ifsc: ifsc >= 1 && ifsc <= 254 ? ifsc : 32 };
}

export interface T1Options {
  /** Card's maximum information field (from the ATR). */
  ifsc: number;
  /** Ours, announced with S(IFS request). */
  ifsd?: number;
}

/** APDUs over T=1 blocks, given a function that sends one block and returns the card's next one. */
export class T1Transport implements ApduTransport {
  readonly #exchange: (block: Uint8Array) => Promise<Uint8Array>;
  #ifsc: number;
  readonly ifsd: number;
  /** Our send sequence number and the one we expect from the card. */
  #ns = 0;
  #nr = 0;

  constructor(exchange: (block: Uint8Array) => Promise<Uint8Array>, options: T1Options) {
    this.#exchange = exchange;
    this.#ifsc = options.ifsc;
    this.ifsd = options.ifsd ?? 254;
  }

  get ifsc(): number {
    return this.#ifsc;
  }

  /** Tell the card how large our information fields may be (S(IFS request)). */
  async negotiateIfsd(): Promise<void> {
    const reply = await this.#send(sBlock(S_IFS, Uint8Array.of(this.ifsd)));
    if (!isS(reply) || reply.pcb !== (0xc0 | S_RESPONSE | S_IFS) || reply.inf[0] !== this.ifsd) {
      throw fail(CKR_DEVICE_ERROR, 'T=1: the card did not confirm IFSD');
    }
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < apdu.length; at += this.#ifsc) pieces.push(apdu.subarray(at, at + this.#ifsc));
    if (pieces.length === 0) pieces.push(new Uint8Array(0));
    let reply: Block | undefined;
    for (let i = 0; i < pieces.length; i++) {
      const more = i < pieces.length - 1;
      const block = iBlock(this.#ns, more, pieces[i] as Uint8Array);
      reply = await this.#sendReliably(block, (b) => (more ? isR(b) && ((b.pcb >> 4) & 1) !== this.#ns : isI(b)));
      this.#ns ^= 1;
    }
    const parts: Uint8Array[] = [];
    for (let count = 0; ; count++) {
      if (count > MAX_BLOCKS) throw fail(CKR_DEVICE_ERROR, 'T=1: the response never ended');
      const block = reply!;
      if (((block.pcb >> 6) & 1) !== this.#nr) throw fail(CKR_DEVICE_ERROR, 'T=1: the card repeated a block out of sequence');
      this.#nr ^= 1;
      parts.push(block.inf);
      if (!(block.pcb & 0x20)) break;
      // Chained response: acknowledge and ask for the next piece.
      reply = await this.#sendReliably(rBlock(this.#nr), isI);
    }
    return concat(parts);
  }

  /** Send a block until the card answers with what `expected` accepts, answering WTX on the way. */
  async #sendReliably(block: Block, expected: (b: Block) => boolean): Promise<Block> {
    let outgoing = block;
    for (let attempt = 0, blocks = 0; blocks < MAX_BLOCKS; blocks++) {
      const reply = await this.#send(outgoing);
      if (isS(reply) && (reply.pcb & 0x3f) === S_WTX) {
        // The card needs more time: grant it and wait for its real answer.
        outgoing = sBlock(S_RESPONSE | S_WTX, reply.inf);
        continue;
      }
      if (isS(reply) && (reply.pcb & 0x3f) === S_IFS) {
        this.#ifsc = reply.inf[0] ?? this.#ifsc;
        outgoing = sBlock(S_RESPONSE | S_IFS, reply.inf);
        continue;
      }
      if (expected(reply)) return reply;
      if (++attempt > MAX_RETRIES) throw fail(CKR_DEVICE_ERROR, 'T=1: the card kept answering out of turn');
      // An R-block asking for our last block again, or a garbled answer: send the block again.
      outgoing = block;
    }
    throw fail(CKR_DEVICE_ERROR, 'T=1: too many blocks');
  }

  async #send(block: Block): Promise<Block> {
    for (let attempt = 0; ; attempt++) {
      const decoded = decodeBlock(await this.#exchange(encodeBlock(block)));
      if (decoded) return decoded;
      if (attempt >= MAX_RETRIES) throw fail(CKR_DEVICE_ERROR, 'T=1: bad EDC or length from the card');
      // Garbled: ask for the card's block again (R-block with "EDC error").
      block = rBlock(this.#nr, 1);
    }
  }
}
