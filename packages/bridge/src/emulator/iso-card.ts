/**
 * What every emulated card shares: parse short and extended APDUs, join chained commands (CLA bit
 * 0x10), and hand out long responses in pieces through 61xx / GET RESPONSE as a real card does.
 */
export interface Command {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  /** Requested response length (256 or 65536 for "all"); 0 when absent. */
  le: number;
  extended: boolean;
}

export interface Reply {
  data?: Uint8Array;
  sw: number;
}

/** Anything a CCID or vpcd front-end can talk to. */
export interface EmulatedCard {
  readonly atr: Uint8Array;
  /** Power cycle: volatile state (PIN verified, selected application) is lost. */
  reset(): void;
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

export const SW = {
  OK: 0x9000,
  WRONG_LENGTH: 0x6700,
  SECURITY_NOT_SATISFIED: 0x6982,
  AUTH_BLOCKED: 0x6983,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  INCORRECT_DATA: 0x6a80,
  NOT_FOUND: 0x6a82,
  WRONG_P1P2: 0x6a86,
  REF_NOT_FOUND: 0x6a88,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  LAST_CHAIN_EXPECTED: 0x6883,
} as const;

export function parseCommand(apdu: Uint8Array): Command | undefined {
  if (apdu.length < 4) return undefined;
  const [cla, ins, p1, p2] = apdu as unknown as [number, number, number, number];
  const body = apdu.subarray(4);
  const base = { cla, ins, p1, p2 };
  if (body.length === 0) return { ...base, data: new Uint8Array(0), le: 0, extended: false };
  if (body.length === 1) return { ...base, data: new Uint8Array(0), le: body[0] || 256, extended: false };
  if (body[0] !== 0) {
    const lc = body[0] as number;
    if (body.length === 1 + lc) return { ...base, data: body.slice(1), le: 0, extended: false };
    if (body.length === 2 + lc) return { ...base, data: body.slice(1, 1 + lc), le: body[1 + lc] || 256, extended: false };
    return undefined;
  }
  if (body.length === 3) return { ...base, data: new Uint8Array(0), le: ((body[1] as number) << 8 | (body[2] as number)) || 65536, extended: true };
  const lc = (body[1] as number) << 8 | (body[2] as number);
  if (lc === 0) return undefined;
  if (body.length === 3 + lc) return { ...base, data: body.slice(3), le: 0, extended: true };
  if (body.length === 5 + lc) {
    const le = ((body[3 + lc] as number) << 8 | (body[4 + lc] as number)) || 65536;
    return { ...base, data: body.slice(3, 3 + lc), le, extended: true };
  }
  return undefined;
}

export abstract class IsoCard implements EmulatedCard {
  abstract readonly atr: Uint8Array;
  #chain: { ins: number; parts: Uint8Array[] } | undefined;
  #pending: Uint8Array | undefined;
  /** Commands seen, for tests that check the host's framing (chaining, GET RESPONSE). */
  readonly log: Command[] = [];

  reset(): void {
    this.#chain = undefined;
    this.#pending = undefined;
  }

  protected abstract handle(c: Command): Promise<Reply>;

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const c = parseCommand(apdu);
    if (!c) return status(SW.WRONG_LENGTH);
    this.log.push(c);
    if (c.ins === 0xc0) return this.#getResponse(c);
    this.#pending = undefined;
    if (c.cla & 0x10) {
      if (this.#chain && this.#chain.ins !== c.ins) this.#chain = undefined;
      this.#chain ??= { ins: c.ins, parts: [] };
      this.#chain.parts.push(c.data);
      return status(SW.OK);
    }
    let command = c;
    if (this.#chain) {
      if (this.#chain.ins !== c.ins) {
        this.#chain = undefined;
        return status(SW.LAST_CHAIN_EXPECTED);
      }
      command = { ...c, data: join([...this.#chain.parts, c.data]) };
      this.#chain = undefined;
    }
    const reply = await this.handle(command);
    return this.#deliver(reply.data ?? new Uint8Array(0), reply.sw, command.le || (command.extended ? 65536 : 256));
  }

  #getResponse(c: Command): Uint8Array {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return status(SW.CONDITIONS_NOT_SATISFIED);
    return this.#deliver(pending, SW.OK, c.le || 256);
  }

  #deliver(data: Uint8Array, sw: number, max: number): Uint8Array {
    if (data.length <= max) return join([data, Uint8Array.of(sw >> 8, sw & 0xff)]);
    const rest = data.slice(max);
    this.#pending = rest;
    return join([data.subarray(0, max), Uint8Array.of(0x61, rest.length > 255 ? 0 : rest.length)]);
  }
}

export function status(sw: number): Uint8Array {
  return Uint8Array.of(sw >> 8, sw & 0xff);
}

export function join(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
