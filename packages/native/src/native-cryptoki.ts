/** NativeCryptoki: the vhsm C_ interface (CONTRACT.md) over a native PKCS#11 module, through pkcs11js. */
import { webcrypto } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type * as P from 'pkcs11js';
import {
  CKF_CLOCK_ON_TOKEN,
  CKR_ARGUMENTS_BAD,
  CKR_BUFFER_TOO_SMALL,
  CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_FUNCTION_NOT_SUPPORTED,
  CKR_GENERAL_ERROR,
  CKR_SIGNATURE_INVALID,
  CKR_SIGNATURE_LEN_RANGE,
  Pkcs11Error,
  attributeKind,
} from '@vhsm/pkcs11';
import type {
  Attribute,
  AttributeValue,
  CryptokiApi,
  KeyPair,
  Mechanism,
  MechanismInfo,
  ModuleInfo,
  SessionInfo,
  SlotInfo,
  Template,
  TokenInfo,
} from '@vhsm/pkcs11';
import {
  copyBytes,
  decodeHandle,
  decodeValue,
  encodeHandle,
  encodeMechanism,
  emptyBuffer,
  encodeTemplate,
  isTypeError,
  toBuffer,
  toPkcs11Error,
  ulongToNumber,
} from './codec.js';

export interface NativeCryptokiOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  library: string;
  /** Passed to the module's C_Initialize (CK_C_INITIALIZE_ARGS flags, or NSS library parameters). */
  initArgs?: { flags?: number; libraryParameters?: string };
}

/** First guesses for output sizes; a module that needs more answers CKR_BUFFER_TOO_SMALL and we retry. */
const OUTPUT_SLACK = 1024;
const MAX_OUTPUT = 1 << 30;

/** PKCS#11 token labels are exactly 32 bytes, blank padded; pkcs11js passes the string as given. */
const LABEL_SIZE = 32;

function paddedLabel(label: unknown, method: string): string {
  if (typeof label !== 'string') throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'label must be a string');
  const size = Buffer.byteLength(label, 'utf8');
  if (size > LABEL_SIZE) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, `label: at most ${LABEL_SIZE} bytes, got ${size}`);
  return label + ' '.repeat(LABEL_SIZE - size);
}

function pinString(pin: unknown, method: string): string {
  if (typeof pin !== 'string') throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'PIN must be a string');
  return pin;
}

/** Handles asked for by C_FindObjects when the caller names no maximum. */
const FIND_BATCH = 1024;

/** CK_INFO, CK_SLOT_INFO and CK_TOKEN_INFO strings are blank padded in C; the contract's are not. */
function trimmed(s: string): string {
  return s.replace(/[ \0]+$/, '');
}

const scratch = new Uint8Array(1);

/**
 * A module linked against the same libcrypto as Node (SoftHSM2 with Debian's node) can leave
 * errors on this thread's OpenSSL error queue, e.g. after a failed RSA verification. Node's
 * WebCrypto then finds them after its next AES job and aborts the process (CHECK errors->Empty()).
 * A synchronous random fill goes through Node's entropy check, which empties the queue.
 */
function clearOpenSslErrors(): void {
  webcrypto.getRandomValues(scratch);
}

function isRv(e: unknown, code: number): boolean {
  return e instanceof Pkcs11Error && e.code === code;
}

export class NativeCryptoki implements CryptokiApi {
  readonly library: string;
  readonly #initArgs: NativeCryptokiOptions['initArgs'];
  /** Loaded at the first C_Initialize and never unloaded: unloading SoftHSM2 (OpenSSL) can crash the process. */
  #module: P.PKCS11 | undefined;

  constructor(options: NativeCryptokiOptions) {
    if (typeof options?.library !== 'string' || options.library === '') {
      throw new Pkcs11Error(CKR_ARGUMENTS_BAD, 'NativeCryptoki', 'options.library must be the path of a PKCS#11 module');
    }
    this.library = options.library;
    this.#initArgs = options.initArgs;
  }

  /** Runs one pkcs11js call; anything it throws becomes a Pkcs11Error of `method`. */
  #run<T>(method: string, fn: (m: P.PKCS11) => T): T {
    const m = this.#module;
    if (m === undefined) throw new Pkcs11Error(CKR_CRYPTOKI_NOT_INITIALIZED, method);
    try {
      return fn(m);
    } catch (e) {
      throw toPkcs11Error(e, method);
    } finally {
      clearOpenSslErrors();
    }
  }

  /**
   * Calls a pkcs11js function that writes into a caller buffer, growing the buffer while the module
   * answers CKR_BUFFER_TOO_SMALL (which, per the spec, leaves the operation active).
   */
  #output(method: string, guess: number, fn: (m: P.PKCS11, out: Buffer) => Buffer): Uint8Array {
    for (let size = Math.max(guess, 16); ; size *= 2) {
      try {
        return copyBytes(this.#run(method, (m) => fn(m, Buffer.alloc(size))));
      } catch (e) {
        if (!isRv(e, CKR_BUFFER_TOO_SMALL) || size >= MAX_OUTPUT) throw e;
      }
    }
  }

  /** C_Verify / C_VerifyFinal: a bad signature is an answer (false), not a failure. */
  #verify(method: string, fn: (m: P.PKCS11) => boolean): boolean {
    try {
      return this.#run(method, fn);
    } catch (e) {
      if (isRv(e, CKR_SIGNATURE_INVALID) || isRv(e, CKR_SIGNATURE_LEN_RANGE)) return false;
      throw e;
    }
  }

  // --- General purpose -------------------------------------------------------------------------

  async C_Initialize(): Promise<void> {
    if (this.#module === undefined) {
      const m = new pkcs11js.PKCS11();
      try {
        m.load(this.library);
      } catch (e) {
        throw new Pkcs11Error(CKR_GENERAL_ERROR, 'C_Initialize', `cannot load ${this.library}: ${(e as Error).message}`);
      }
      this.#module = m;
    }
    const initArgs = this.#initArgs;
    this.#run('C_Initialize', (m) => (initArgs === undefined ? m.C_Initialize() : m.C_Initialize(initArgs)));
  }

  async C_Finalize(): Promise<void> {
    this.#run('C_Finalize', (m) => m.C_Finalize());
  }

  async C_GetInfo(): Promise<ModuleInfo> {
    return this.#run('C_GetInfo', (m) => {
      const info = m.C_GetInfo();
      return {
        cryptokiVersion: info.cryptokiVersion,
        manufacturerID: trimmed(info.manufacturerID),
        flags: info.flags,
        libraryDescription: trimmed(info.libraryDescription),
        libraryVersion: info.libraryVersion,
      };
    });
  }

  // --- Slots and tokens ------------------------------------------------------------------------

  async C_GetSlotList(tokenPresent?: boolean): Promise<number[]> {
    return this.#run('C_GetSlotList', (m) =>
      (tokenPresent === undefined ? m.C_GetSlotList() : m.C_GetSlotList(tokenPresent)).map(decodeHandle),
    );
  }

  async C_GetSlotInfo(slot: number): Promise<SlotInfo> {
    return this.#run('C_GetSlotInfo', (m) => {
      const info = m.C_GetSlotInfo(encodeHandle(slot, 'C_GetSlotInfo', 'slot'));
      return {
        slotDescription: trimmed(info.slotDescription),
        manufacturerID: trimmed(info.manufacturerID),
        flags: info.flags,
        hardwareVersion: info.hardwareVersion,
        firmwareVersion: info.firmwareVersion,
      };
    });
  }

  async C_GetTokenInfo(slot: number): Promise<TokenInfo> {
    return this.#run('C_GetTokenInfo', (m) => {
      const info = m.C_GetTokenInfo(encodeHandle(slot, 'C_GetTokenInfo', 'slot'));
      // pkcs11js gives the memory sizes as BigInts (CK_UNAVAILABLE_INFORMATION does not fit a uint32).
      const memory = (n: number | bigint): number => ulongToNumber(n);
      return {
        label: trimmed(info.label),
        manufacturerID: trimmed(info.manufacturerID),
        model: trimmed(info.model),
        serialNumber: trimmed(info.serialNumber),
        flags: info.flags,
        maxSessionCount: info.maxSessionCount,
        sessionCount: info.sessionCount,
        maxRwSessionCount: info.maxRwSessionCount,
        rwSessionCount: info.rwSessionCount,
        maxPinLen: info.maxPinLen,
        minPinLen: info.minPinLen,
        totalPublicMemory: memory(info.totalPublicMemory),
        freePublicMemory: memory(info.freePublicMemory),
        totalPrivateMemory: memory(info.totalPrivateMemory),
        freePrivateMemory: memory(info.freePrivateMemory),
        hardwareVersion: info.hardwareVersion,
        firmwareVersion: info.firmwareVersion,
        // Only meaningful with a clock; SoftHSM2 fills it in regardless.
        utcTime: (info.flags & CKF_CLOCK_ON_TOKEN) !== 0 ? info.utcTime : '',
      };
    });
  }

  async C_GetMechanismList(slot: number): Promise<number[]> {
    return this.#run('C_GetMechanismList', (m) => m.C_GetMechanismList(encodeHandle(slot, 'C_GetMechanismList', 'slot')));
  }

  async C_GetMechanismInfo(slot: number, type: number): Promise<MechanismInfo> {
    return this.#run('C_GetMechanismInfo', (m) =>
      m.C_GetMechanismInfo(encodeHandle(slot, 'C_GetMechanismInfo', 'slot'), type),
    );
  }

  async C_InitToken(slot: number, soPin: string, label: string): Promise<void> {
    const method = 'C_InitToken';
    this.#run(method, (m) => {
      m.C_InitToken(encodeHandle(slot, method, 'slot'), pinString(soPin, method), paddedLabel(label, method));
    });
  }

  async C_InitPIN(session: number, pin: string): Promise<void> {
    const method = 'C_InitPIN';
    this.#run(method, (m) => m.C_InitPIN(encodeHandle(session, method, 'session'), pinString(pin, method)));
  }

  async C_SetPIN(session: number, oldPin: string, newPin: string): Promise<void> {
    const method = 'C_SetPIN';
    this.#run(method, (m) =>
      m.C_SetPIN(encodeHandle(session, method, 'session'), pinString(oldPin, method), pinString(newPin, method)),
    );
  }

  // --- Sessions --------------------------------------------------------------------------------

  async C_OpenSession(slot: number, flags: number): Promise<number> {
    return this.#run('C_OpenSession', (m) =>
      decodeHandle(m.C_OpenSession(encodeHandle(slot, 'C_OpenSession', 'slot'), flags)),
    );
  }

  async C_CloseSession(session: number): Promise<void> {
    this.#run('C_CloseSession', (m) => m.C_CloseSession(encodeHandle(session, 'C_CloseSession', 'session')));
  }

  async C_CloseAllSessions(slot: number): Promise<void> {
    this.#run('C_CloseAllSessions', (m) => m.C_CloseAllSessions(encodeHandle(slot, 'C_CloseAllSessions', 'slot')));
  }

  async C_GetSessionInfo(session: number): Promise<SessionInfo> {
    return this.#run('C_GetSessionInfo', (m) => {
      const info = m.C_GetSessionInfo(encodeHandle(session, 'C_GetSessionInfo', 'session'));
      return { slotID: decodeHandle(info.slotID), state: info.state, flags: info.flags, deviceError: info.deviceError };
    });
  }

  /**
   * Without a PIN, pkcs11js cannot pass NULL_PTR: the module receives an empty PIN. Modules with a
   * protected authentication path (a PIN pad) that test for NULL_PTR will not prompt.
   */
  async C_Login(session: number, userType: number, pin?: string): Promise<void> {
    const method = 'C_Login';
    this.#run(method, (m) =>
      m.C_Login(encodeHandle(session, method, 'session'), userType, pin === undefined ? '' : pinString(pin, method)),
    );
  }

  async C_Logout(session: number): Promise<void> {
    this.#run('C_Logout', (m) => m.C_Logout(encodeHandle(session, 'C_Logout', 'session')));
  }

  // --- Objects ---------------------------------------------------------------------------------

  async C_CreateObject(session: number, template: Template): Promise<number> {
    const method = 'C_CreateObject';
    return this.#run(method, (m) =>
      decodeHandle(m.C_CreateObject(encodeHandle(session, method, 'session'), encodeTemplate(template, method, true))),
    );
  }

  async C_CopyObject(session: number, object: number, template: Template): Promise<number> {
    const method = 'C_CopyObject';
    return this.#run(method, (m) =>
      decodeHandle(
        m.C_CopyObject(
          encodeHandle(session, method, 'session'),
          encodeHandle(object, method, 'object'),
          encodeTemplate(template, method, true),
        ),
      ),
    );
  }

  async C_DestroyObject(session: number, object: number): Promise<void> {
    const method = 'C_DestroyObject';
    this.#run(method, (m) => m.C_DestroyObject(encodeHandle(session, method, 'session'), encodeHandle(object, method, 'object')));
  }

  async C_GetAttributeValue(session: number, object: number, template: Template): Promise<Attribute[]> {
    const method = 'C_GetAttributeValue';
    return this.#run(method, (m) => {
      const s = encodeHandle(session, method, 'session');
      const o = encodeHandle(object, method, 'object');
      const request = encodeTemplate(template, method, false);
      for (const { type } of request) {
        // pkcs11js hands nested templates to the module without buffers for their values.
        if (attributeKind(type) === 'attributes') {
          throw new Pkcs11Error(CKR_FUNCTION_NOT_SUPPORTED, method, 'nested templates cannot be read through pkcs11js');
        }
      }
      return this.#getAttributes(m, s, o, request);
    });
  }

  /**
   * pkcs11js throws a TypeError when a date attribute is not 8 bytes long, which it is not when the
   * date is empty (the default of CKA_START_DATE / CKA_END_DATE). Then each date is read alone, and
   * one that pkcs11js refuses that way is an empty value.
   */
  #getAttributes(m: P.PKCS11, session: Buffer, object: Buffer, request: P.Template): Attribute[] {
    // pkcs11js writes the values into the template it is given: give it a fresh one each time.
    const get = (types: P.Template): P.Attribute[] =>
      m.C_GetAttributeValue(session, object, types.map(({ type }) => ({ type })));
    const decode = (result: P.Attribute[]): { type: number; value: AttributeValue }[] =>
      result.map(({ type, value }) => {
        if (!Buffer.isBuffer(value)) throw new Pkcs11Error(CKR_GENERAL_ERROR, 'C_GetAttributeValue', 'module returned no value');
        return { type, value: decodeValue(type, value) };
      });
    try {
      return decode(get(request));
    } catch (e) {
      const dates = request.filter(({ type }) => attributeKind(type) === 'date');
      if (!isTypeError(e) || dates.length === 0) throw e;
    }
    const others = request.filter(({ type }) => attributeKind(type) !== 'date');
    const values = new Map<number, AttributeValue>();
    if (others.length > 0) {
      for (const attr of decode(get(others))) values.set(attr.type, attr.value);
    }
    for (const { type } of request) {
      if (values.has(type)) continue;
      try {
        const [attr] = decode(get([{ type }]));
        if (attr?.value !== undefined) values.set(type, attr.value);
      } catch (e) {
        if (!isTypeError(e)) throw e;
        values.set(type, new Uint8Array(0));
      }
    }
    return request.map(({ type }) => {
      const value = values.get(type);
      if (value === undefined) throw new Pkcs11Error(CKR_GENERAL_ERROR, 'C_GetAttributeValue', 'module returned no value');
      return { type, value };
    });
  }

  async C_SetAttributeValue(session: number, object: number, template: Template): Promise<void> {
    const method = 'C_SetAttributeValue';
    this.#run(method, (m) =>
      m.C_SetAttributeValue(
        encodeHandle(session, method, 'session'),
        encodeHandle(object, method, 'object'),
        encodeTemplate(template, method, true),
      ),
    );
  }

  async C_FindObjectsInit(session: number, template: Template): Promise<void> {
    const method = 'C_FindObjectsInit';
    this.#run(method, (m) => m.C_FindObjectsInit(encodeHandle(session, method, 'session'), encodeTemplate(template, method, true)));
  }

  async C_FindObjects(session: number, max = FIND_BATCH): Promise<number[]> {
    const method = 'C_FindObjects';
    if (!Number.isSafeInteger(max) || max < 1) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'max must be a positive integer');
    return this.#run(method, (m) => m.C_FindObjects(encodeHandle(session, method, 'session'), max).map(decodeHandle));
  }

  async C_FindObjectsFinal(session: number): Promise<void> {
    this.#run('C_FindObjectsFinal', (m) => m.C_FindObjectsFinal(encodeHandle(session, 'C_FindObjectsFinal', 'session')));
  }

  // --- Encryption and decryption ---------------------------------------------------------------

  async C_EncryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const method = 'C_EncryptInit';
    this.#run(method, (m) =>
      m.C_EncryptInit(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method), encodeHandle(key, method, 'key')),
    );
  }

  async C_Encrypt(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_Encrypt';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, input.byteLength + OUTPUT_SLACK, (m, out) => m.C_Encrypt(s, input, out));
  }

  async C_EncryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_EncryptUpdate';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, input.byteLength + OUTPUT_SLACK, (m, out) => m.C_EncryptUpdate(s, input, out));
  }

  async C_EncryptFinal(session: number): Promise<Uint8Array> {
    const method = 'C_EncryptFinal';
    const s = encodeHandle(session, method, 'session');
    return this.#output(method, OUTPUT_SLACK, (m, out) => m.C_EncryptFinal(s, out));
  }

  async C_DecryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const method = 'C_DecryptInit';
    this.#run(method, (m) =>
      m.C_DecryptInit(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method), encodeHandle(key, method, 'key')),
    );
  }

  async C_Decrypt(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_Decrypt';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, input.byteLength + OUTPUT_SLACK, (m, out) => m.C_Decrypt(s, input, out));
  }

  async C_DecryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_DecryptUpdate';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, input.byteLength + OUTPUT_SLACK, (m, out) => m.C_DecryptUpdate(s, input, out));
  }

  async C_DecryptFinal(session: number): Promise<Uint8Array> {
    const method = 'C_DecryptFinal';
    const s = encodeHandle(session, method, 'session');
    return this.#output(method, OUTPUT_SLACK, (m, out) => m.C_DecryptFinal(s, out));
  }

  // --- Digests ---------------------------------------------------------------------------------

  async C_DigestInit(session: number, mechanism: Mechanism): Promise<void> {
    const method = 'C_DigestInit';
    this.#run(method, (m) => m.C_DigestInit(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method)));
  }

  async C_Digest(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_Digest';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, 128, (m, out) => m.C_Digest(s, input, out));
  }

  async C_DigestUpdate(session: number, data: Uint8Array): Promise<void> {
    const method = 'C_DigestUpdate';
    this.#run(method, (m) => m.C_DigestUpdate(encodeHandle(session, method, 'session'), toBuffer(data, method, 'data')));
  }

  async C_DigestFinal(session: number): Promise<Uint8Array> {
    const method = 'C_DigestFinal';
    const s = encodeHandle(session, method, 'session');
    return this.#output(method, 128, (m, out) => m.C_DigestFinal(s, out));
  }

  // --- Signatures ------------------------------------------------------------------------------

  async C_SignInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const method = 'C_SignInit';
    this.#run(method, (m) =>
      m.C_SignInit(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method), encodeHandle(key, method, 'key')),
    );
  }

  async C_Sign(session: number, data: Uint8Array): Promise<Uint8Array> {
    const method = 'C_Sign';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    return this.#output(method, OUTPUT_SLACK, (m, out) => m.C_Sign(s, input, out));
  }

  async C_SignUpdate(session: number, data: Uint8Array): Promise<void> {
    const method = 'C_SignUpdate';
    this.#run(method, (m) => m.C_SignUpdate(encodeHandle(session, method, 'session'), toBuffer(data, method, 'data')));
  }

  async C_SignFinal(session: number): Promise<Uint8Array> {
    const method = 'C_SignFinal';
    const s = encodeHandle(session, method, 'session');
    return this.#output(method, OUTPUT_SLACK, (m, out) => m.C_SignFinal(s, out));
  }

  async C_VerifyInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    const method = 'C_VerifyInit';
    this.#run(method, (m) =>
      m.C_VerifyInit(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method), encodeHandle(key, method, 'key')),
    );
  }

  async C_Verify(session: number, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const method = 'C_Verify';
    const s = encodeHandle(session, method, 'session');
    const input = toBuffer(data, method, 'data');
    const sig = toBuffer(signature, method, 'signature');
    return this.#verify(method, (m) => m.C_Verify(s, input, sig));
  }

  async C_VerifyUpdate(session: number, data: Uint8Array): Promise<void> {
    const method = 'C_VerifyUpdate';
    this.#run(method, (m) => m.C_VerifyUpdate(encodeHandle(session, method, 'session'), toBuffer(data, method, 'data')));
  }

  async C_VerifyFinal(session: number, signature: Uint8Array): Promise<boolean> {
    const method = 'C_VerifyFinal';
    const s = encodeHandle(session, method, 'session');
    const sig = toBuffer(signature, method, 'signature');
    return this.#verify(method, (m) => m.C_VerifyFinal(s, sig));
  }

  // --- Keys ------------------------------------------------------------------------------------

  async C_GenerateKey(session: number, mechanism: Mechanism, template: Template): Promise<number> {
    const method = 'C_GenerateKey';
    return this.#run(method, (m) =>
      decodeHandle(
        m.C_GenerateKey(encodeHandle(session, method, 'session'), encodeMechanism(mechanism, method), encodeTemplate(template, method, true)),
      ),
    );
  }

  async C_GenerateKeyPair(
    session: number,
    mechanism: Mechanism,
    publicTemplate: Template,
    privateTemplate: Template,
  ): Promise<KeyPair> {
    const method = 'C_GenerateKeyPair';
    return this.#run(method, (m) => {
      const pair = m.C_GenerateKeyPair(
        encodeHandle(session, method, 'session'),
        encodeMechanism(mechanism, method),
        encodeTemplate(publicTemplate, method, true),
        encodeTemplate(privateTemplate, method, true),
      );
      return { publicKey: decodeHandle(pair.publicKey), privateKey: decodeHandle(pair.privateKey) };
    });
  }

  async C_WrapKey(session: number, mechanism: Mechanism, wrappingKey: number, key: number): Promise<Uint8Array> {
    const method = 'C_WrapKey';
    const s = encodeHandle(session, method, 'session');
    const mech = encodeMechanism(mechanism, method);
    const wrapping = encodeHandle(wrappingKey, method, 'wrappingKey');
    const target = encodeHandle(key, method, 'key');
    return this.#output(method, 4 * OUTPUT_SLACK, (m, out) => m.C_WrapKey(s, mech, wrapping, target, out));
  }

  async C_UnwrapKey(
    session: number,
    mechanism: Mechanism,
    unwrappingKey: number,
    wrapped: Uint8Array,
    template: Template,
  ): Promise<number> {
    const method = 'C_UnwrapKey';
    return this.#run(method, (m) =>
      decodeHandle(
        m.C_UnwrapKey(
          encodeHandle(session, method, 'session'),
          encodeMechanism(mechanism, method),
          encodeHandle(unwrappingKey, method, 'unwrappingKey'),
          toBuffer(wrapped, method, 'wrapped'),
          encodeTemplate(template, method, true),
        ),
      ),
    );
  }

  async C_DeriveKey(session: number, mechanism: Mechanism, baseKey: number, template: Template): Promise<number> {
    const method = 'C_DeriveKey';
    return this.#run(method, (m) =>
      decodeHandle(
        m.C_DeriveKey(
          encodeHandle(session, method, 'session'),
          encodeMechanism(mechanism, method),
          encodeHandle(baseKey, method, 'baseKey'),
          encodeTemplate(template, method, true),
        ),
      ),
    );
  }

  // --- Random numbers --------------------------------------------------------------------------

  async C_GenerateRandom(session: number, length: number): Promise<Uint8Array> {
    const method = 'C_GenerateRandom';
    if (!Number.isSafeInteger(length) || length < 0) throw new Pkcs11Error(CKR_ARGUMENTS_BAD, method, 'length must be a non-negative integer');
    return this.#run(method, (m) => copyBytes(m.C_GenerateRandom(encodeHandle(session, method, 'session'), length === 0 ? emptyBuffer() : Buffer.alloc(length))));
  }
}
