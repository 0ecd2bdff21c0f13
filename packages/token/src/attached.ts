/**
 * Slots backed by a TokenProvider (a card or key behind @vhsm/bridge). The engine's registry gives
 * each attached provider a slot id after the software slots and forgets it when the device goes;
 * each application (Cryptoki) keeps its own sessions, handles and login on those slots here, so
 * the software-token code paths stay untouched.
 */
import {
  ckmName, CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DERIVE, CKA_EXTRACTABLE, CKA_ID,
  CKA_DECRYPT, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN,
  CKA_VALUE, CKA_VALUE_LEN, CKD_NULL, CKF_DECRYPT, CKF_DERIVE, CKK_AES, CKK_GENERIC_SECRET, CKM_ECDH1_DERIVE, CKO_SECRET_KEY,
  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_VALUE_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT, CKF_GENERATE_KEY_PAIR, CKF_HW_SLOT,
  CKF_LOGIN_REQUIRED, CKF_REMOVABLE_DEVICE, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_SIGN,
  CKF_TOKEN_INITIALIZED, CKF_TOKEN_PRESENT, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY,
  CKF_USER_PIN_INITIALIZED, CKF_USER_PIN_LOCKED, CKF_WRITE_PROTECTED, CKK_EC, CKK_RSA, CKM_ECDSA,
  CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_RSA_PKCS,
  CKM_RSA_PKCS_PSS, CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
  CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS, CKO_PRIVATE_KEY,
  CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_DEVICE_REMOVED, CKR_FUNCTION_NOT_SUPPORTED,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_MECHANISM_INVALID,
  CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_HANDLE_INVALID,
  CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_READ_ONLY, CKR_SESSION_READ_ONLY_EXISTS,
  CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_SLOT_ID_INVALID, CKR_TOKEN_NOT_PRESENT, CKR_USER_ALREADY_LOGGED_IN,
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN, CKR_USER_TYPE_INVALID, CKS_RO_PUBLIC_SESSION,
  CKS_RO_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION, CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS, CKU_CONTEXT_SPECIFIC,
  CKU_SO, CKU_USER, CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism, MechanismInfo, SessionInfo, SlotInfo, Template, TokenInfo } from '@vhsm/pkcs11';
import { bytesArg, handleArg, mechanismArg, stringArg, ulongArg } from './args.js';
import { readability } from './attributes/rules.js';
import { copyValue, normalizeTemplate, templateEntries, valuesEqual } from './attributes/values.js';
import type { AttributeMap } from './attributes/values.js';
import { ckr } from './errors.js';
import type { ProviderObject, TokenProvider } from './provider.js';

/** The engine-wide list of attached providers (shared by every application of an engine). */
export class AttachedRegistry {
  readonly #providers = new Map<number, TokenProvider>();
  readonly #removed = new Set<number>();
  readonly #unsubscribe = new Map<number, () => void>();
  readonly #listeners = new Set<(slot: number) => void>();
  #next: number;

  constructor(firstSlot: number) {
    this.#next = firstSlot;
  }

  attach(provider: TokenProvider): number {
    const slot = this.#next++;
    this.#providers.set(slot, provider);
    this.#unsubscribe.set(slot, provider.on('removed', () => this.detach(slot)));
    for (const listener of this.#listeners) listener(slot);
    return slot;
  }

  /** Hear of every slot that appears or goes (C_WaitForSlotEvent). */
  onSlotEvent(listener: (slot: number) => void): void {
    this.#listeners.add(listener);
  }

  /** The device is gone: its slot leaves the list and every call on it fails from now on. */
  detach(slot: number): void {
    if (!this.#providers.delete(slot)) return;
    this.#removed.add(slot);
    this.#unsubscribe.get(slot)?.();
    this.#unsubscribe.delete(slot);
    for (const listener of this.#listeners) listener(slot);
  }

  slots(): number[] {
    return [...this.#providers.keys()];
  }

  /** Is this id an attached slot, present or gone? */
  owns(slot: unknown): boolean {
    return typeof slot === 'number' && (this.#providers.has(slot) || this.#removed.has(slot));
  }

  get(slot: number): TokenProvider | undefined {
    return this.#providers.get(slot);
  }
}

/** A key derived on the device (ECDH) lives here as a session object; its value is kept apart from its attributes. */
interface SessionKey extends ProviderObject {
  slot: number;
  session: number;
  value: Uint8Array;
}

interface AttachedSession {
  handle: number;
  slot: number;
  readWrite: boolean;
  find?: number[];
  sign?: { key: string; mechanism: Mechanism; needsContextLogin: boolean; parts?: Uint8Array[] };
  decrypt?: { key: string; mechanism: Mechanism };
}

/** One application's sessions, handles and logins on attached slots. */
export class AttachedSlots {
  readonly #registry: AttachedRegistry;
  readonly #newSessionHandle: () => number;
  readonly #newObjectHandle: () => number;
  readonly #sessions = new Map<number, AttachedSession>();
  readonly #logins = new Map<number, 'user' | 'so'>();
  /** Slots that appeared or went since the application last asked (C_WaitForSlotEvent). */
  readonly #events: number[] = [];
  readonly #handles = new Map<number, { slot: number; ref: string }>();
  readonly #handleOf = new Map<string, number>();
  readonly #sessionKeys = new Map<string, SessionKey>();
  #nextSessionKey = 1;

  constructor(registry: AttachedRegistry, newSessionHandle: () => number, newObjectHandle: () => number) {
    this.#registry = registry;
    this.#newSessionHandle = newSessionHandle;
    this.#newObjectHandle = newObjectHandle;
    registry.onSlotEvent((slot) => {
      if (!this.#events.includes(slot)) this.#events.push(slot);
    });
  }

  /** The next slot with an event, if any (CKF_DONT_BLOCK). */
  nextEvent(): number | undefined {
    return this.#events.shift();
  }

  hasSession(session: unknown): boolean {
    return typeof session === 'number' && this.#sessions.has(session);
  }

  // ------------------------------------------------------------------ slots and tokens

  slotInfo(slot: number): SlotInfo {
    const provider = this.#present(slot, CKR_SLOT_ID_INVALID);
    return {
      slotDescription: provider.slotDescription,
      manufacturerID: 'vhsm bridge',
      flags: CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT,
      hardwareVersion: { major: 0, minor: 0 },
      firmwareVersion: { major: 0, minor: 0 },
    };
  }

  async tokenInfo(slot: number): Promise<TokenInfo> {
    const provider = this.#present(slot, CKR_TOKEN_NOT_PRESENT);
    const info = await provider.tokenInfo();
    const pin = await provider.pinState();
    const sessions = [...this.#sessions.values()].filter((s) => s.slot === slot);
    return {
      label: info.label,
      manufacturerID: info.manufacturerID,
      model: info.model,
      serialNumber: info.serialNumber,
      flags: CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_WRITE_PROTECTED | pinFlags(pin.retriesLeft, pin.maxRetries),
      maxSessionCount: CK_EFFECTIVELY_INFINITE,
      sessionCount: sessions.length,
      maxRwSessionCount: CK_EFFECTIVELY_INFINITE,
      rwSessionCount: sessions.filter((s) => s.readWrite).length,
      maxPinLen: info.maxPinLen,
      minPinLen: info.minPinLen,
      totalPublicMemory: CK_UNAVAILABLE_INFORMATION,
      freePublicMemory: CK_UNAVAILABLE_INFORMATION,
      totalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
      freePrivateMemory: CK_UNAVAILABLE_INFORMATION,
      hardwareVersion: { ...info.hardwareVersion },
      firmwareVersion: { ...info.firmwareVersion },
      utcTime: '',
    };
  }

  mechanismList(slot: number): number[] {
    return [...this.#present(slot, CKR_TOKEN_NOT_PRESENT).mechanisms().keys()];
  }

  mechanismInfo(slot: number, type: number): MechanismInfo {
    const info = this.#present(slot, CKR_TOKEN_NOT_PRESENT).mechanisms().get(ulongArg(type, 'type'));
    if (!info) throw ckr(CKR_MECHANISM_INVALID, `${ckmName(type)} is not supported by this device`);
    return { ...info };
  }

  // ------------------------------------------------------------------ sessions

  openSession(slot: number, flags: number): number {
    this.#present(slot, CKR_TOKEN_NOT_PRESENT);
    ulongArg(flags, 'flags');
    if (!(flags & CKF_SERIAL_SESSION)) throw ckr(CKR_SESSION_PARALLEL_NOT_SUPPORTED, 'CKF_SERIAL_SESSION must be set');
    if (!(flags & CKF_RW_SESSION) && this.#logins.get(slot) === 'so') throw ckr(CKR_SESSION_READ_WRITE_SO_EXISTS, 'the SO is logged in: only read/write sessions');
    const handle = this.#newSessionHandle();
    this.#sessions.set(handle, { handle, slot, readWrite: (flags & CKF_RW_SESSION) !== 0 });
    return handle;
  }

  /** Closing works on a removed device too: it only forgets the session. */
  async closeSession(session: number): Promise<void> {
    const s = this.#sessions.get(session);
    if (!s) throw ckr(CKR_SESSION_HANDLE_INVALID);
    this.#sessions.delete(session);
    for (const [ref, key] of this.#sessionKeys) if (key.session === session) this.#dropSessionKey(ref, key);
    // The last session ends the login; a device that fails to hear it (unplugged) does not keep the session open.
    if (![...this.#sessions.values()].some((x) => x.slot === s.slot)) await this.#logout(s.slot).catch(() => undefined);
  }

  async closeAll(slot: number): Promise<void> {
    for (const s of this.#sessions.values()) if (s.slot === slot) await this.closeSession(s.handle);
  }

  async finalize(): Promise<void> {
    for (const s of this.#sessions.values()) await this.closeSession(s.handle);
  }

  sessionInfo(session: number): SessionInfo {
    const s = this.#session(session);
    return { slotID: s.slot, state: this.#state(s), flags: CKF_SERIAL_SESSION | (s.readWrite ? CKF_RW_SESSION : 0), deviceError: 0 };
  }

  async login(session: number, userType: number, pin: unknown): Promise<void> {
    const s = this.#session(session);
    const provider = this.#provider(s);
    if (userType !== CKU_SO && userType !== CKU_USER && userType !== CKU_CONTEXT_SPECIFIC) throw ckr(CKR_USER_TYPE_INVALID, `user type ${userType}`);
    const text = stringArg(pin, 'pin');
    if (userType === CKU_CONTEXT_SPECIFIC) {
      const pending = s.sign?.needsContextLogin ? s.sign : undefined;
      if (!pending) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no operation needs context-specific login');
      if (this.#logins.get(s.slot) !== 'user') throw ckr(CKR_USER_NOT_LOGGED_IN);
      await provider.login('context', text);
      pending.needsContextLogin = false;
      return;
    }
    const owner = userType === CKU_SO ? 'so' : 'user';
    const current = this.#logins.get(s.slot);
    if (current === owner) throw ckr(CKR_USER_ALREADY_LOGGED_IN);
    if (current) throw ckr(CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    if (owner === 'so' && [...this.#sessions.values()].some((x) => x.slot === s.slot && !x.readWrite)) {
      throw ckr(CKR_SESSION_READ_ONLY_EXISTS, 'close read-only sessions before the SO logs in');
    }
    await provider.login(owner, text);
    this.#logins.set(s.slot, owner);
  }

  async setPin(session: number, oldPin: unknown, newPin: unknown): Promise<void> {
    const s = this.#session(session);
    const provider = this.#provider(s);
    const oldText = stringArg(oldPin, 'oldPin');
    const newText = stringArg(newPin, 'newPin');
    if (!s.readWrite) throw ckr(CKR_SESSION_READ_ONLY, 'C_SetPIN needs a read/write session');
    if (this.#logins.get(s.slot) === 'so' || !provider.changePin) throw ckr(CKR_FUNCTION_NOT_SUPPORTED, 'this device changes only the user PIN through vhsm');
    await provider.changePin(oldText, newText);
  }

  async logout(session: number): Promise<void> {
    const s = this.#session(session);
    this.#provider(s);
    if (!this.#logins.has(s.slot)) throw ckr(CKR_USER_NOT_LOGGED_IN);
    await this.#logout(s.slot);
  }

  // ------------------------------------------------------------------ objects

  async findInit(session: number, template: Template): Promise<void> {
    const s = this.#session(session);
    if (s.find) throw ckr(CKR_OPERATION_ACTIVE, 'a find operation is already active');
    const wanted = normalizeTemplate(template);
    const results: number[] = [];
    for (const o of await this.#visible(s)) {
      const attributes = toMap(o.attributes);
      if ([...wanted].every(([type, value]) => valuesEqual(attributes.get(type), value))) results.push(this.#handleFor(s.slot, o.ref));
    }
    s.find = results;
  }

  find(session: number, max: number | undefined): number[] {
    const s = this.#session(session);
    const count = max === undefined ? Number.MAX_SAFE_INTEGER : ulongArg(max, 'max');
    if (!s.find) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no find operation is active');
    return s.find.splice(0, count);
  }

  findFinal(session: number): void {
    const s = this.#session(session);
    if (!s.find) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no find operation is active');
    delete s.find;
  }

  async getAttributeValue(session: number, object: number, template: Template): Promise<Attribute[]> {
    const s = this.#session(session);
    const target = await this.#object(s, object, CKR_OBJECT_HANDLE_INVALID);
    const attributes = toMap(target.attributes);
    const entries = templateEntries(template);
    const secret = this.#sessionKeys.get(target.ref)?.value;
    let problem: number | undefined;
    for (const { type } of entries) {
      if (attributes.has(type)) continue;
      const readable = readability(attributes, type);
      if (readable === 'sensitive') problem = CKR_ATTRIBUTE_SENSITIVE;
      else if (type === CKA_VALUE && secret && readable === 'readable') attributes.set(CKA_VALUE, secret);
      else problem ??= CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (problem !== undefined) throw ckr(problem);
    return entries.map(({ type }) => ({ type, value: copyValue(attributes.get(type)!) }));
  }

  // ------------------------------------------------------------------ signing

  async signInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const s = this.#session(session);
    if (s.sign) throw ckr(CKR_OPERATION_ACTIVE, 'a sign operation is already active');
    const m = mechanismArg(mechanism);
    const provider = this.#provider(s);
    const object = await this.#object(s, key, CKR_KEY_HANDLE_INVALID);
    const attributes = toMap(object.attributes);
    const info = provider.mechanisms().get(m.mechanism);
    if (!info || !(info.flags & CKF_SIGN)) throw ckr(CKR_MECHANISM_INVALID, `${ckmName(m.mechanism)} cannot sign on this device`);
    if (attributes.get(CKA_CLASS) !== CKO_PRIVATE_KEY) throw ckr(CKR_KEY_TYPE_INCONSISTENT, 'signing needs a private key');
    const keyType = SIGNING_KEY_TYPE.get(m.mechanism);
    if (keyType !== undefined && attributes.get(CKA_KEY_TYPE) !== keyType) throw ckr(CKR_KEY_TYPE_INCONSISTENT, `${ckmName(m.mechanism)} cannot use this key type`);
    if (attributes.get(CKA_SIGN) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the key does not allow sign');
    s.sign = { key: object.ref, mechanism: m, needsContextLogin: attributes.get(CKA_ALWAYS_AUTHENTICATE) === true };
  }

  async sign(session: number, data: Uint8Array): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.sign;
    if (!op) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no sign operation is active');
    try {
      bytesArg(data, 'data');
      if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
      if (op.parts) throw ckr(CKR_OPERATION_ACTIVE, 'C_Sign after C_SignUpdate');
      return await this.#provider(s).sign(op.key, op.mechanism, data);
    } finally {
      delete s.sign;
    }
  }

  /** Multi-part signing: the device signs once, so the parts are gathered here until C_SignFinal. */
  signUpdate(session: number, data: Uint8Array): void {
    const s = this.#session(session);
    const op = s.sign;
    if (!op) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no sign operation is active');
    try {
      bytesArg(data, 'data');
      if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
      if (SINGLE_PART.has(op.mechanism.mechanism)) throw ckr(CKR_FUNCTION_NOT_SUPPORTED, `${ckmName(op.mechanism.mechanism)} is single-part`);
      (op.parts ??= []).push(data.slice());
    } catch (e) {
      delete s.sign;
      throw e;
    }
  }

  async signFinal(session: number): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.sign;
    if (!op) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no sign operation is active');
    try {
      if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
      const parts = op.parts ?? [];
      const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      return await this.#provider(s).sign(op.key, op.mechanism, data);
    } finally {
      delete s.sign;
    }
  }

  // ------------------------------------------------------------------ decryption

  async decryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const s = this.#session(session);
    if (s.decrypt) throw ckr(CKR_OPERATION_ACTIVE, 'a decrypt operation is already active');
    const m = mechanismArg(mechanism);
    const provider = this.#provider(s);
    const object = await this.#object(s, key, CKR_KEY_HANDLE_INVALID);
    const attributes = toMap(object.attributes);
    const info = provider.mechanisms().get(m.mechanism);
    if (!info || !(info.flags & CKF_DECRYPT) || !provider.decrypt) throw ckr(CKR_MECHANISM_INVALID, `${ckmName(m.mechanism)} cannot decrypt on this device`);
    if (attributes.get(CKA_CLASS) !== CKO_PRIVATE_KEY || attributes.get(CKA_KEY_TYPE) !== CKK_RSA) throw ckr(CKR_KEY_TYPE_INCONSISTENT, 'decryption on the device needs an RSA private key');
    if (attributes.get(CKA_DECRYPT) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the key does not allow decrypt');
    s.decrypt = { key: object.ref, mechanism: m };
  }

  async decrypt(session: number, data: Uint8Array): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.decrypt;
    if (!op) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no decrypt operation is active');
    try {
      bytesArg(data, 'data');
      return await this.#provider(s).decrypt!(op.key, op.mechanism, data);
    } finally {
      delete s.decrypt;
    }
  }

  // ------------------------------------------------------------------ key agreement

  /**
   * C_DeriveKey on a device key: CKM_ECDH1_DERIVE (CKD_NULL), where the device computes Z, or a
   * mechanism of the device's own (a FIDO key's hmac-secret). The secret becomes a session secret
   * key (CKK_GENERIC_SECRET or CKK_AES, CKA_VALUE_LEN bytes of it).
   */
  async deriveKey(session: number, mechanism: Mechanism, baseKey: number, template: Template): Promise<number> {
    const s = this.#session(session);
    const m = mechanismArg(mechanism);
    const provider = this.#provider(s);
    const base = await this.#object(s, baseKey, CKR_KEY_HANDLE_INVALID);
    const values = normalizeTemplate(template);
    const info = provider.mechanisms().get(m.mechanism);
    if (!info || !(info.flags & CKF_DERIVE) || !provider.deriveSecret) {
      throw ckr(CKR_MECHANISM_INVALID, `${ckmName(m.mechanism)} cannot derive on this device`);
    }
    let request: Mechanism = m;
    if (m.mechanism === CKM_ECDH1_DERIVE) {
      const parameter = m.parameter as { kdf?: unknown; publicData?: unknown; sharedData?: unknown } | undefined;
      if (typeof parameter !== 'object' || parameter === null || !(parameter.publicData instanceof Uint8Array)) {
        throw ckr(CKR_MECHANISM_PARAM_INVALID, 'CKM_ECDH1_DERIVE takes { kdf, publicData }');
      }
      if (parameter.kdf !== CKD_NULL || (parameter.sharedData !== undefined && !(parameter.sharedData instanceof Uint8Array && parameter.sharedData.length === 0))) {
        throw ckr(CKR_MECHANISM_PARAM_INVALID, 'the device gives the raw shared secret: kdf CKD_NULL, no shared data');
      }
      request = { mechanism: m.mechanism, parameter: { kdf: CKD_NULL, publicData: parameter.publicData } };
    }
    const baseAttributes = toMap(base.attributes);
    if (baseAttributes.get(CKA_CLASS) !== CKO_PRIVATE_KEY || baseAttributes.get(CKA_KEY_TYPE) !== CKK_EC) throw ckr(CKR_KEY_TYPE_INCONSISTENT, 'derivation on the device needs an EC private key');
    if (baseAttributes.get(CKA_DERIVE) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the key does not allow derive');
    if ((values.get(CKA_CLASS) ?? CKO_SECRET_KEY) !== CKO_SECRET_KEY) throw ckr(CKR_TEMPLATE_INCONSISTENT, 'derivation makes a secret key');
    if (values.get(CKA_TOKEN) === true) throw ckr(CKR_TEMPLATE_INCONSISTENT, 'the device keeps no secret keys: session objects only');
    const keyType = values.get(CKA_KEY_TYPE);
    if (keyType === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_KEY_TYPE is required');
    if (keyType !== CKK_GENERIC_SECRET && keyType !== CKK_AES) throw ckr(CKR_TEMPLATE_INCONSISTENT, 'derivation here makes CKK_GENERIC_SECRET or CKK_AES keys');
    const length = values.get(CKA_VALUE_LEN);
    if (keyType === CKK_AES && length !== 16 && length !== 24 && length !== 32) throw ckr(length === undefined ? CKR_TEMPLATE_INCOMPLETE : CKR_ATTRIBUTE_VALUE_INVALID, 'CKA_VALUE_LEN: 16, 24 or 32 for AES');
    const shared = await provider.deriveSecret(base.ref, request);
    const size = typeof length === 'number' ? length : shared.length;
    if (size < 1 || size > shared.length) throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_VALUE_LEN: at most ${shared.length}`);
    const value = shared.slice(0, size);
    shared.fill(0);
    const sensitive = values.get(CKA_SENSITIVE) !== false;
    const extractable = values.get(CKA_EXTRACTABLE) === true;
    const ref = `session-key:${this.#nextSessionKey++}`;
    const attributes: Attribute[] = [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: keyType }, { type: CKA_TOKEN, value: false },
      { type: CKA_PRIVATE, value: values.get(CKA_PRIVATE) !== false }, { type: CKA_VALUE_LEN, value: size },
      { type: CKA_SENSITIVE, value: sensitive }, { type: CKA_EXTRACTABLE, value: extractable },
      { type: CKA_ALWAYS_SENSITIVE, value: false }, { type: CKA_NEVER_EXTRACTABLE, value: false }, { type: CKA_LOCAL, value: false },
      { type: CKA_DERIVE, value: false }, { type: CKA_LABEL, value: typeof values.get(CKA_LABEL) === 'string' ? values.get(CKA_LABEL) as string : '' },
      ...(values.has(CKA_ID) ? [{ type: CKA_ID, value: values.get(CKA_ID)! }] : []),
    ];
    this.#sessionKeys.set(ref, { ref, slot: s.slot, session: s.handle, attributes, value });
    return this.#handleFor(s.slot, ref);
  }

  /** Only the session keys made here can be destroyed; what lives on the device stays. */
  async destroyObject(session: number, object: number): Promise<void> {
    const s = this.#session(session);
    const target = await this.#object(s, object, CKR_OBJECT_HANDLE_INVALID);
    const key = this.#sessionKeys.get(target.ref);
    if (!key) throw ckr(CKR_ACTION_PROHIBITED, 'objects on the device are not destroyed through vhsm');
    this.#dropSessionKey(target.ref, key);
  }

  #dropSessionKey(ref: string, key: SessionKey): void {
    key.value.fill(0);
    this.#sessionKeys.delete(ref);
    const handleKey = `${key.slot}:${ref}`;
    const handle = this.#handleOf.get(handleKey);
    if (handle !== undefined) {
      this.#handles.delete(handle);
      this.#handleOf.delete(handleKey);
    }
  }

  // ------------------------------------------------------------------ objects made on the device

  async generateKeyPair(session: number, mechanism: Mechanism, publicTemplate: Template, privateTemplate: Template): Promise<{ publicKey: number; privateKey: number }> {
    const s = this.#session(session);
    const m = mechanismArg(mechanism);
    const pub = asTemplate(normalizeTemplate(publicTemplate));
    const priv = asTemplate(normalizeTemplate(privateTemplate));
    const provider = this.#provider(s);
    const info = provider.mechanisms().get(m.mechanism);
    if (!info || !(info.flags & CKF_GENERATE_KEY_PAIR) || !provider.generateKeyPair) {
      throw ckr(CKR_MECHANISM_INVALID, `${ckmName(m.mechanism)} cannot generate a key pair on this device`);
    }
    if (!s.readWrite) throw ckr(CKR_SESSION_READ_ONLY, 'objects on the device need a read/write session');
    const refs = await provider.generateKeyPair(m, pub, priv);
    return { publicKey: this.#handleFor(s.slot, refs.publicKey), privateKey: this.#handleFor(s.slot, refs.privateKey) };
  }

  async createObject(session: number, template: Template): Promise<number> {
    const s = this.#session(session);
    const values = asTemplate(normalizeTemplate(template));
    const provider = this.#provider(s);
    if (!provider.createObject) throw ckr(CKR_FUNCTION_NOT_SUPPORTED, 'this device stores no objects');
    if (!s.readWrite) throw ckr(CKR_SESSION_READ_ONLY, 'objects on the device need a read/write session');
    return this.#handleFor(s.slot, await provider.createObject(values));
  }

  // ------------------------------------------------------------------ internals

  #present(slot: number, gone: number) {
    const id = handleArg(slot, 'slot');
    const provider = this.#registry.get(id);
    if (!provider) throw ckr(gone, `slot ${id}: the device was removed`);
    return provider;
  }

  #session(session: number): AttachedSession {
    const s = this.#sessions.get(session);
    if (!s) throw ckr(CKR_SESSION_HANDLE_INVALID);
    return s;
  }

  /** The session's device; a session outliving its device answers CKR_DEVICE_REMOVED until closed. */
  #provider(s: AttachedSession): TokenProvider {
    const provider = this.#registry.get(s.slot);
    if (!provider) {
      this.#logins.delete(s.slot);
      throw ckr(CKR_DEVICE_REMOVED, 'the device of this session was removed');
    }
    return provider;
  }

  #state(s: AttachedSession): number {
    const login = this.#logins.get(s.slot);
    if (login === 'so') return CKS_RW_SO_FUNCTIONS;
    if (login === 'user') return s.readWrite ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    return s.readWrite ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
  }

  async #logout(slot: number): Promise<void> {
    if (!this.#logins.delete(slot)) return;
    for (const [ref, key] of this.#sessionKeys) {
      if (key.slot === slot && toMap(key.attributes).get(CKA_PRIVATE) === true) this.#dropSessionKey(ref, key);
    }
    for (const s of this.#sessions.values()) {
      if (s.slot !== slot) continue;
      delete s.sign;
      delete s.decrypt;
      delete s.find;
    }
    await this.#registry.get(slot)?.logout();
  }

  async #visible(s: AttachedSession): Promise<readonly ProviderObject[]> {
    const loggedIn = this.#logins.get(s.slot) === 'user';
    const objects = [...await this.#provider(s).objects(), ...[...this.#sessionKeys.values()].filter((k) => k.slot === s.slot)];
    return objects.filter((o) => loggedIn || toMap(o.attributes).get(CKA_PRIVATE) !== true);
  }

  async #object(s: AttachedSession, handle: unknown, invalid: number): Promise<ProviderObject> {
    const h = handleArg(handle, 'object');
    const ref = this.#handles.get(h);
    if (!ref || ref.slot !== s.slot) throw ckr(invalid, `no object ${h} on this device`);
    const object = (await this.#visible(s)).find((o) => o.ref === ref.ref);
    if (!object) throw ckr(invalid, `object ${h} is not visible now`);
    return object;
  }

  #handleFor(slot: number, ref: string): number {
    const key = `${slot}:${ref}`;
    let handle = this.#handleOf.get(key);
    if (handle === undefined) {
      handle = this.#newObjectHandle();
      this.#handleOf.set(key, handle);
      this.#handles.set(handle, { slot, ref });
    }
    return handle;
  }
}

/** The key type each signing mechanism a card may offer works with. */
const SIGNING_KEY_TYPE = new Map<number, number>([
  ...[CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512].map((m): [number, number] => [m, CKK_EC]),
  ...[CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS].map((m): [number, number] => [m, CKK_RSA]),
]);

/** Mechanisms that sign a digest or a block the caller prepared: one part only. */
const SINGLE_PART = new Set([CKM_ECDSA, CKM_RSA_PKCS]);

function asTemplate(values: AttributeMap): Attribute[] {
  return [...values].map(([type, value]) => ({ type, value }));
}

function toMap(attributes: readonly Attribute[]): AttributeMap {
  const map: AttributeMap = new Map();
  for (const a of attributes) if (a.value !== undefined) map.set(a.type, a.value);
  return map;
}

function pinFlags(left: number | undefined, max: number | undefined): number {
  if (left === undefined) return 0;
  if (left === 0) return CKF_USER_PIN_LOCKED;
  let flags = left === 1 ? CKF_USER_PIN_FINAL_TRY : 0;
  if (max !== undefined && left < max) flags |= CKF_USER_PIN_COUNT_LOW;
  return flags;
}
