/**
 * The vsmartcard vpcd protocol (a virtual reader of pcscd, Debian's vsmartcard-vpcd), card side:
 * messages are a 2-byte big-endian length and a payload; a 1-byte payload is a control command
 * (0 power off, 1 power on, 2 reset, 4 get ATR), anything longer is an APDU. Only ATR and APDU
 * requests get an answer. Transport-agnostic so it runs over node:net or anything stream-like.
 */
import type { EmulatedCard } from './iso-card.js';
import { join } from './iso-card.js';

export const VPCD_PORT = 0x8c7b;

export interface VpcdStream {
  write(bytes: Uint8Array): void;
}

export class VpcdSession {
  readonly #card: EmulatedCard;
  readonly #stream: VpcdStream;
  #buffer = new Uint8Array(0);
  #queue: Promise<void> = Promise.resolve();

  constructor(card: EmulatedCard, stream: VpcdStream) {
    this.#card = card;
    this.#stream = stream;
  }

  /** Feed bytes read from the socket; messages are answered in order. */
  receive(chunk: Uint8Array): Promise<void> {
    this.#buffer = join([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const length = ((this.#buffer[0] as number) << 8) | (this.#buffer[1] as number);
      if (this.#buffer.length < 2 + length) break;
      const message = this.#buffer.slice(2, 2 + length);
      this.#buffer = this.#buffer.slice(2 + length);
      this.#queue = this.#queue.then(() => this.#handle(message));
    }
    return this.#queue;
  }

  async #handle(message: Uint8Array): Promise<void> {
    if (message.length === 1) {
      const command = message[0];
      if (command === 1 || command === 2) this.#card.reset();
      if (command === 4) this.#send(this.#card.atr);
      return;
    }
    this.#send(await this.#card.transmit(message));
  }

  #send(payload: Uint8Array): void {
    this.#stream.write(join([Uint8Array.of(payload.length >> 8, payload.length & 0xff), payload]));
  }
}
