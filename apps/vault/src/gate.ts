/**
 * The vault's gate: sits between one embedding app (an untrusted MessagePort speaking the worker
 * protocol) and the vault's engine worker (a connection = one PKCS#11 application). It is where the
 * vault's decisions are made, whatever the app sends:
 * - PINs: the app may pass none; C_Login, C_InitToken, C_InitPIN and C_SetPIN ask the user in the
 *   vault's own dialog (CKF_PROTECTED_AUTHENTICATION_PATH, reported in C_GetTokenInfo). The app
 *   learns only the CK_RV.
 * - Isolation: every object created through the gate is recorded as its origin's (by CKA_UNIQUE_ID);
 *   C_FindObjects returns only the origin's objects and those granted to it; every handle argument
 *   must be one the gate handed to this app, and only owners may modify or destroy.
 * - Consent: optionally, an origin may sign only once the user allowed it (remembered).
 * Requests keep their order: each is checked in arrival order, calls that need the gate's attention
 * (dialogs, creations, finds) complete before the next request is looked at; the rest stream through.
 */
import {
  CKA_UNIQUE_ID, CKF_PROTECTED_AUTHENTICATION_PATH, CKF_TOKEN_INITIALIZED, CKR_ACTION_PROHIBITED, CKR_ARGUMENTS_BAD,
  CKR_DEVICE_ERROR, CKR_FUNCTION_CANCELED, CKR_FUNCTION_NOT_SUPPORTED, CKR_FUNCTION_REJECTED, CKR_KEY_HANDLE_INVALID,
  CKR_OBJECT_HANDLE_INVALID, CKR_UNWRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_HANDLE_INVALID, CKS_RW_SO_FUNCTIONS,
  isFunctionName, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { FunctionName, SerializedPkcs11Error } from '@vhsm/pkcs11';
import { BATCH, CLOSE, HELLO, MAX_BATCH, PROTOCOL_VERSION, sanitizeArgs, serializeError, transferable } from '@vhsm/worker';
import type { Endpoint, Reply } from '@vhsm/worker';

/** What the gate asks the user; `origin` is always the embedder's, shown in the dialog. */
export type PinRequest =
  | { kind: 'login'; origin: string; userType: number }
  | { kind: 'init-token'; origin: string; initialized: boolean; label: string }
  | { kind: 'init-pin'; origin: string }
  | { kind: 'set-pin'; origin: string; so: boolean };

/** `pin`: the (current) PIN; `newPin`: the new one for set-pin. */
export interface PinAnswer {
  pin: string;
  newPin?: string;
}

export interface VaultUi {
  /** Resolves undefined if the user cancels. */
  askPin(request: PinRequest): Promise<PinAnswer | undefined>;
  /** Resolves true if the user allows `origin` to sign. */
  askConsent(origin: string, action: 'sign'): Promise<boolean>;
}

/** Object ownership by CKA_UNIQUE_ID, and consents per origin: the vault's own records. */
export interface VaultRecords {
  owner(uniqueId: string): string | undefined;
  setOwner(uniqueId: string, origin: string): void;
  deleteOwner(uniqueId: string): void;
  consented(origin: string, action: 'sign'): boolean;
  setConsent(origin: string, action: 'sign'): void;
}

export interface GateOptions {
  origin: string;
  /** Other origins whose objects this origin may find and use. */
  granted: readonly string[];
  consentToSign: boolean;
  ui: VaultUi;
  records: VaultRecords;
  /** Names a Web Lock the vault page holds while this connection lives (see the worker's hello). */
  lockName?: string;
  onClose?: () => void;
}

/** Requests in one coalesced frame (the worker's own limit, its default maxInFlight). */
const MAX_FRAME = 1024;

type Outcome = { ok: true; value: unknown } | { ok: false; error: SerializedPkcs11Error };

/**
 * How the gate treats each function. 'plain': forwarded as is (handle arguments, if any, checked);
 * 'await': forwarded, and the next request waits for it; the others have their own handling.
 * Every function must be listed, so a new one cannot slip through unclassified.
 */
type Kind = 'plain' | 'token-info' | 'pin' | 'create' | 'own' | 'find' | 'sign-init' | 'refused';

const RULES = {
  C_Initialize: 'plain', C_Finalize: 'plain', C_GetInfo: 'plain', C_GetSlotList: 'plain', C_GetSlotInfo: 'plain',
  C_GetTokenInfo: 'token-info', C_GetMechanismList: 'plain', C_GetMechanismInfo: 'plain',
  C_InitToken: 'pin', C_InitPIN: 'pin', C_SetPIN: 'pin', C_Login: 'pin', C_LoginUser: 'pin', C_Logout: 'plain',
  C_OpenSession: 'plain', C_CloseSession: 'plain', C_CloseAllSessions: 'plain', C_GetSessionInfo: 'plain',
  // Saved operation state may carry key material or handles: not across the vault's boundary.
  C_GetOperationState: 'refused', C_SetOperationState: 'refused',
  C_CreateObject: 'create', C_CopyObject: 'create', C_DestroyObject: 'own', C_GetObjectSize: 'plain',
  C_GetAttributeValue: 'plain', C_SetAttributeValue: 'own',
  C_FindObjectsInit: 'plain', C_FindObjects: 'find', C_FindObjectsFinal: 'plain',
  C_EncryptInit: 'plain', C_Encrypt: 'plain', C_EncryptUpdate: 'plain', C_EncryptFinal: 'plain',
  C_DecryptInit: 'plain', C_Decrypt: 'plain', C_DecryptUpdate: 'plain', C_DecryptFinal: 'plain',
  C_DigestInit: 'plain', C_Digest: 'plain', C_DigestUpdate: 'plain', C_DigestKey: 'plain', C_DigestFinal: 'plain',
  C_SignInit: 'sign-init', C_Sign: 'plain', C_SignUpdate: 'plain', C_SignFinal: 'plain',
  C_SignRecoverInit: 'sign-init', C_SignRecover: 'plain',
  C_VerifyInit: 'plain', C_Verify: 'plain', C_VerifyUpdate: 'plain', C_VerifyFinal: 'plain',
  C_VerifyRecoverInit: 'plain', C_VerifyRecover: 'plain',
  C_DigestEncryptUpdate: 'plain', C_DecryptDigestUpdate: 'plain', C_SignEncryptUpdate: 'plain', C_DecryptVerifyUpdate: 'plain',
  C_GenerateKey: 'create', C_GenerateKeyPair: 'create', C_WrapKey: 'plain', C_UnwrapKey: 'create', C_DeriveKey: 'create',
  C_SeedRandom: 'plain', C_GenerateRandom: 'plain', C_GetFunctionStatus: 'plain', C_CancelFunction: 'plain',
  C_WaitForSlotEvent: 'plain', C_GetInterfaceList: 'plain', C_GetInterface: 'plain', C_SessionCancel: 'plain',
  C_MessageEncryptInit: 'plain', C_EncryptMessage: 'plain', C_EncryptMessageBegin: 'plain', C_EncryptMessageNext: 'plain',
  C_MessageEncryptFinal: 'plain',
  C_MessageDecryptInit: 'plain', C_DecryptMessage: 'plain', C_DecryptMessageBegin: 'plain', C_DecryptMessageNext: 'plain',
  C_MessageDecryptFinal: 'plain',
  C_MessageSignInit: 'sign-init', C_SignMessage: 'plain', C_SignMessageBegin: 'plain', C_SignMessageNext: 'plain',
  C_MessageSignFinal: 'plain',
  C_MessageVerifyInit: 'plain', C_VerifyMessage: 'plain', C_VerifyMessageBegin: 'plain', C_VerifyMessageNext: 'plain',
  C_MessageVerifyFinal: 'plain',
} as const satisfies Record<FunctionName, Kind>;

/** Argument positions that name objects, and the CK_RV for one this app may not use. */
const HANDLE_ARGS: Partial<Record<FunctionName, readonly (readonly [number, number])[]>> = {
  C_CopyObject: [[1, CKR_OBJECT_HANDLE_INVALID]],
  C_DestroyObject: [[1, CKR_OBJECT_HANDLE_INVALID]],
  C_GetObjectSize: [[1, CKR_OBJECT_HANDLE_INVALID]],
  C_GetAttributeValue: [[1, CKR_OBJECT_HANDLE_INVALID]],
  C_SetAttributeValue: [[1, CKR_OBJECT_HANDLE_INVALID]],
  C_EncryptInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_DecryptInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_SignInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_VerifyInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_SignRecoverInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_VerifyRecoverInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_MessageEncryptInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_MessageDecryptInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_MessageSignInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_MessageVerifyInit: [[2, CKR_KEY_HANDLE_INVALID]],
  C_DigestKey: [[1, CKR_KEY_HANDLE_INVALID]],
  C_WrapKey: [[2, CKR_WRAPPING_KEY_HANDLE_INVALID], [3, CKR_KEY_HANDLE_INVALID]],
  C_UnwrapKey: [[2, CKR_UNWRAPPING_KEY_HANDLE_INVALID]],
  C_DeriveKey: [[2, CKR_KEY_HANDLE_INVALID]],
};

/** Where each PIN-taking function carries its PINs: all must be absent. */
const PIN_ARGS: Partial<Record<FunctionName, readonly number[]>> = {
  C_Login: [2], C_LoginUser: [2], C_InitToken: [1], C_InitPIN: [1], C_SetPIN: [1, 2],
};

interface Known {
  uniqueId: string;
  /** False for an object another origin granted: usable, not modifiable or destroyable. */
  own: boolean;
}

const ok = (value: unknown): Outcome => ({ ok: true, value });
const failure = (code: number, method: string, detail: string): Outcome =>
  ({ ok: false, error: new Pkcs11Error(code, method, detail).toJSON() });

export class VaultGate {
  readonly #app: Endpoint;
  readonly #engine: Endpoint;
  readonly #options: GateOptions;
  /** Handles this app has received from the gate (this application's handles: per connection). */
  readonly #known = new Map<number, Known>();
  readonly #pending = new Map<number, (outcome: Outcome) => void>();
  #nextId = 1;
  /** The request being looked at: the next one waits for it. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** A frame is one request or several (the client coalesces what it sends in one task). */
  readonly #appListener = (event: MessageEvent): void => {
    const data: unknown = event.data;
    if (!Array.isArray(data)) {
      this.#queue = this.#queue.then(() => this.#receive(data));
    } else if (data.length > MAX_FRAME) {
      this.#reply(null, failure(CKR_ARGUMENTS_BAD, 'message', `more than ${MAX_FRAME} requests in one message`));
    } else {
      // Each element is a request of its own; a nested array gets its CKR_ARGUMENTS_BAD.
      for (let i = 0; i < data.length; i++) {
        const request: unknown = Object.hasOwn(data, i) ? data[i] : undefined;
        this.#queue = this.#queue.then(() => this.#receive(Array.isArray(request) ? undefined : request));
      }
    }
  };
  /** The engine coalesces replies that are ready together. */
  readonly #engineListener = (event: MessageEvent): void => {
    const data: unknown = event.data;
    if (Array.isArray(data)) for (const reply of data) this.#fromEngine(reply);
    else this.#fromEngine(data);
  };

  constructor(app: Endpoint, engine: Endpoint, options: GateOptions) {
    this.#app = app;
    this.#engine = engine;
    this.#options = options;
    engine.addEventListener('message', this.#engineListener);
    engine.start?.();
    // Liveness is the vault page's: when the iframe goes, the engine ends this application.
    this.#queue = this.#call(HELLO, options.lockName === undefined ? [] : [options.lockName]).then(() => undefined);
    app.addEventListener('message', this.#appListener);
    app.start?.();
  }

  get origin(): string {
    return this.#options.origin;
  }

  /** Ends this application in the engine and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#app.removeEventListener('message', this.#appListener);
    await this.#call(CLOSE, []);
    this.#engine.removeEventListener('message', this.#engineListener);
    this.#app.close?.();
    this.#options.onClose?.();
  }

  async #receive(data: unknown): Promise<void> {
    if (this.#closed) return;
    let id: number | null = null;
    let method = 'message';
    try {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'expected { id, fn, args }');
      }
      const message = data as Record<string, unknown>;
      const rawId = Object.hasOwn(message, 'id') ? message.id : undefined;
      if (typeof rawId !== 'number' || !Number.isSafeInteger(rawId) || rawId < 0) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'id: expected a non-negative integer');
      }
      id = rawId;
      const fn = Object.hasOwn(message, 'fn') ? message.fn : undefined;
      const rawArgs = Object.hasOwn(message, 'args') ? message.args : undefined;
      if (fn === HELLO) {
        this.#reply(id, ok({ protocol: PROTOCOL_VERSION }));
      } else if (fn === CLOSE) {
        this.#reply(id, ok(undefined));
        await this.close();
      } else if (fn === BATCH) {
        method = BATCH;
        await this.#batch(id, rawArgs);
      } else if (isFunctionName(fn)) {
        method = fn;
        const outcome = this.#run(fn, sanitizeArgs(rawArgs, fn));
        if (RULES[fn] === 'plain') {
          void outcome.then((o) => this.#reply(rawId, o));
        } else {
          this.#reply(id, await outcome);
        }
      } else {
        throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, 'fn: not a Cryptoki function');
      }
    } catch (e) {
      this.#reply(id, { ok: false, error: serializeError(e, method) });
    }
  }

  /** A batch runs call by call through the same checks; the first failure stops it. */
  async #batch(id: number, args: unknown): Promise<void> {
    if (!Array.isArray(args) || args.length > MAX_BATCH) {
      throw new Pkcs11Error(CKR_ARGUMENTS_BAD, BATCH, `args: expected at most ${MAX_BATCH} calls`);
    }
    // Checked whole before any call runs, as one call's arguments would be.
    const calls = args.map((entry: unknown, index) => {
      if (!Array.isArray(entry) || entry.length !== 2 || !isFunctionName(entry[0])) {
        throw new Pkcs11Error(CKR_ARGUMENTS_BAD, BATCH, `args[${index}]: expected [fn, args]`);
      }
      return [entry[0], sanitizeArgs(entry[1], entry[0])] as const;
    });
    const results: unknown[] = [];
    for (const [index, [fn, callArgs]] of calls.entries()) {
      const outcome = await this.#run(fn, callArgs);
      if (!outcome.ok) {
        this.#post({ id, ok: false, error: outcome.error, index });
        return;
      }
      results.push(outcome.value);
    }
    this.#reply(id, ok(results));
  }

  /** One C_ call through the vault's rules. Never rejects. */
  async #run(fn: FunctionName, args: unknown[]): Promise<Outcome> {
    try {
      const refused = this.#checkHandles(fn, args);
      if (refused) return refused;
      switch (RULES[fn]) {
        case 'plain':
          return await this.#call(fn, args);
        case 'token-info':
          return await this.#tokenInfo(args);
        case 'pin':
          return await this.#withPin(fn, args);
        case 'create':
          return await this.#create(fn, args);
        case 'own':
          return await this.#ownOnly(fn, args);
        case 'find':
          return await this.#find(args);
        case 'sign-init':
          return await this.#signInit(fn, args);
        case 'refused':
          return failure(CKR_FUNCTION_NOT_SUPPORTED, fn, 'not offered by the vault');
      }
    } catch (e) {
      return { ok: false, error: serializeError(e, fn) };
    }
  }

  #checkHandles(fn: FunctionName, args: unknown[]): Outcome | undefined {
    for (const [index, code] of HANDLE_ARGS[fn] ?? []) {
      const handle = args[index];
      if (typeof handle !== 'number' || !this.#known.has(handle)) {
        return failure(code, fn, `args[${index}]: not an object of this origin`);
      }
    }
    return undefined;
  }

  async #tokenInfo(args: unknown[]): Promise<Outcome> {
    const outcome = await this.#call('C_GetTokenInfo', args);
    if (!outcome.ok) return outcome;
    const info = outcome.value as { flags: number };
    return ok({ ...info, flags: info.flags | CKF_PROTECTED_AUTHENTICATION_PATH });
  }

  async #withPin(fn: FunctionName, args: unknown[]): Promise<Outcome> {
    for (const index of PIN_ARGS[fn] ?? []) {
      if (args[index] !== undefined && args[index] !== null) {
        return failure(CKR_ARGUMENTS_BAD, fn, `args[${index}]: the vault asks the user for PINs itself (protected authentication path); pass none`);
      }
    }
    const origin = this.#options.origin;
    let request: PinRequest;
    if (fn === 'C_InitToken') {
      const info = await this.#call('C_GetTokenInfo', [args[0]]);
      if (!info.ok) return info;
      const label = typeof args[2] === 'string' ? args[2] : '';
      request = { kind: 'init-token', origin, initialized: ((info.value as { flags: number }).flags & CKF_TOKEN_INITIALIZED) !== 0, label };
    } else {
      // A dialog for a session that does not exist would ask the user for nothing.
      const session = await this.#call('C_GetSessionInfo', [args[0]]);
      if (!session.ok) return { ok: false, error: { ...session.error, method: fn, message: session.error.message } };
      const state = (session.value as { state: number }).state;
      if (fn === 'C_Login' || fn === 'C_LoginUser') {
        if (typeof args[1] !== 'number') return failure(CKR_ARGUMENTS_BAD, fn, 'args[1]: expected a user type');
        request = { kind: 'login', origin, userType: args[1] };
      } else if (fn === 'C_InitPIN') {
        request = { kind: 'init-pin', origin };
      } else {
        request = { kind: 'set-pin', origin, so: state === CKS_RW_SO_FUNCTIONS };
      }
    }
    const answer = await this.#options.ui.askPin(request);
    if (!answer) return failure(CKR_FUNCTION_CANCELED, fn, 'the user cancelled the vault dialog');
    const withPins = [...args];
    const [first, second] = PIN_ARGS[fn] ?? [];
    if (first !== undefined) withPins[first] = answer.pin;
    if (second !== undefined) withPins[second] = answer.newPin;
    return this.#call(fn, withPins);
  }

  async #create(fn: FunctionName, args: unknown[]): Promise<Outcome> {
    const outcome = await this.#call(fn, args);
    if (!outcome.ok) return outcome;
    const session = args[0];
    const handles = fn === 'C_GenerateKeyPair'
      ? [(outcome.value as { publicKey: number }).publicKey, (outcome.value as { privateKey: number }).privateKey]
      : [outcome.value as number];
    for (const handle of handles) {
      const uniqueId = await this.#uniqueId(session, handle);
      if (uniqueId === undefined) {
        // An object nobody owns would be lost to every origin: take it back.
        for (const h of handles) await this.#call('C_DestroyObject', [session, h]);
        return failure(CKR_DEVICE_ERROR, fn, 'the vault could not record the new object');
      }
      this.#options.records.setOwner(uniqueId, this.#options.origin);
      this.#known.set(handle, { uniqueId, own: true });
    }
    return outcome;
  }

  async #ownOnly(fn: FunctionName, args: unknown[]): Promise<Outcome> {
    const handle = args[1] as number;
    const known = this.#known.get(handle);
    if (!known?.own) return failure(CKR_ACTION_PROHIBITED, fn, 'only the origin that created the object may change it');
    const outcome = await this.#call(fn, args);
    if (outcome.ok && fn === 'C_DestroyObject') {
      this.#known.delete(handle);
      this.#options.records.deleteOwner(known.uniqueId);
    }
    return outcome;
  }

  /** Finds until `max` visible objects or the end, so a caller never mistakes a filtered batch for the end. */
  async #find(args: unknown[]): Promise<Outcome> {
    const [session, max] = args;
    if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 0)) {
      return this.#call('C_FindObjects', args);
    }
    const found: number[] = [];
    for (;;) {
      const ask = max === undefined ? undefined : max - found.length;
      const outcome = await this.#call('C_FindObjects', ask === undefined ? [session] : [session, ask]);
      if (!outcome.ok) return outcome;
      const handles = outcome.value as number[];
      for (const handle of handles) if (await this.#visible(session, handle)) found.push(handle);
      if (ask === undefined || handles.length < ask || found.length === max) return ok(found);
    }
  }

  async #visible(session: unknown, handle: number): Promise<boolean> {
    if (this.#known.has(handle)) return true;
    const uniqueId = await this.#uniqueId(session, handle);
    const owner = uniqueId === undefined ? undefined : this.#options.records.owner(uniqueId);
    if (uniqueId === undefined || owner === undefined) return false;
    const own = owner === this.#options.origin;
    if (!own && !this.#options.granted.includes(owner)) return false;
    this.#known.set(handle, { uniqueId, own });
    return true;
  }

  async #signInit(fn: FunctionName, args: unknown[]): Promise<Outcome> {
    const { consentToSign, records, ui, origin } = this.#options;
    if (consentToSign && !records.consented(origin, 'sign')) {
      if (!(await ui.askConsent(origin, 'sign'))) return failure(CKR_FUNCTION_REJECTED, fn, 'the user did not allow this origin to sign');
      records.setConsent(origin, 'sign');
    }
    return this.#call(fn, args);
  }

  async #uniqueId(session: unknown, handle: number): Promise<string | undefined> {
    const outcome = await this.#call('C_GetAttributeValue', [session, handle, [{ type: CKA_UNIQUE_ID }]]);
    const value = outcome.ok ? (outcome.value as { value?: unknown }[])[0]?.value : undefined;
    return typeof value === 'string' ? value : undefined;
  }

  /** One request to the engine; its reply as an Outcome. */
  #call(fn: FunctionName | typeof HELLO | typeof CLOSE, args: unknown[]): Promise<Outcome> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#engine.postMessage({ id, fn, args }, []);
    });
  }

  #fromEngine(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const reply = data as Reply;
    if (typeof reply.id !== 'number') return;
    const resolve = this.#pending.get(reply.id);
    if (!resolve) return;
    this.#pending.delete(reply.id);
    resolve(reply.ok ? ok(reply.value) : { ok: false, error: reply.error });
  }

  #reply(id: number | null, outcome: Outcome): void {
    if (!outcome.ok) {
      this.#post({ id, ok: false, error: outcome.error });
      return;
    }
    // The engine's result was made for this reply: hand its buffer over instead of copying it.
    const buffer = transferable(outcome.value);
    this.#post({ id, ok: true, value: outcome.value }, buffer ? [buffer] : []);
  }

  #post(reply: Reply, transfer: Transferable[] = []): void {
    if (this.#closed && reply.id === null) return;
    this.#app.postMessage(reply, transfer);
  }
}
