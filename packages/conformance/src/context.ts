/**
 * The recording context a scenario runs in: every C_ call goes through `call`, which records the
 * CK_RV and a normalized output (handles renamed by order of appearance, random bytes reduced to
 * their length) so that two backends' records can be compared line by line.
 */
import {
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKF_TOKEN_INITIALIZED,
  CKU_SO,
  CKU_USER,
  ckaName,
  ckrName,
  isPkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApi } from '@vhsm/pkcs11';

/** One recorded call: `call` names the function (and the scenario's label for it). */
export interface CallRecord {
  call: string;
  /** The CKR_ name of the outcome (CKR_OK on success). */
  rv: string;
  /** The normalized output, '' when the call failed or has none worth comparing. */
  out: string;
}

/**
 * How an output is normalized:
 * - 'none': not recorded (e.g. void results)
 * - 'value': JSON of the value, with Uint8Array as hex (deterministic outputs)
 * - 'length': only the byte length (random outputs: signatures, generated keys)
 * - 'handle' / 'handles': symbolic names (#1, #2…) by order of first appearance
 * - 'session': a session handle's symbolic name (s1, s2…), its own name space
 */
export type OutputMode = 'none' | 'value' | 'length' | 'handle' | 'handles' | 'session';

export const SO_PIN = '12345678';
export const USER_PIN = '87654321';
export const TOKEN_LABEL = 'conformance';

type Api = CryptokiApi;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
type Fn = keyof Api;

export class Context {
  readonly records: CallRecord[] = [];
  readonly #handles = new Map<number, string>();
  // Session and object handles are separate name spaces in PKCS#11: a token may reuse numbers across them.
  readonly #sessions = new Map<number, string>();

  constructor(readonly p11: Api) {}

  /** A handle's symbolic name; the same handle is the same name for the rest of the scenario. */
  handle(h: number): string {
    let name = this.#handles.get(h);
    if (name === undefined) {
      name = `#${this.#handles.size + 1}`;
      this.#handles.set(h, name);
    }
    return name;
  }

  /** A session handle's symbolic name (s1, s2…), as `handle` does for objects. */
  session(h: number): string {
    let name = this.#sessions.get(h);
    if (name === undefined) {
      name = `s${this.#sessions.size + 1}`;
      this.#sessions.set(h, name);
    }
    return name;
  }

  normalize(value: unknown, mode: OutputMode): string {
    switch (mode) {
      case 'none':
        return '';
      case 'length':
        return value instanceof Uint8Array ? `${value.length} bytes` : JSON.stringify(value);
      case 'handle':
        return typeof value === 'number' ? this.handle(value) : JSON.stringify(value);
      case 'session':
        return typeof value === 'number' ? this.session(value) : JSON.stringify(value);
      case 'handles':
        return Array.isArray(value) ? `[${value.map((h: number) => this.handle(h)).join(',')}]` : JSON.stringify(value);
      case 'value':
        // Attribute types by their spec names, so the table reads without a header file at hand.
        return JSON.stringify(value, (k, v: unknown) => (v instanceof Uint8Array ? hex(v) : k === 'type' && typeof v === 'number' ? ckaName(v) : v));
    }
  }

  /**
   * Calls `fn` and records its outcome under `label` (default: the function name). Resolves the
   * result, or undefined when the call rejected with a Pkcs11Error; anything else is a bug in the
   * backend and propagates.
   */
  async call<K extends Fn>(
    fn: K,
    args: Parameters<Api[K]>,
    mode: OutputMode = 'none',
    label?: string,
  ): Promise<Awaited<ReturnType<Api[K]>> | undefined> {
    const call = label === undefined ? fn : `${fn} ${label}`;
    try {
      const result = (await (this.p11[fn] as (...a: unknown[]) => Promise<unknown>)(...args)) as Awaited<ReturnType<Api[K]>>;
      this.records.push({ call, rv: 'CKR_OK', out: this.normalize(result, mode) });
      return result;
    } catch (e) {
      if (!isPkcs11Error(e)) throw e;
      this.records.push({ call, rv: ckrName(e.code), out: '' });
      return undefined;
    }
  }

  /** Records a value the scenario computed (e.g. "the two derived secrets are equal"). */
  note(label: string, value: unknown): void {
    this.records.push({ call: label, rv: '', out: this.normalize(value, 'value') });
  }

  /** The first slot whose token is not initialised (not recorded). */
  async blankSlot(): Promise<number> {
    for (const slot of await this.p11.C_GetSlotList(true)) {
      if (((await this.p11.C_GetTokenInfo(slot)).flags & CKF_TOKEN_INITIALIZED) === 0) return slot;
    }
    throw new Error('the backend has no uninitialised token');
  }

  /** The slot of the token labelled TOKEN_LABEL: SoftHSM2 gives an initialised token a new slot id. */
  async labelledSlot(): Promise<number> {
    for (const slot of await this.p11.C_GetSlotList(true)) {
      if ((await this.p11.C_GetTokenInfo(slot)).label.trimEnd() === TOKEN_LABEL) return slot;
    }
    throw new Error('the initialised token is not listed');
  }

  /** C_Initialize, then the first uninitialised token initialised with the SO and user PINs; resolves its slot. */
  async initToken(): Promise<number> {
    await this.call('C_Initialize', []);
    await this.call('C_InitToken', [await this.blankSlot(), SO_PIN, TOKEN_LABEL]);
    const slot = await this.labelledSlot();
    const session = await this.p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await this.call('C_Login', [session, CKU_SO, SO_PIN], 'none', 'SO');
    await this.call('C_InitPIN', [session, USER_PIN]);
    await this.p11.C_CloseSession(session);
    return slot;
  }

  /** A fresh token and a R/W session logged in as the user. */
  async userSession(): Promise<{ slot: number; session: number }> {
    const slot = await this.initToken();
    const session = await this.p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await this.call('C_Login', [session, CKU_USER, USER_PIN], 'none', 'user');
    return { slot, session };
  }
}
