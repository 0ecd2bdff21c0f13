/**
 * The card's side of T=1 behind an emulated TPDU-level reader: receives the host's blocks, joins
 * chained I-blocks, answers S(IFS), may ask for a waiting-time extension, and sends long responses
 * chained in pieces of at most IFSD bytes, repeating a block when the host asks.
 */
import { decodeBlock, encodeBlock, iBlock, isI, isR, isS, rBlock, sBlock, S_IFS, S_RESYNCH, S_WTX } from '../t1.js';
import type { Block } from '../t1.js';
import type { EmulatedCard } from './iso-card.js';
import { join } from './iso-card.js';

export class T1Card {
  readonly #card: EmulatedCard;
  readonly ifsc: number;
  readonly #wtx: number;
  #ifsd = 32;
  #expected = 0;
  #ns = 0;
  #command: Uint8Array[] = [];
  #response: Uint8Array | undefined;
  #last: Block | undefined;
  #wtxLeft = 0;
  /** Blocks seen, for tests of the host's framing. */
  readonly received: Block[] = [];

  constructor(card: EmulatedCard, options: { ifsc: number; wtx: number }) {
    this.#card = card;
    this.ifsc = options.ifsc;
    this.#wtx = options.wtx;
  }

  get ifsd(): number {
    return this.#ifsd;
  }

  reset(): void {
    this.#ifsd = 32;
    this.#expected = 0;
    this.#ns = 0;
    this.#command = [];
    this.#response = undefined;
    this.#last = undefined;
  }

  async receive(bytes: Uint8Array): Promise<Uint8Array> {
    const block = decodeBlock(bytes);
    if (!block) return encodeBlock(rBlock(this.#expected, 1));
    this.received.push(block);
    return encodeBlock(await this.#answer(block));
  }

  async #answer(b: Block): Promise<Block> {
    if (isS(b)) {
      const type = b.pcb & 0x1f;
      if (b.pcb & 0x20) {
        // The host granted the extension we asked for: now the real answer.
        if (type !== S_WTX || !this.#response) return rBlock(this.#expected, 2);
        return this.#askForTime() ?? this.#next();
      }
      if (type === S_IFS) {
        this.#ifsd = b.inf[0] ?? 32;
        return sBlock(0x20 | S_IFS, b.inf);
      }
      if (type === S_RESYNCH) {
        this.reset();
        return sBlock(0x20 | S_RESYNCH);
      }
      return rBlock(this.#expected, 2);
    }
    if (isR(b)) {
      // N(R) names the block the host wants: the next one, or the last one again.
      if (((b.pcb >> 4) & 1) === this.#ns && this.#response) return this.#next();
      return this.#last ?? rBlock(this.#expected, 2);
    }
    if (!isI(b)) return rBlock(this.#expected, 2);
    if (((b.pcb >> 6) & 1) !== this.#expected) return rBlock(this.#expected, 2);
    this.#expected ^= 1;
    this.#command.push(b.inf);
    if (b.pcb & 0x20) return rBlock(this.#expected);
    const apdu = join(this.#command);
    this.#command = [];
    this.#response = await this.#card.transmit(apdu);
    this.#wtxLeft = this.#wtx;
    return this.#askForTime() ?? this.#next();
  }

  /** S(WTX request) while the configured extensions last. */
  #askForTime(): Block | undefined {
    if (this.#wtxLeft === 0) return undefined;
    this.#wtxLeft--;
    return sBlock(S_WTX, Uint8Array.of(1));
  }

  #next(): Block {
    const response = this.#response ?? new Uint8Array(0);
    const piece = response.subarray(0, this.#ifsd);
    const rest = response.subarray(piece.length);
    const block = iBlock(this.#ns, rest.length > 0, piece);
    this.#response = rest.length > 0 ? rest : undefined;
    this.#ns ^= 1;
    this.#last = block;
    return block;
  }
}
