/**
 * Cryptoki: one PKCS#11 application over an Engine. Each C_ function checks its arguments, then the
 * session and login state, then the objects, one thing at a time, and fails early with the precise
 * CK_RV. Crypto lives in mechanism providers; key-management refusals beyond the spec in the policy.
 */
import {
  ckmName, CKA_ALLOWED_MECHANISMS, CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE,
  CKA_DERIVE_TEMPLATE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_PRIVATE,
  CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP, CKA_UNWRAP_TEMPLATE,
  CKA_VERIFY, CKA_WRAP, CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKF_DONT_BLOCK,
  CKF_END_OF_MESSAGE, CKF_DECRYPT, CKF_DIGEST, CKF_ENCRYPT, CKF_FIND_OBJECTS, CKF_MESSAGE_DECRYPT,
  CKF_MESSAGE_ENCRYPT, CKF_MESSAGE_SIGN, CKF_MESSAGE_VERIFY, CKF_RW_SESSION, CKF_SERIAL_SESSION,
  CKF_SIGN, CKF_TOKEN_PRESENT, CKF_VERIFY, CKG_GENERATE, CKG_GENERATE_COUNTER, CKG_GENERATE_RANDOM,
  CKG_NO_GENERATE, CKK_GENERIC_SECRET, CKM_AES_GCM,
  CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_ATTRIBUTE_TYPE_INVALID, CKR_CRYPTOKI_ALREADY_INITIALIZED, CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_FUNCTION_FAILED, CKR_FUNCTION_NOT_PARALLEL, CKR_FUNCTION_NOT_SUPPORTED, CKR_GENERAL_ERROR,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_INDIGESTIBLE,
  CKR_KEY_NOT_WRAPPABLE, CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_UNEXTRACTABLE, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_NO_EVENT, CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_ACTIVE,
  CKR_OPERATION_NOT_INITIALIZED, CKR_PIN_LEN_RANGE, CKR_RANDOM_SEED_NOT_SUPPORTED,
  CKR_SESSION_CLOSED, CKR_SESSION_EXISTS, CKR_SESSION_HANDLE_INVALID,
  CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_READ_ONLY, CKR_SESSION_READ_ONLY_EXISTS,
  CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_SLOT_ID_INVALID, CKR_TEMPLATE_INCOMPLETE,
  CKR_TEMPLATE_INCONSISTENT, CKR_TOKEN_NOT_RECOGNIZED, CKR_UNWRAPPING_KEY_HANDLE_INVALID,
  CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, CKR_USER_ALREADY_LOGGED_IN,
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN, CKR_USER_TYPE_INVALID,
  CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_TYPE_INCONSISTENT, CKR_OK,
  CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER, CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION,
  Pkcs11Error, CKM_AES_KEY_GEN, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
  CKM_GENERIC_SECRET_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_AES, CKK_EC, CKK_EC_EDWARDS, CKK_RSA,
  CKA_COPYABLE, CKA_DESTROYABLE, CKR_ACTION_PROHIBITED, CKR_PIN_INVALID,
} from '@vhsm/pkcs11';
import type {
  Attribute, AttributeValue, CryptokiApiV3, EncryptMessageResult, GcmMessageParams, InterfaceInfo,
  KeyPair, Mechanism, MechanismInfo, MessageParameter, ModuleInfo, SessionInfo, SlotInfo, Template,
  TokenInfo, Version,
} from '@vhsm/pkcs11';
import { accessCheck, canSee } from './access.js';
import { AttachedSlots } from './attached.js';
import { bytesArg, handleArg, mechanismArg, stringArg, ulongArg } from './args.js';
import { buildAttributes, changeAttributes, isKeyClass, isKnownKeyType, readability, secretTypes } from './attributes/rules.js';
import { copyValue, normalizeTemplate, templateEntries, valuesEqual } from './attributes/values.js';
import type { AttributeMap } from './attributes/values.js';
import { concat, hex } from './bytes.js';
import { Engine, MAX_PIN_LENGTH, MIN_PIN_LENGTH } from './engine.js';
import type { EngineOptions } from './engine.js';
import { CkrError, ckr } from './errors.js';
import { enrollUserFactor, isFactorPin, listUserFactors, removeUserFactor, resetUser, verifyUser } from './factors.js';
import type { FactorInfo, UserFactor } from './factors.js';
import { EngineObject, keyAccess, objectKind } from './objects.js';
import type { KeyUse } from './policy/policy.js';
import type {
  CipherOperation, DigestOperation, KeyAccess, MechanismProvider, NewKeyMaterial, SignOperation,
  VerifyOperation,
} from './mechanisms/types.js';
import type { MechanismRegistry } from './mechanisms/registry.js';
import { encodeAttributes } from './sealing.js';
import { packAttributes, unpackAttributes } from './attribute-codec.js';
import type { SealAad } from './sealing.js';
import { Session } from './session.js';
import type { ActiveOperation, OperationKind } from './session.js';
import type { ObjectRecord, StoredMaterial } from './store.js';
import { pinAad, publicAttributesAad, tokenKeyCheckAad } from './token.js';
import type { PinOwner, TokenState } from './token.js';
import type { TokenProvider } from './provider.js';

export interface CryptokiOptions extends EngineOptions {
  /** Join an existing engine (another application on the same tokens) instead of making one. */
  engine?: Engine;
}

const LIBRARY_VERSION: Version = { major: 0, minor: 1 };
const CRYPTOKI_VERSION: Version = { major: 3, minor: 0 };
const MAX_RANDOM_BYTES = 1 << 20;
/** Private objects unsealed concurrently by a find. */
const UNSEAL_BATCH = 64;

interface ObjectRef {
  slot: number;
  id: number;
  token: boolean;
}

interface FindOperation extends ActiveOperation {
  results: number[];
}
interface CipherOp extends ActiveOperation {
  cipher?: CipherOperation;
}
interface SignOp extends ActiveOperation {
  signer?: SignOperation;
}
interface VerifyOp extends ActiveOperation {
  verifier?: VerifyOperation;
}
interface DigestOp extends ActiveOperation {
  digest?: DigestOperation;
}
interface MessageOp extends ActiveOperation {
  provider?: MechanismProvider;
  key?: KeyAccess;
  mechanism?: Mechanism;
  /** A multi-part message in progress (Begin…Next). */
  part?: { parameter: MessageParameter; associatedData: Uint8Array; chunks: Uint8Array[] } | undefined;
  /** CKA_ALWAYS_AUTHENTICATE key: every message needs its own context-specific login. */
  alwaysAuthenticate?: boolean;
}

export class Cryptoki implements CryptokiApiV3 {
  readonly engine: Engine;
  #initialized = false;
  readonly #sessions = new Map<number, Session>();
  #nextSessionHandle = 1;
  readonly #handles = new Map<number, ObjectRef>();
  /** Handles by slot and kind (slot * 2 + token), then object id: number keys, no string built per lookup. */
  readonly #handleOf = new Map<number, Map<number, number>>();
  #nextObjectHandle = 1;
  readonly #sessionObjects = new Map<number, EngineObject>();
  #registry: MechanismRegistry | undefined;
  #sessionKey: CryptoKey | undefined;
  /** Sessions and logins of this application on device slots (attachToken). */
  readonly #attached: AttachedSlots;

  constructor(options: CryptokiOptions = {}) {
    try {
      this.engine = options.engine ?? new Engine(options);
    } catch (e) {
      throw toPkcs11Error(e, 'Cryptoki');
    }
    this.#attached = new AttachedSlots(this.engine.attached, () => this.#nextSessionHandle++, () => this.#nextObjectHandle++);
  }

  /** Attach a device (a TokenProvider from @vhsm/bridge) as a new slot of this engine; resolves to the slot id. */
  attachToken(provider: TokenProvider): Promise<number> {
    return this.#run('attachToken', async () => {
      if (typeof provider !== 'object' || provider === null || typeof provider.on !== 'function') throw ckr(CKR_ARGUMENTS_BAD, 'provider: expected a TokenProvider');
      return this.engine.attached.attach(provider);
    }, false);
  }

  /**
   * Enrol a login factor for the user (a security key's PRF output, see factors.ts): the user is
   * logged in on this application and the session is read/write. Afterwards C_Login(CKU_USER,
   * factorPin(id, secret)) logs the user in as the PIN does. The same id replaces its factor.
   */
  enrollUserFactor(session: number, factor: UserFactor): Promise<void> {
    return this.#run('enrollUserFactor', async () => {
      const token = this.#userWrite(session);
      await token.exclusive(async () => {
        await token.sync();
        if (token.logins.get(this) !== 'user') throw ckr(CKR_USER_NOT_LOGGED_IN);
        await enrollUserFactor(this.engine, token, factor);
      });
    });
  }

  removeUserFactor(session: number, id: Uint8Array): Promise<void> {
    return this.#run('removeUserFactor', async () => {
      const token = this.#userWrite(session);
      await token.exclusive(() => removeUserFactor(this.engine, token, id));
    });
  }

  /** The enrolled factors' credential ids and PRF salts (neither is secret): what a client needs to ask the key. */
  listUserFactors(slot: number): Promise<FactorInfo[]> {
    return this.#run('listUserFactors', async () => {
      const token = this.#token(slot);
      await token.sync();
      return listUserFactors(token.record);
    });
  }

  // ---------------------------------------------------------------- general purpose (§5.4)

  C_Initialize(): Promise<void> {
    return this.#run('C_Initialize', async () => {
      if (this.#initialized) throw ckr(CKR_CRYPTOKI_ALREADY_INITIALIZED);
      const { registry, sessionKey } = await this.engine.ready();
      this.#registry = registry;
      this.#sessionKey = sessionKey;
      await Promise.all(this.engine.tokens.map((t) => t.sync()));
      this.#initialized = true;
    }, false);
  }

  C_Finalize(): Promise<void> {
    return this.#run('C_Finalize', async () => {
      await this.#attached.finalize();
      for (const token of this.engine.tokens) this.#closeAll(token);
      this.#handles.clear();
      this.#handleOf.clear();
      this.#initialized = false;
    });
  }

  C_GetInfo(): Promise<ModuleInfo> {
    return this.#run('C_GetInfo', async () => ({
      cryptokiVersion: { ...CRYPTOKI_VERSION },
      manufacturerID: 'vhsm',
      flags: 0,
      libraryDescription: 'vhsm virtual HSM on WebCrypto',
      libraryVersion: { ...LIBRARY_VERSION },
    }));
  }

  C_GetInterfaceList(): Promise<InterfaceInfo[]> {
    return this.#run('C_GetInterfaceList', async () => INTERFACES.map((i) => ({ ...i, version: { ...i.version } })), false);
  }

  C_GetInterface(name?: string, version?: Version, flags?: number): Promise<InterfaceInfo> {
    return this.#run('C_GetInterface', async () => {
      if (name !== undefined) stringArg(name, 'name');
      if (flags !== undefined) ulongArg(flags, 'flags');
      const found = INTERFACES.find((i) => (name === undefined || i.name === name)
        && (version === undefined || (i.version.major === version?.major && i.version.minor === version.minor))
        && ((flags ?? 0) & ~i.flags) === 0);
      if (!found) throw ckr(CKR_ARGUMENTS_BAD, 'no such interface');
      return { ...found, version: { ...found.version } };
    }, false);
  }

  C_GetFunctionStatus(session: number): Promise<void> {
    return this.#run('C_GetFunctionStatus', async () => {
      this.#session(session);
      throw ckr(CKR_FUNCTION_NOT_PARALLEL);
    });
  }

  C_CancelFunction(session: number): Promise<void> {
    return this.#run('C_CancelFunction', async () => {
      this.#session(session);
      throw ckr(CKR_FUNCTION_NOT_PARALLEL);
    });
  }

  // ---------------------------------------------------------------- slots and tokens (§5.5)

  C_GetSlotList(tokenPresent?: boolean): Promise<number[]> {
    return this.#run('C_GetSlotList', async () => {
      if (tokenPresent !== undefined && typeof tokenPresent !== 'boolean') throw ckr(CKR_ARGUMENTS_BAD, 'tokenPresent: expected a boolean');
      return [...this.engine.tokens.map((t) => t.slot), ...this.engine.attached.slots()];
    });
  }

  C_GetSlotInfo(slot: number): Promise<SlotInfo> {
    return this.#run('C_GetSlotInfo', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.slotInfo(slot);
      const token = this.#token(slot);
      return {
        slotDescription: `vhsm virtual slot ${token.slot}`,
        manufacturerID: 'vhsm',
        flags: CKF_TOKEN_PRESENT,
        hardwareVersion: { major: 0, minor: 0 },
        firmwareVersion: { ...LIBRARY_VERSION },
      };
    });
  }

  C_GetTokenInfo(slot: number): Promise<TokenInfo> {
    return this.#run('C_GetTokenInfo', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.tokenInfo(slot);
      const token = this.#token(slot);
      await token.sync();
      return {
        label: token.record?.label ?? '',
        manufacturerID: 'vhsm',
        model: 'vhsm WebCrypto',
        serialNumber: token.record?.serialNumber ?? '',
        flags: token.flags(),
        maxSessionCount: CK_EFFECTIVELY_INFINITE,
        sessionCount: token.openSessions.all,
        maxRwSessionCount: CK_EFFECTIVELY_INFINITE,
        rwSessionCount: token.openSessions.readWrite,
        maxPinLen: MAX_PIN_LENGTH,
        minPinLen: MIN_PIN_LENGTH,
        totalPublicMemory: CK_UNAVAILABLE_INFORMATION,
        freePublicMemory: CK_UNAVAILABLE_INFORMATION,
        totalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
        freePrivateMemory: CK_UNAVAILABLE_INFORMATION,
        hardwareVersion: { major: 0, minor: 0 },
        firmwareVersion: { ...LIBRARY_VERSION },
        utcTime: '',
      };
    });
  }

  C_WaitForSlotEvent(flags?: number): Promise<number | null> {
    return this.#run('C_WaitForSlotEvent', async () => {
      const f = flags === undefined ? 0 : ulongArg(flags, 'flags');
      // Virtual tokens are never inserted or removed; attached devices come and go.
      if (f & CKF_DONT_BLOCK) return this.#attached.nextEvent() ?? null;
      throw ckr(CKR_NO_EVENT, 'virtual slots have no events; pass CKF_DONT_BLOCK');
    });
  }

  C_GetMechanismList(slot: number): Promise<number[]> {
    return this.#run('C_GetMechanismList', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.mechanismList(slot);
      this.#token(slot);
      return this.#mechanisms().list();
    });
  }

  C_GetMechanismInfo(slot: number, type: number): Promise<MechanismInfo> {
    return this.#run('C_GetMechanismInfo', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.mechanismInfo(slot, type);
      this.#token(slot);
      const provider = this.#mechanisms().get(ulongArg(type, 'type'));
      if (!provider) throw ckr(CKR_MECHANISM_INVALID, `${ckmName(type)} is not supported here`);
      return { ...provider.info, flags: provider.info.flags | messageFlags(provider) };
    });
  }

  C_InitToken(slot: number, soPin: string, label: string): Promise<void> {
    return this.#run('C_InitToken', async () => {
      const token = this.#token(slot);
      pinArg(soPin, 'soPin');
      const labelText = labelArg(label);
      await token.exclusive(async () => {
        await token.sync();
        if (token.openSessions.all > 0 || token.logins.size > 0) {
          throw ckr(CKR_SESSION_EXISTS, 'close every session of this token first');
        }
        const sealer = this.engine.sealer;
        if (token.record) await token.verifyPin('so', soPin);
        const deviceKey = await sealer.newDeviceKey();
        const tokenKey = await sealer.newTokenKey();
        const tokenId = hex(sealer.randomBytes(16));
        const policy = this.engine.policyName;
        const { record: so } = await token.newPinRecord(soPin, tokenKey, { deviceKey, tokenId, policy }, 'so', false);
        const tokenKeyCheck = await sealer.sealBytes(tokenKey, new Uint8Array(), tokenKeyCheckAad(tokenId, policy));
        await token.commit({
          token: {
            slot: token.slot, tokenId, label: labelText, serialNumber: tokenId.slice(0, 16).toUpperCase(),
            policy, deviceKey, so, tokenKeyCheck, generation: 0,
          },
          wipeObjects: true,
        });
        token.lock();
        await token.sync();
      });
    });
  }

  C_InitPIN(session: number, pin: string): Promise<void> {
    return this.#run('C_InitPIN', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      if (token.logins.get(this) !== 'so') throw ckr(CKR_USER_NOT_LOGGED_IN, 'C_InitPIN needs the SO logged in');
      pinArg(pin, 'pin');
      await token.exclusive(async () => {
        const record = token.record;
        const soKey = token.pinKeys.get('so');
        if (!record || !soKey) throw ckr(CKR_USER_NOT_LOGGED_IN);
        const tk = await this.engine.sealer.openTokenKey({ iv: record.so.iv, data: record.so.sealedTokenKey }, soKey,
          record.deviceKey, pinAad(record.tokenId, 'so', record.policy), true);
        if (!tk) throw ckr(CKR_GENERAL_ERROR, 'the SO record no longer opens');
        const { record: user } = await token.newPinRecord(pin, tk, record, 'user', true);
        await resetUser(this.engine, token, user);
      });
    });
  }

  C_SetPIN(session: number, oldPin: string, newPin: string): Promise<void> {
    return this.#run('C_SetPIN', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.setPin(session, oldPin, newPin);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      stringArg(oldPin, 'oldPin');
      pinArg(newPin, 'newPin');
      if (!s.readWrite) throw ckr(CKR_SESSION_READ_ONLY, 'C_SetPIN needs a read/write session');
      const owner: PinOwner = token.logins.get(this) === 'so' ? 'so' : 'user';
      await token.exclusive(async () => {
        const { tokenKey } = await token.verifyPin(owner, oldPin, true);
        const record = token.record;
        if (!record) throw ckr(CKR_TOKEN_NOT_RECOGNIZED);
        const { record: pinRecord, pinKey } = await token.newPinRecord(newPin, tokenKey, record, owner, false);
        await token.setPinRecord(owner, pinRecord);
        // C_InitPIN re-opens TK with the SO's KEK: it must be the new PIN's from now on.
        if (token.pinKeys.has(owner)) token.pinKeys.set(owner, pinKey);
      });
    });
  }

  // ---------------------------------------------------------------- sessions (§5.6)

  C_OpenSession(slot: number, flags: number): Promise<number> {
    return this.#run('C_OpenSession', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.openSession(slot, flags);
      const token = this.#token(slot);
      ulongArg(flags, 'flags');
      if (!(flags & CKF_SERIAL_SESSION)) throw ckr(CKR_SESSION_PARALLEL_NOT_SUPPORTED, 'CKF_SERIAL_SESSION must be set');
      await token.sync();
      if (!token.initialized) throw ckr(CKR_TOKEN_NOT_RECOGNIZED, 'the token is not initialized (C_InitToken)');
      if (!(flags & CKF_RW_SESSION) && token.logins.get(this) === 'so') {
        throw ckr(CKR_SESSION_READ_WRITE_SO_EXISTS, 'the SO is logged in: only read/write sessions');
      }
      const handle = this.#nextSessionHandle++;
      const session = new Session(handle, token.slot, flags & (CKF_RW_SESSION | CKF_SERIAL_SESSION));
      this.#sessions.set(handle, session);
      token.openSessions.all++;
      if (session.readWrite) token.openSessions.readWrite++;
      return handle;
    });
  }

  C_CloseSession(session: number): Promise<void> {
    return this.#run('C_CloseSession', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.closeSession(session);
      const s = this.#session(session);
      this.#closeSession(s);
    });
  }

  C_CloseAllSessions(slot: number): Promise<void> {
    return this.#run('C_CloseAllSessions', async () => {
      if (this.engine.attached.owns(slot)) return this.#attached.closeAll(slot);
      this.#closeAll(this.#token(slot));
    });
  }

  C_GetSessionInfo(session: number): Promise<SessionInfo> {
    return this.#run('C_GetSessionInfo', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.sessionInfo(session);
      const s = this.#session(session);
      return { slotID: s.slot, state: this.#state(s), flags: s.flags, deviceError: 0 };
    });
  }

  C_SessionCancel(session: number, flags: number): Promise<void> {
    return this.#run('C_SessionCancel', async () => {
      const s = this.#session(session);
      ulongArg(flags, 'flags');
      const byFlag: [number, OperationKind][] = [
        [CKF_ENCRYPT, 'encrypt'], [CKF_DECRYPT, 'decrypt'], [CKF_DIGEST, 'digest'], [CKF_SIGN, 'sign'],
        [CKF_VERIFY, 'verify'], [CKF_FIND_OBJECTS, 'find'], [CKF_MESSAGE_ENCRYPT, 'messageEncrypt'],
        [CKF_MESSAGE_DECRYPT, 'messageDecrypt'], [CKF_MESSAGE_SIGN, 'messageSign'], [CKF_MESSAGE_VERIFY, 'messageVerify'],
      ];
      for (const [flag, kind] of byFlag) if (flags & flag) s.end(kind);
    });
  }

  C_GetOperationState(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_GetOperationState', session);
  }

  C_SetOperationState(session: number): Promise<void> {
    return this.#notSupported('C_SetOperationState', session);
  }

  C_Login(session: number, userType: number, pin?: string): Promise<void> {
    return this.#run('C_Login', () => (this.#attached.hasSession(session)
      ? this.#attached.login(session, userType, pin) : this.#login(session, userType, pin)));
  }

  C_LoginUser(session: number, userType: number, pin: string, username: string): Promise<void> {
    return this.#run('C_LoginUser', async () => {
      stringArg(username, 'username');
      // One user per token: a username names nobody else.
      if (username !== '') throw ckr(CKR_ARGUMENTS_BAD, 'this token has no named users; pass an empty username');
      await this.#login(session, userType, pin);
    });
  }

  C_Logout(session: number): Promise<void> {
    return this.#run('C_Logout', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.logout(session);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      if (!token.logins.has(this)) throw ckr(CKR_USER_NOT_LOGGED_IN);
      this.#logout(token);
    });
  }

  // ---------------------------------------------------------------- objects (§5.7)

  C_CreateObject(session: number, template: Template): Promise<number> {
    return this.#run('C_CreateObject', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.createObject(session, template);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const values = normalizeTemplate(template);
      const objectClass = values.get(CKA_CLASS);
      if (typeof objectClass !== 'number') throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_CLASS is required');
      const keyType = values.get(CKA_KEY_TYPE) as number | undefined;
      if (isKeyClass(objectClass) && keyType === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_KEY_TYPE is required');
      // A key type no key class has is a bad value, not a reason to reject the rest of the template.
      if (keyType !== undefined && ![CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY].some((c) => isKnownKeyType(c, keyType))) {
        throw ckr(CKR_ATTRIBUTE_VALUE_INVALID, `CKA_KEY_TYPE: unknown key type ${keyType}`);
      }
      this.#checkWrite(s, values);
      let material: NewKeyMaterial | undefined;
      const secret = isKeyClass(objectClass) ? new Set(secretTypes(objectClass, keyType)) : new Set<number>();
      // Validate the template fully before touching key bytes.
      let attributes = buildAttributes({
        operation: 'create', objectClass, template: values, isSO: this.#isSO(s), materialAttributes: secret,
        defaults: this.#policy(token).defaults(objectClass, [values]),
        ...(keyType === undefined ? {} : { keyType }),
      });
      if (isKeyClass(objectClass)) {
        const codec = this.#mechanisms().codec(keyType as number);
        if (!codec) throw ckr(CKR_TEMPLATE_INCONSISTENT, `key type ${keyType} cannot be imported`);
        material = await codec.importMaterial(objectClass, readerOf(values), this.engine.crypto);
        attributes = mergeComputed(attributes, material.attributes, values);
      }
      this.#policy(token).checkKeyChange({ operation: 'create', attributes, isSO: this.#isSO(s) });
      return this.#store(s, token, attributes, material);
    });
  }

  C_CopyObject(session: number, object: number, template: Template): Promise<number> {
    return this.#run('C_CopyObject', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const source = await this.#object(s, object);
      const values = normalizeTemplate(template);
      if (source.get(CKA_COPYABLE) === false) throw ckr(CKR_ACTION_PROHIBITED, 'the object is not copyable (CKA_COPYABLE is false)');
      const attributes = changeAttributes(source.attrs(), values, 'copy', this.#isSO(s));
      attributes.delete(CKA_UNIQUE_ID);
      this.#checkWrite(s, attributes);
      this.#policy(token).checkKeyChange({ operation: 'copy', attributes, previous: source.attrs(), isSO: this.#isSO(s) });
      let material: NewKeyMaterial | undefined;
      if (source.material) material = await this.#reopenMaterial(source);
      return this.#store(s, token, attributes, material);
    });
  }

  C_DestroyObject(session: number, object: number): Promise<void> {
    return this.#run('C_DestroyObject', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.destroyObject(session, object);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const target = await this.#object(s, object);
      this.#checkWrite(s, target.attrs());
      if (target.get(CKA_DESTROYABLE) === false) throw ckr(CKR_ACTION_PROHIBITED, 'the object is not destroyable (CKA_DESTROYABLE is false)');
      if (target.token) {
        await token.exclusive(() => token.commit({ deleteObjects: [target.id] }));
        token.objects.delete(target.id);
      } else {
        this.#sessionObjects.delete(target.id);
      }
      this.#forget(target);
      // An operation must not outlive its key (Session.endUsing); its next call finds none.
      const gone = new Set([target.id]);
      for (const other of this.#sessions.values()) if (other.slot === s.slot) other.endUsing(gone);
    });
  }

  C_GetObjectSize(session: number, object: number): Promise<number> {
    return this.#run('C_GetObjectSize', async () => {
      const s = this.#session(session);
      const target = await this.#object(s, object);
      // What the object occupies in the store (attributes in clear plus sealed material).
      return encodeAttributes([...target.attrs()]).length + (target.material?.blob.data.length ?? 0);
    });
  }

  C_GetAttributeValue(session: number, object: number, template: Template): Promise<Attribute[]> {
    return this.#run('C_GetAttributeValue', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.getAttributeValue(session, object, template);
      const s = this.#session(session);
      const target = await this.#object(s, object);
      const entries = templateEntries(template);
      const attributes = target.attrs();
      let problem: number | undefined;
      const secrets: number[] = [];
      for (const { type } of entries) {
        const r = readability(attributes, type);
        if (r === 'sensitive') problem = CKR_ATTRIBUTE_SENSITIVE;
        else if (r === 'invalid') problem ??= CKR_ATTRIBUTE_TYPE_INVALID;
        else if (!attributes.has(type)) secrets.push(type);
      }
      if (problem !== undefined) throw ckr(problem);
      const exported = secrets.length > 0 ? await this.#exportSecrets(target) : new Map<number, AttributeValue>();
      return entries.map(({ type }) => {
        const value = attributes.get(type) ?? exported.get(type);
        if (value === undefined) throw ckr(CKR_ATTRIBUTE_TYPE_INVALID);
        return { type, value: copyValue(value) };
      });
    });
  }

  C_SetAttributeValue(session: number, object: number, template: Template): Promise<void> {
    return this.#run('C_SetAttributeValue', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const target = await this.#object(s, object);
      const values = normalizeTemplate(template);
      this.#checkWrite(s, target.attrs());
      const attributes = changeAttributes(target.attrs(), values, 'set', this.#isSO(s));
      this.#policy(token).checkKeyChange({ operation: 'set', attributes, previous: target.attrs(), isSO: this.#isSO(s) });
      if (target.token) {
        await token.exclusive(async () => {
          const record = await this.#record(token, target.id, attributes, target.material, target.version + 1);
          await token.commit({ putObjects: [record] });
          target.attributes = attributes;
          target.sealedAttributes = record.sealedAttributes;
          target.version = record.version;
        });
      } else {
        target.attributes = attributes;
      }
    });
  }

  C_FindObjectsInit(session: number, template: Template): Promise<void> {
    return this.#run('C_FindObjectsInit', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.findInit(session, template);
      const s = this.#session(session);
      s.assertIdle('find');
      const wanted = normalizeTemplate(template);
      const op = s.begin<FindOperation>('find', { results: [] });
      try {
        const token = this.#tokenOf(s);
        await token.syncObjects();
        const state = this.#state(s);
        const candidates = [...this.#sessionObjects.values()].filter((o) => o.slot === s.slot);
        for (const o of token.objects.candidates(wanted)) candidates.push(o);
        // Unseal what this find must read many at a time: one by one, each object would wait for its
        // own WebCrypto round trip, and the first find after login reads every private object.
        const sealed = candidates.filter((o) => !o.attributes && canSee(state, { token: o.token, private: o.private }));
        for (let i = 0; i < sealed.length; i += UNSEAL_BATCH) {
          await Promise.all(sealed.slice(i, i + UNSEAL_BATCH).map((o) => this.#unseal(token, o)));
        }
        for (const o of candidates) {
          if (!canSee(state, { token: o.token, private: o.private })) continue;
          // Already unsealed above (or public): no await, which would cost a microtask per object.
          if (!o.attributes) await this.#unseal(token, o);
          const attributes = o.attrs();
          let match = true;
          for (const [type, value] of wanted) {
            if (!valuesEqual(attributes.get(type), value)) {
              match = false;
              break;
            }
          }
          if (match) op.results.push(this.#handleFor(o));
        }
      } catch (e) {
        s.end('find');
        throw e;
      }
    });
  }

  C_FindObjects(session: number, max?: number): Promise<number[]> {
    return this.#run('C_FindObjects', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.find(session, max);
      const s = this.#session(session);
      const count = max === undefined ? Number.MAX_SAFE_INTEGER : ulongArg(max, 'max');
      const op = s.get<FindOperation>('find');
      return op.results.splice(0, count);
    });
  }

  C_FindObjectsFinal(session: number): Promise<void> {
    return this.#run('C_FindObjectsFinal', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.findFinal(session);
      const s = this.#session(session);
      s.get('find');
      s.end('find');
    });
  }

  // ---------------------------------------------------------------- encryption and decryption (§5.8–5.11)

  C_EncryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_EncryptInit', () => this.#cipherInit(session, mechanism, key, 'encrypt'));
  }

  C_Encrypt(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_Encrypt', () => this.#cipherOnce(session, data, 'encrypt'));
  }

  C_EncryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_EncryptUpdate', () => this.#cipherUpdate(session, data, 'encrypt'));
  }

  C_EncryptFinal(session: number): Promise<Uint8Array> {
    return this.#run('C_EncryptFinal', () => this.#cipherFinal(session, 'encrypt'));
  }

  C_DecryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_DecryptInit', () => (this.#attached.hasSession(session)
      ? this.#attached.decryptInit(session, mechanism, key) : this.#cipherInit(session, mechanism, key, 'decrypt')));
  }

  C_Decrypt(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_Decrypt', () => (this.#attached.hasSession(session)
      ? this.#attached.decrypt(session, data) : this.#cipherOnce(session, data, 'decrypt')));
  }

  C_DecryptUpdate(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_DecryptUpdate', () => this.#cipherUpdate(session, data, 'decrypt'));
  }

  C_DecryptFinal(session: number): Promise<Uint8Array> {
    return this.#run('C_DecryptFinal', () => this.#cipherFinal(session, 'decrypt'));
  }

  // ---------------------------------------------------------------- digests (§5.12)

  C_DigestInit(session: number, mechanism: Mechanism): Promise<void> {
    return this.#run('C_DigestInit', async () => {
      const s = this.#session(session);
      s.assertIdle('digest');
      const m = mechanismArg(mechanism);
      const provider = this.#provider(m, 'digest');
      const parameter = provider.check(m.parameter);
      const op = s.begin<DigestOp>('digest', {});
      try {
        op.digest = await (provider.digest as NonNullable<MechanismProvider['digest']>)(parameter, this.engine.crypto);
      } catch (e) {
        s.end('digest');
        throw e;
      }
    });
  }

  C_Digest(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_Digest', async () => {
      const s = this.#session(session);
      const op = s.get<DigestOp>('digest');
      return this.#ending(s, 'digest', async () => {
        bytesArg(data, 'data');
        if (op.updated) throw ckr(CKR_OPERATION_ACTIVE, 'C_Digest after C_DigestUpdate');
        await op.digest!.update(data);
        return op.digest!.final();
      });
    });
  }

  C_DigestUpdate(session: number, data: Uint8Array): Promise<void> {
    return this.#run('C_DigestUpdate', async () => {
      const s = this.#session(session);
      const op = s.get<DigestOp>('digest');
      await this.#endingOnError(s, 'digest', async () => {
        op.updated = true;
        await op.digest!.update(bytesArg(data, 'data'));
      });
    });
  }

  C_DigestKey(session: number, key: number): Promise<void> {
    return this.#run('C_DigestKey', async () => {
      const s = this.#session(session);
      const op = s.get<DigestOp>('digest');
      await this.#endingOnError(s, 'digest', async () => {
        const k = await this.#object(s, key, CKR_KEY_HANDLE_INVALID);
        if (k.objectClass !== CKO_SECRET_KEY) throw ckr(CKR_KEY_INDIGESTIBLE, 'only secret keys can be digested');
        // The value would have to pass through JavaScript: only keys whose value may be read.
        if (k.get(CKA_SENSITIVE) === true || k.get(CKA_EXTRACTABLE) === false) {
          throw ckr(CKR_KEY_INDIGESTIBLE, 'sensitive or unextractable keys cannot be digested here');
        }
        const exported = await this.#exportSecrets(k);
        const value = [...exported.values()][0];
        if (!(value instanceof Uint8Array)) throw ckr(CKR_KEY_INDIGESTIBLE);
        op.updated = true;
        await op.digest!.update(value);
      });
    });
  }

  C_DigestFinal(session: number): Promise<Uint8Array> {
    return this.#run('C_DigestFinal', async () => {
      const s = this.#session(session);
      const op = s.get<DigestOp>('digest');
      return this.#ending(s, 'digest', () => op.digest!.final());
    });
  }

  // ---------------------------------------------------------------- signing and verifying (§5.13–5.16)

  C_SignInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_SignInit', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.signInit(session, mechanism, key);
      const s = this.#session(session);
      s.assertIdle('sign');
      const { provider, parameter, access, object } = await this.#useKey(s, mechanism, key, 'sign');
      const op = s.begin<SignOp>('sign', {
      keyObjectId: object.id, needsContextLogin: object.get(CKA_ALWAYS_AUTHENTICATE) === true, singlePart: provider.singlePart === true,
    });
      try {
        op.signer = await provider.sign!(access, parameter, this.engine.crypto);
      } catch (e) {
        s.end('sign');
        throw e;
      }
    });
  }

  C_Sign(session: number, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_Sign', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.sign(session, data);
      const s = this.#session(session);
      const op = s.get<SignOp>('sign');
      return this.#ending(s, 'sign', async () => {
        bytesArg(data, 'data');
        if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
        if (op.updated) throw ckr(CKR_OPERATION_ACTIVE, 'C_Sign after C_SignUpdate');
        await op.signer!.update(data);
        return op.signer!.final();
      });
    });
  }

  C_SignUpdate(session: number, data: Uint8Array): Promise<void> {
    return this.#run('C_SignUpdate', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.signUpdate(session, data);
      const s = this.#session(session);
      const op = s.get<SignOp>('sign');
      await this.#endingOnError(s, 'sign', async () => {
        noUpdate(op, 'C_SignUpdate');
        if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
        op.updated = true;
        await op.signer!.update(bytesArg(data, 'data'));
      });
    });
  }

  C_SignFinal(session: number): Promise<Uint8Array> {
    return this.#run('C_SignFinal', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.signFinal(session);
      const s = this.#session(session);
      const op = s.get<SignOp>('sign');
      return this.#ending(s, 'sign', async () => {
        noUpdate(op, 'C_SignFinal');
        if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
        return op.signer!.final();
      });
    });
  }

  C_VerifyInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_VerifyInit', async () => {
      const s = this.#session(session);
      s.assertIdle('verify');
      const { provider, parameter, access, object } = await this.#useKey(s, mechanism, key, 'verify');
      const op = s.begin<VerifyOp>('verify', { keyObjectId: object.id, singlePart: provider.singlePart === true });
      try {
        op.verifier = await provider.verify!(access, parameter, this.engine.crypto);
      } catch (e) {
        s.end('verify');
        throw e;
      }
    });
  }

  C_Verify(session: number, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.#run('C_Verify', async () => {
      const s = this.#session(session);
      const op = s.get<VerifyOp>('verify');
      return this.#ending(s, 'verify', async () => {
        bytesArg(data, 'data');
        bytesArg(signature, 'signature');
        if (op.updated) throw ckr(CKR_OPERATION_ACTIVE, 'C_Verify after C_VerifyUpdate');
        await op.verifier!.update(data);
        return op.verifier!.final(signature);
      });
    });
  }

  C_VerifyUpdate(session: number, data: Uint8Array): Promise<void> {
    return this.#run('C_VerifyUpdate', async () => {
      const s = this.#session(session);
      const op = s.get<VerifyOp>('verify');
      await this.#endingOnError(s, 'verify', async () => {
        noUpdate(op, 'C_VerifyUpdate');
        op.updated = true;
        await op.verifier!.update(bytesArg(data, 'data'));
      });
    });
  }

  C_VerifyFinal(session: number, signature: Uint8Array): Promise<boolean> {
    return this.#run('C_VerifyFinal', async () => {
      const s = this.#session(session);
      const op = s.get<VerifyOp>('verify');
      return this.#ending(s, 'verify', () => {
        noUpdate(op, 'C_VerifyFinal');
        return op.verifier!.final(bytesArg(signature, 'signature'));
      });
    });
  }

  C_SignRecoverInit(session: number): Promise<void> {
    return this.#notSupported('C_SignRecoverInit', session);
  }

  C_SignRecover(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_SignRecover', session);
  }

  C_VerifyRecoverInit(session: number): Promise<void> {
    return this.#notSupported('C_VerifyRecoverInit', session);
  }

  C_VerifyRecover(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_VerifyRecover', session);
  }

  C_DigestEncryptUpdate(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_DigestEncryptUpdate', session);
  }

  C_DecryptDigestUpdate(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_DecryptDigestUpdate', session);
  }

  C_SignEncryptUpdate(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_SignEncryptUpdate', session);
  }

  C_DecryptVerifyUpdate(session: number): Promise<Uint8Array> {
    return this.#notSupported('C_DecryptVerifyUpdate', session);
  }

  // ---------------------------------------------------------------- message-based functions (v3.0 §5.13–5.18)

  C_MessageEncryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_MessageEncryptInit', () => this.#messageInit(session, mechanism, key, 'messageEncrypt', 'encrypt'));
  }

  C_EncryptMessage(session: number, parameter: MessageParameter, associatedData: Uint8Array, plaintext: Uint8Array): Promise<EncryptMessageResult> {
    return this.#run('C_EncryptMessage', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageEncrypt');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      return this.#encryptMessage(op, parameter, bytesArg(associatedData, 'associatedData'), [bytesArg(plaintext, 'plaintext')]);
    });
  }

  C_EncryptMessageBegin(session: number, parameter: MessageParameter, associatedData: Uint8Array): Promise<MessageParameter> {
    return this.#run('C_EncryptMessageBegin', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageEncrypt');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      const p = this.#gcmMessageParams(parameter, 'encrypt');
      const filled = this.#fillIv(p);
      op.part = { parameter: filled, associatedData: bytesArg(associatedData, 'associatedData').slice(), chunks: [] };
      return { ...filled, iv: filled.iv.slice() };
    });
  }

  C_EncryptMessageNext(session: number, parameter: MessageParameter, plaintextPart: Uint8Array, flags?: number): Promise<EncryptMessageResult> {
    return this.#run('C_EncryptMessageNext', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageEncrypt');
      if (!op.part) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'C_EncryptMessageBegin first');
      op.part.chunks.push(bytesArg(plaintextPart, 'plaintextPart').slice());
      if (!((flags ?? 0) & CKF_END_OF_MESSAGE)) return { ciphertext: new Uint8Array(), parameter };
      const { parameter: p, associatedData, chunks } = op.part;
      op.part = undefined;
      return this.#encryptMessage(op, p, associatedData, chunks, true);
    });
  }

  C_MessageEncryptFinal(session: number): Promise<void> {
    return this.#run('C_MessageEncryptFinal', async () => {
      const s = this.#session(session);
      s.get('messageEncrypt');
      s.end('messageEncrypt');
    });
  }

  C_MessageDecryptInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_MessageDecryptInit', () => this.#messageInit(session, mechanism, key, 'messageDecrypt', 'decrypt'));
  }

  C_DecryptMessage(session: number, parameter: MessageParameter, associatedData: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_DecryptMessage', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageDecrypt');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      return this.#decryptMessage(op, parameter, bytesArg(associatedData, 'associatedData'), [bytesArg(ciphertext, 'ciphertext')]);
    });
  }

  C_DecryptMessageBegin(session: number, parameter: MessageParameter, associatedData: Uint8Array): Promise<void> {
    return this.#run('C_DecryptMessageBegin', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageDecrypt');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      this.#gcmMessageParams(parameter, 'decrypt');
      // The tag and IV come with the last part's parameter; only the AAD is kept from here.
      op.part = { parameter: new Uint8Array(), associatedData: bytesArg(associatedData, 'associatedData').slice(), chunks: [] };
    });
  }

  C_DecryptMessageNext(session: number, parameter: MessageParameter, ciphertextPart: Uint8Array, flags?: number): Promise<Uint8Array> {
    return this.#run('C_DecryptMessageNext', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageDecrypt');
      if (!op.part) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'C_DecryptMessageBegin first');
      op.part.chunks.push(bytesArg(ciphertextPart, 'ciphertextPart').slice());
      // Plaintext is released only after the tag checks, so earlier parts answer empty.
      if (!((flags ?? 0) & CKF_END_OF_MESSAGE)) return new Uint8Array();
      const { associatedData, chunks } = op.part;
      op.part = undefined;
      return this.#decryptMessage(op, parameter, associatedData, chunks);
    });
  }

  C_MessageDecryptFinal(session: number): Promise<void> {
    return this.#run('C_MessageDecryptFinal', async () => {
      const s = this.#session(session);
      s.get('messageDecrypt');
      s.end('messageDecrypt');
    });
  }

  C_MessageSignInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_MessageSignInit', () => this.#messageInit(session, mechanism, key, 'messageSign', 'sign'));
  }

  C_SignMessage(session: number, parameter: MessageParameter | undefined, data: Uint8Array): Promise<Uint8Array> {
    return this.#run('C_SignMessage', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageSign');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      noMessageParameter(parameter);
      return this.#signMessage(op, [bytesArg(data, 'data')]);
    });
  }

  C_SignMessageBegin(session: number, parameter: MessageParameter | undefined): Promise<void> {
    return this.#run('C_SignMessageBegin', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageSign');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      noMessageParameter(parameter);
      contextLoginDone(op);
      op.part = { parameter: new Uint8Array(), associatedData: new Uint8Array(), chunks: [] };
    });
  }

  C_SignMessageNext(session: number, parameter: MessageParameter | undefined, data: Uint8Array, final?: boolean): Promise<Uint8Array | undefined> {
    return this.#run('C_SignMessageNext', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageSign');
      if (!op.part) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'C_SignMessageBegin first');
      noMessageParameter(parameter);
      op.part.chunks.push(bytesArg(data, 'data').slice());
      if (!final) return undefined;
      const { chunks } = op.part;
      op.part = undefined;
      return this.#signMessage(op, chunks);
    });
  }

  C_MessageSignFinal(session: number): Promise<void> {
    return this.#run('C_MessageSignFinal', async () => {
      const s = this.#session(session);
      s.get('messageSign');
      s.end('messageSign');
    });
  }

  C_MessageVerifyInit(session: number, mechanism: Mechanism, key: number): Promise<void> {
    return this.#run('C_MessageVerifyInit', () => this.#messageInit(session, mechanism, key, 'messageVerify', 'verify'));
  }

  C_VerifyMessage(session: number, parameter: MessageParameter | undefined, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.#run('C_VerifyMessage', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageVerify');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      noMessageParameter(parameter);
      return this.#verifyMessage(op, [bytesArg(data, 'data')], bytesArg(signature, 'signature'));
    });
  }

  C_VerifyMessageBegin(session: number, parameter: MessageParameter | undefined): Promise<void> {
    return this.#run('C_VerifyMessageBegin', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageVerify');
      if (op.part) throw ckr(CKR_OPERATION_ACTIVE, 'a multi-part message is in progress');
      noMessageParameter(parameter);
      op.part = { parameter: new Uint8Array(), associatedData: new Uint8Array(), chunks: [] };
    });
  }

  C_VerifyMessageNext(session: number, parameter: MessageParameter | undefined, data: Uint8Array, signature?: Uint8Array): Promise<boolean | undefined> {
    return this.#run('C_VerifyMessageNext', async () => {
      const s = this.#session(session);
      const op = s.get<MessageOp>('messageVerify');
      if (!op.part) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'C_VerifyMessageBegin first');
      noMessageParameter(parameter);
      op.part.chunks.push(bytesArg(data, 'data').slice());
      if (signature === undefined) return undefined;
      const { chunks } = op.part;
      op.part = undefined;
      return this.#verifyMessage(op, chunks, bytesArg(signature, 'signature'));
    });
  }

  C_MessageVerifyFinal(session: number): Promise<void> {
    return this.#run('C_MessageVerifyFinal', async () => {
      const s = this.#session(session);
      s.get('messageVerify');
      s.end('messageVerify');
    });
  }

  // ---------------------------------------------------------------- key management (§5.18)

  C_GenerateKey(session: number, mechanism: Mechanism, template: Template): Promise<number> {
    return this.#run('C_GenerateKey', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const m = mechanismArg(mechanism);
      const provider = this.#provider(m, 'generateKey');
      const parameter = provider.check(m.parameter);
      const values = normalizeTemplate(template);
      const keyType = (values.get(CKA_KEY_TYPE) as number | undefined) ?? KEY_GEN_TYPES.get(m.mechanism) ?? CKK_GENERIC_SECRET;
      this.#checkWrite(s, values);
      let attributes = buildAttributes({
        operation: 'generate', objectClass: CKO_SECRET_KEY, keyType, template: values, isSO: this.#isSO(s),
        keyGenMechanism: m.mechanism, defaults: this.#policy(token).defaults(CKO_SECRET_KEY, [values]),
      });
      this.#policy(token).checkKeyChange({ operation: 'generate', attributes, mechanism: m, isSO: this.#isSO(s) });
      const material = await provider.generateKey!({ keyType, attributes: readerOf(attributes) }, parameter, this.engine.crypto);
      attributes = mergeComputed(attributes, material.attributes, values);
      return this.#store(s, token, attributes, material);
    });
  }

  C_GenerateKeyPair(session: number, mechanism: Mechanism, publicTemplate: Template, privateTemplate: Template): Promise<KeyPair> {
    return this.#run('C_GenerateKeyPair', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.generateKeyPair(session, mechanism, publicTemplate, privateTemplate);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const m = mechanismArg(mechanism);
      const provider = this.#provider(m, 'generateKeyPair');
      const parameter = provider.check(m.parameter);
      const publicValues = normalizeTemplate(publicTemplate);
      const privateValues = normalizeTemplate(privateTemplate);
      // The mechanism decides the key type; a template naming another is then inconsistent (as in SoftHSM2).
      const keyType = KEY_GEN_TYPES.get(m.mechanism) ?? (publicValues.get(CKA_KEY_TYPE) as number | undefined)
        ?? (privateValues.get(CKA_KEY_TYPE) as number | undefined);
      if (keyType === undefined) throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_KEY_TYPE is required for this mechanism');
      // The public half is public unless the template says otherwise (SoftHSM2's default too).
      const pairTemplates = [publicValues, privateValues];
      const publicDefaults = new Map([[CKA_PRIVATE, false], ...(this.#policy(token).defaults(CKO_PUBLIC_KEY, pairTemplates) ?? [])]);
      this.#checkWrite(s, new Map([...publicDefaults, ...publicValues]));
      this.#checkWrite(s, privateValues);
      const policy = this.#policy(token);
      const common = { operation: 'generate' as const, keyType, isSO: this.#isSO(s), keyGenMechanism: m.mechanism };
      let publicAttributes = buildAttributes({ ...common, objectClass: CKO_PUBLIC_KEY, template: publicValues, defaults: publicDefaults });
      let privateAttributes = buildAttributes({ ...common, objectClass: CKO_PRIVATE_KEY, template: privateValues, defaults: policy.defaults(CKO_PRIVATE_KEY, pairTemplates) });
      policy.checkKeyChange({ operation: 'generate', attributes: publicAttributes, pairedWith: privateAttributes, mechanism: m, isSO: this.#isSO(s) });
      policy.checkKeyChange({ operation: 'generate', attributes: privateAttributes, pairedWith: publicAttributes, mechanism: m, isSO: this.#isSO(s) });
      const pair = await provider.generateKeyPair!(
        { keyType, attributes: readerOf(publicAttributes) }, { keyType, attributes: readerOf(privateAttributes) },
        parameter, this.engine.crypto);
      publicAttributes = mergeComputed(publicAttributes, pair.publicKey.attributes, publicValues);
      privateAttributes = mergeComputed(privateAttributes, pair.privateKey.attributes, privateValues);
      const [publicKey, privateKey] = await this.#storeMany(s, token, [
        [publicAttributes, pair.publicKey], [privateAttributes, pair.privateKey],
      ]);
      return { publicKey: publicKey as number, privateKey: privateKey as number };
    });
  }

  C_WrapKey(session: number, mechanism: Mechanism, wrappingKey: number, key: number): Promise<Uint8Array> {
    return this.#run('C_WrapKey', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const m = mechanismArg(mechanism);
      const wrapper = await this.#object(s, wrappingKey, CKR_WRAPPING_KEY_HANDLE_INVALID);
      const target = await this.#object(s, key, CKR_KEY_HANDLE_INVALID);
      const provider = this.#provider(m, 'wrap');
      if (!isKeyClass(wrapper.objectClass)) throw ckr(CKR_WRAPPING_KEY_HANDLE_INVALID);
      if (!isKeyClass(target.objectClass) || target.objectClass === CKO_PUBLIC_KEY) throw ckr(CKR_KEY_HANDLE_INVALID, 'only secret and private keys can be wrapped');
      if (provider.keyTypes && !provider.keyTypes.includes(wrapper.keyType as number)) throw ckr(CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
      if (wrapper.get(CKA_WRAP) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the wrapping key has CKA_WRAP false');
      allowedMechanism(wrapper, m.mechanism);
      if (target.get(CKA_EXTRACTABLE) !== true) throw ckr(CKR_KEY_UNEXTRACTABLE, 'the key has CKA_EXTRACTABLE false');
      if (target.get(CKA_WRAP_WITH_TRUSTED) === true && wrapper.get(CKA_TRUSTED) !== true) {
        throw ckr(CKR_KEY_NOT_WRAPPABLE, 'CKA_WRAP_WITH_TRUSTED keys wrap only under CKA_TRUSTED keys');
      }
      const wrapTemplate = wrapper.get(CKA_WRAP_TEMPLATE);
      if (Array.isArray(wrapTemplate) && !matchesTemplate(target.attrs(), wrapTemplate as Attribute[])) {
        throw ckr(CKR_KEY_NOT_WRAPPABLE, "the key does not match the wrapping key's CKA_WRAP_TEMPLATE");
      }
      const parameter = provider.check(m.parameter);
      this.#policy(token).checkKeyUse({ operation: 'wrap', key: wrapper.attrs(), target: target.attrs(), mechanism: m });
      return provider.wrap!(this.#access(wrapper), this.#access(target), parameter, this.engine.crypto);
    });
  }

  C_UnwrapKey(session: number, mechanism: Mechanism, unwrappingKey: number, wrapped: Uint8Array, template: Template): Promise<number> {
    return this.#run('C_UnwrapKey', async () => {
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const m = mechanismArg(mechanism);
      const unwrapper = await this.#object(s, unwrappingKey, CKR_UNWRAPPING_KEY_HANDLE_INVALID);
      bytesArg(wrapped, 'wrapped');
      const provider = this.#provider(m, 'unwrap');
      if (!isKeyClass(unwrapper.objectClass)) throw ckr(CKR_UNWRAPPING_KEY_HANDLE_INVALID);
      if (provider.keyTypes && !provider.keyTypes.includes(unwrapper.keyType as number)) throw ckr(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
      if (unwrapper.get(CKA_UNWRAP) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the unwrapping key has CKA_UNWRAP false');
      allowedMechanism(unwrapper, m.mechanism);
      const parameter = provider.check(m.parameter);
      const values = withTemplate(normalizeTemplate(template), unwrapper.get(CKA_UNWRAP_TEMPLATE), 'CKA_UNWRAP_TEMPLATE');
      const objectClass = values.get(CKA_CLASS);
      const keyType = values.get(CKA_KEY_TYPE);
      if (typeof objectClass !== 'number' || typeof keyType !== 'number') throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_CLASS and CKA_KEY_TYPE are required');
      if (objectClass !== CKO_SECRET_KEY && objectClass !== CKO_PRIVATE_KEY) throw ckr(CKR_TEMPLATE_INCONSISTENT, 'only secret and private keys can be unwrapped');
      this.#checkWrite(s, values);
      const policy = this.#policy(token);
      let attributes = buildAttributes({
        operation: 'unwrap', objectClass, keyType, template: values, isSO: this.#isSO(s), defaults: policy.defaults(objectClass, [values]),
      });
      policy.checkKeyUse({ operation: 'unwrap', key: unwrapper.attrs(), mechanism: m });
      policy.checkKeyChange({ operation: 'unwrap', attributes, source: unwrapper.attrs(), mechanism: m, isSO: this.#isSO(s) });
      const material = await provider.unwrap!(this.#access(unwrapper), wrapped, { keyType, attributes: readerOf(attributes) }, parameter, this.engine.crypto);
      // Whatever the mechanism, the new object must carry the public values its material implies.
      const implied = await this.#mechanisms().codec(keyType)?.publicAttributes?.(objectClass, material.key, this.engine.crypto) ?? [];
      attributes = mergeComputed(attributes, [...material.attributes, ...implied.filter((a) => !material.attributes.some((m) => m.type === a.type))], values);
      return this.#store(s, token, attributes, material);
    });
  }

  C_DeriveKey(session: number, mechanism: Mechanism, baseKey: number, template: Template): Promise<number> {
    return this.#run('C_DeriveKey', async () => {
      if (this.#attached.hasSession(session)) return this.#attached.deriveKey(session, mechanism, baseKey, template);
      const s = this.#session(session);
      const token = this.#tokenOf(s);
      const m = mechanismArg(mechanism);
      const base = await this.#object(s, baseKey, CKR_KEY_HANDLE_INVALID);
      const provider = this.#provider(m, 'derive');
      if (!isKeyClass(base.objectClass)) throw ckr(CKR_KEY_HANDLE_INVALID);
      if (provider.keyTypes && !provider.keyTypes.includes(base.keyType as number)) throw ckr(CKR_KEY_TYPE_INCONSISTENT);
      if (base.get(CKA_DERIVE) !== true) throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, 'the base key has CKA_DERIVE false');
      allowedMechanism(base, m.mechanism);
      const parameter = provider.check(m.parameter);
      const values = withTemplate(normalizeTemplate(template), base.get(CKA_DERIVE_TEMPLATE), 'CKA_DERIVE_TEMPLATE');
      const objectClass = (values.get(CKA_CLASS) as number | undefined) ?? CKO_SECRET_KEY;
      if (objectClass !== CKO_SECRET_KEY) throw ckr(CKR_TEMPLATE_INCONSISTENT, 'derivation makes secret keys');
      const keyType = values.get(CKA_KEY_TYPE);
      if (typeof keyType !== 'number') throw ckr(CKR_TEMPLATE_INCOMPLETE, 'CKA_KEY_TYPE is required');
      this.#checkWrite(s, values);
      const policy = this.#policy(token);
      let attributes = buildAttributes({
        operation: 'derive', objectClass, keyType, template: values, isSO: this.#isSO(s), base: base.attrs(),
        defaults: policy.defaults(objectClass, [values]),
      });
      policy.checkKeyUse({ operation: 'derive', key: base.attrs(), mechanism: m });
      policy.checkKeyChange({ operation: 'derive', attributes, source: base.attrs(), mechanism: m, isSO: this.#isSO(s) });
      const material = await provider.derive!(this.#access(base), { keyType, attributes: readerOf(attributes) }, parameter, this.engine.crypto);
      attributes = mergeComputed(attributes, material.attributes, values);
      return this.#store(s, token, attributes, material);
    });
  }

  // ---------------------------------------------------------------- random numbers (§5.19)

  C_SeedRandom(session: number, seed: Uint8Array): Promise<void> {
    return this.#run('C_SeedRandom', async () => {
      this.#session(session);
      bytesArg(seed, 'seed');
      throw ckr(CKR_RANDOM_SEED_NOT_SUPPORTED, "the platform's CSPRNG cannot be seeded");
    });
  }

  C_GenerateRandom(session: number, length: number): Promise<Uint8Array> {
    return this.#run('C_GenerateRandom', async () => {
      this.#session(session);
      const n = ulongArg(length, 'length');
      if (n > MAX_RANDOM_BYTES) throw ckr(CKR_ARGUMENTS_BAD, 'length: at most 1 MiB per call');
      return this.engine.sealer.randomBytes(n);
    });
  }

  // ================================================================ internals

  /** Run one C_ function: require C_Initialize, turn every failure into a Pkcs11Error naming it. */
  async #run<T>(method: string, work: () => Promise<T>, needsInit = true): Promise<T> {
    try {
      if (needsInit && !this.#initialized) throw ckr(CKR_CRYPTOKI_NOT_INITIALIZED, 'call C_Initialize first');
      return await work();
    } catch (e) {
      throw toPkcs11Error(e, method);
    }
  }

  #notSupported<T>(method: string, session: number): Promise<T> {
    return this.#run(method, async () => {
      this.#session(session);
      throw ckr(CKR_FUNCTION_NOT_SUPPORTED, `${method} is not offered: operation state cannot be exported honestly`);
    });
  }

  #mechanisms(): MechanismRegistry {
    if (!this.#registry) throw ckr(CKR_CRYPTOKI_NOT_INITIALIZED);
    return this.#registry;
  }

  #token(slot: unknown): TokenState {
    const id = handleArg(slot, 'slot');
    const token = this.engine.tokens[id];
    if (!token) throw ckr(this.engine.attached.owns(id) ? CKR_FUNCTION_NOT_SUPPORTED : CKR_SLOT_ID_INVALID, `no slot ${id} (or not for a device slot)`);
    return token;
  }

  #session(session: unknown): Session {
    const handle = handleArg(session, 'session');
    const s = this.#sessions.get(handle);
    if (!s) throw ckr(this.#attached.hasSession(handle) ? CKR_FUNCTION_NOT_SUPPORTED : CKR_SESSION_HANDLE_INVALID, `no session ${handle} (or not for a device session)`);
    return s;
  }

  #tokenOf(s: Session): TokenState {
    const token = this.engine.tokens[s.slot] as TokenState;
    if (!token.initialized) {
      // The token was re-initialized by another engine over the same store: this session is gone.
      this.#closeSession(s);
      throw ckr(CKR_SESSION_CLOSED);
    }
    return token;
  }

  /** A read/write session of this application with the user logged in (factor enrolment). */
  #userWrite(session: number): TokenState {
    const s = this.#session(session);
    const token = this.#tokenOf(s);
    if (token.logins.get(this) !== 'user') throw ckr(CKR_USER_NOT_LOGGED_IN, 'log the user in first');
    if (!s.readWrite) throw ckr(CKR_SESSION_READ_ONLY, 'factors change the token: use a read/write session');
    return token;
  }

  #policy(token: TokenState) {
    return this.engine.policyFor(token);
  }

  #state(s: Session): number {
    return s.state(this.engine.tokens[s.slot]?.logins.get(this));
  }

  #isSO(s: Session): boolean {
    return this.engine.tokens[s.slot]?.logins.get(this) === 'so';
  }

  /** May this session create or change an object with these token/private values? */
  #checkWrite(s: Session, attributes: AttributeMap): void {
    // A template that does not name CKA_PRIVATE makes a private object (the table's default, as in
    // SoftHSM2), so it needs the user as much as CKA_PRIVATE=true does.
    const kind = { token: attributes.get(CKA_TOKEN) === true, private: attributes.get(CKA_PRIVATE) !== false };
    const rv = accessCheck(this.#state(s), kind, true);
    if (rv !== CKR_OK) throw ckr(rv, rv === CKR_SESSION_READ_ONLY ? 'token objects need a read/write session' : 'private objects need the user logged in');
  }

  async #login(session: number, userType: number, pin: string | undefined): Promise<void> {
    const s = this.#session(session);
    const token = this.#tokenOf(s);
    if (userType !== CKU_SO && userType !== CKU_USER && userType !== CKU_CONTEXT_SPECIFIC) {
      throw ckr(CKR_USER_TYPE_INVALID, `user type ${userType}`);
    }
    // No protected authentication path here: the PIN is always passed.
    if (typeof pin !== 'string') throw ckr(CKR_ARGUMENTS_BAD, 'pin: expected a string');
    const current = token.logins.get(this);
    if (userType === CKU_CONTEXT_SPECIFIC) {
      const pending = [...s.operations()].find(([, op]) => op.needsContextLogin);
      if (!pending) throw ckr(CKR_OPERATION_NOT_INITIALIZED, 'no operation needs context-specific login');
      if (current !== 'user') throw ckr(CKR_USER_NOT_LOGGED_IN);
      await verifyUser(this.engine, token, pin);
      pending[1].needsContextLogin = false;
      return;
    }
    const owner: PinOwner = userType === CKU_SO ? 'so' : 'user';
    if (current === owner) throw ckr(CKR_USER_ALREADY_LOGGED_IN);
    if (current) throw ckr(CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    if (owner === 'so' && [...this.#sessions.values()].some((x) => x.slot === s.slot && !x.readWrite)) {
      throw ckr(CKR_SESSION_READ_ONLY_EXISTS, 'close read-only sessions before the SO logs in');
    }
    const { tokenKey, pinKey } = owner === 'user' ? await verifyUser(this.engine, token, pin) : await token.verifyPin(owner, pin);
    if (token.logins.has(this)) throw ckr(CKR_USER_ALREADY_LOGGED_IN); // a racing C_Login won
    token.logins.set(this, owner);
    token.tokenKey = tokenKey;
    token.pinKeys.set(owner, pinKey);
  }

  #logout(token: TokenState): void {
    const was = token.logins.get(this);
    token.logins.delete(this);
    if (was && ![...token.logins.values()].includes(was)) token.pinKeys.delete(was);
    // Private session objects die with the login; handles to private objects go invalid.
    const gone = new Set<number>();
    for (const [id, o] of this.#sessionObjects) {
      if (o.slot === token.slot && o.private) {
        this.#sessionObjects.delete(id);
        this.#forget(o);
        gone.add(o.id);
      }
    }
    for (const o of token.objects.values()) {
      if (o.private) {
        this.#forget(o);
        gone.add(o.id);
      }
    }
    for (const s of this.#sessions.values()) {
      if (s.slot !== token.slot) continue;
      s.endUsing(gone);
      s.end('find');
    }
    if (token.logins.size === 0) token.lock();
  }

  #closeSession(s: Session): void {
    if (!this.#sessions.delete(s.handle)) return;
    const counts = (this.engine.tokens[s.slot] as TokenState).openSessions;
    counts.all--;
    if (s.readWrite) counts.readWrite--;
    const gone = new Set<number>();
    for (const [id, o] of this.#sessionObjects) {
      if (o.owner?.session === s.handle) {
        this.#sessionObjects.delete(id);
        this.#forget(o);
        gone.add(id);
      }
    }
    // Other sessions' operations on those objects end with them (as for C_DestroyObject).
    for (const other of this.#sessions.values()) if (other.slot === s.slot) other.endUsing(gone);
    const token = this.engine.tokens[s.slot] as TokenState;
    const stillOpen = [...this.#sessions.values()].some((x) => x.slot === s.slot);
    if (!stillOpen && token.logins.has(this)) this.#logout(token);
  }

  #closeAll(token: TokenState): void {
    for (const s of this.#sessions.values()) if (s.slot === token.slot) this.#closeSession(s);
    if (token.logins.has(this)) this.#logout(token);
  }

  #handlesOf(o: { slot: number; token: boolean }): Map<number, number> {
    const kind = o.slot * 2 + (o.token ? 1 : 0);
    let byId = this.#handleOf.get(kind);
    if (!byId) this.#handleOf.set(kind, (byId = new Map()));
    return byId;
  }

  #handleFor(o: EngineObject): number {
    const byId = this.#handlesOf(o);
    let handle = byId.get(o.id);
    if (handle === undefined) {
      handle = this.#nextObjectHandle++;
      byId.set(o.id, handle);
      this.#handles.set(handle, { slot: o.slot, id: o.id, token: o.token });
    }
    return handle;
  }

  #forget(o: { slot: number; id: number; token: boolean }): void {
    const byId = this.#handlesOf(o);
    const handle = byId.get(o.id);
    if (handle !== undefined) {
      byId.delete(o.id);
      this.#handles.delete(handle);
    }
  }

  /** Resolve an object handle this session may see, unsealing it if needed. */
  async #object(s: Session, handle: unknown, invalid = CKR_OBJECT_HANDLE_INVALID): Promise<EngineObject> {
    const h = handleArg(handle, 'object');
    const ref = this.#handles.get(h);
    if (!ref || ref.slot !== s.slot) throw ckr(invalid, `no object ${h} in this session's token`);
    const token = this.#tokenOf(s);
    let object: EngineObject | undefined;
    if (ref.token) {
      await token.syncObjects();
      object = token.objects.get(ref.id);
    } else {
      object = this.#sessionObjects.get(ref.id);
    }
    if (!object || object.destroyed) {
      this.#forget(ref);
      throw ckr(invalid, `object ${h} no longer exists`);
    }
    if (!canSee(this.#state(s), { token: object.token, private: object.private })) throw ckr(invalid, `object ${h} is not visible now`);
    await this.#unseal(token, object);
    return object;
  }

  async #unseal(token: TokenState, object: EngineObject): Promise<void> {
    if (object.attributes) return;
    const record = token.record;
    if (!object.sealedAttributes || !token.tokenKey || !record) throw ckr(CKR_USER_NOT_LOGGED_IN);
    const bytes = await this.engine.sealer.openBytes(token.tokenKey, object.sealedAttributes, { tokenId: record.tokenId, purpose: 'attributes', objectId: object.id })
      .catch(() => { throw ckr(CKR_GENERAL_ERROR, `object ${object.id} does not unseal: the record was altered`); });
    object.attributes = unpackAttributes(bytes);
  }

  /**
   * Which key seals an object's material, and what the seal is bound to: session objects under the
   * engine's ephemeral key, private token objects under TK, public ones under DK. The choice follows
   * the object's privacy, and the AAD names it, so a record relabelled from private to public no
   * longer opens.
   */
  #sealing(object: { slot: number; id: number; token: boolean; private: boolean }): { sealedWith: StoredMaterial['sealedWith']; key: () => CryptoKey; aad: SealAad } {
    const token = this.engine.tokens[object.slot] as TokenState;
    const sealedWith = !object.token ? 'session' : object.private ? 'token' : 'device';
    const key = () => {
      const k = sealedWith === 'session' ? this.#sessionKey : sealedWith === 'token' ? token.tokenKey : token.record?.deviceKey;
      if (!k) throw ckr(CKR_USER_NOT_LOGGED_IN, 'the key is sealed under the token key: log in');
      return k;
    };
    const tokenId = object.token ? token.record?.tokenId ?? '' : 'session';
    return { sealedWith, key, aad: { tokenId, purpose: `material:${sealedWith}`, objectId: object.id } };
  }


  #access(object: EngineObject): KeyAccess {
    const { key, aad } = this.#sealing(object);
    return keyAccess(object, this.engine.sealer, key, aad);
  }

  /** The object's material as a fresh extractable CryptoKey, to seal again under another id or key. */
  async #reopenMaterial(object: EngineObject): Promise<NewKeyMaterial> {
    const material = object.material as StoredMaterial;
    const codec = this.#mechanisms().codec(object.keyType as number);
    if (!codec) throw ckr(CKR_GENERAL_ERROR, 'no codec for this key type');
    const reader = readerOf(object.attrs());
    const sealing = this.#sealing(object);
    const key = await this.engine.sealer.openKey(material.blob, material.format, sealing.key(), sealing.aad,
      codec.defaultAlgorithm(reader), true, codec.defaultUsages(object.objectClass));
    return { key, format: material.format, attributes: [] };
  }

  async #exportSecrets(object: EngineObject): Promise<Map<number, AttributeValue>> {
    const codec = this.#mechanisms().codec(object.keyType as number);
    if (!codec || !object.material) return new Map();
    const { key } = await this.#reopenMaterial(object);
    const attributes = await codec.exportSecretAttributes(object.objectClass, key, this.engine.crypto);
    return new Map(attributes.map((a) => [a.type, a.value as AttributeValue]));
  }

  /** Store a new object (session or token) and hand out its handle. */
  async #store(s: Session, token: TokenState, attributes: AttributeMap, material: NewKeyMaterial | undefined): Promise<number> {
    const [handle] = await this.#storeMany(s, token, [[attributes, material]]);
    return handle as number;
  }

  /** Several objects in one commit (a key pair is stored whole or not at all). */
  async #storeMany(s: Session, token: TokenState, items: [AttributeMap, NewKeyMaterial | undefined][]): Promise<number[]> {
    const objects: EngineObject[] = [];
    const records: ObjectRecord[] = [];
    await token.exclusive(async () => {
      // Notice a re-initialization by another engine before sealing anything with our keys.
      await token.syncObjects();
      for (const [attributes, material] of items) {
        const kind = objectKind(attributes);
        const id = kind.token ? this.engine.newTokenObjectId(token) : this.engine.newSessionObjectId();
        attributes.set(CKA_UNIQUE_ID, `${kind.token ? token.record?.tokenId.slice(0, 8) : 's'}-${id.toString(16)}`);
        const { sealedWith, key: sealKey, aad } = this.#sealing({ slot: token.slot, id, ...kind });
        let stored: StoredMaterial | undefined;
        if (material) {
          const blob = await this.engine.sealer.sealKey(material.key, material.format, sealKey(), aad);
          stored = { format: material.format, sealedWith, blob };
        }
        const object = new EngineObject({
          slot: token.slot, id, token: kind.token, private: kind.private, attributes,
          ...(stored ? { material: stored } : {}),
          ...(kind.token ? {} : { owner: { application: this, session: s.handle } }),
        });
        if (kind.token) {
          const record = await this.#record(token, id, attributes, stored, 1);
          if (record.sealedAttributes) object.sealedAttributes = record.sealedAttributes;
          records.push(record);
        }
        objects.push(object);
      }
      if (records.length > 0) await token.commit({ putObjects: records });
    });
    return objects.map((o) => {
      if (o.token) token.objects.set(o.id, o);
      else this.#sessionObjects.set(o.id, o);
      return this.#handleFor(o);
    });
  }

  async #record(token: TokenState, id: number, attributes: AttributeMap, material: StoredMaterial | undefined, version: number): Promise<ObjectRecord> {
    const isPrivate = attributes.get(CKA_PRIVATE) === true;
    const base = { slot: token.slot, id, private: isPrivate, version, ...(material ? { material } : {}) };
    if (!token.record) throw ckr(CKR_TOKEN_NOT_RECOGNIZED);
    if (!isPrivate) {
      const stored = [...attributes];
      const attributesTag = await this.engine.sealer.tag(token.record.deviceKey, encodeAttributes(stored),
        publicAttributesAad(token.record.tokenId, id));
      return { ...base, attributes: stored, attributesTag };
    }
    if (!token.tokenKey) throw ckr(CKR_USER_NOT_LOGGED_IN);
    const sealedAttributes = await this.engine.sealer.sealBytes(token.tokenKey, packAttributes(attributes),
      { tokenId: token.record.tokenId, purpose: 'attributes', objectId: id });
    return { ...base, sealedAttributes };
  }

  #provider(m: Mechanism, operation: keyof MechanismProvider): MechanismProvider {
    const provider = this.#mechanisms().get(m.mechanism);
    if (!provider || typeof provider[operation] !== 'function') {
      throw ckr(CKR_MECHANISM_INVALID, `${ckmName(m.mechanism)} cannot ${operation} here`);
    }
    return provider;
  }

  /** The common checks of every …Init that uses a key. */
  async #useKey(s: Session, mechanism: Mechanism, key: number, operation: 'encrypt' | 'decrypt' | 'sign' | 'verify') {
    const m = mechanismArg(mechanism);
    const object = await this.#object(s, key, CKR_KEY_HANDLE_INVALID);
    const provider = this.#provider(m, operation);
    if (!isKeyClass(object.objectClass)) throw ckr(CKR_KEY_HANDLE_INVALID, 'not a key');
    if (provider.keyTypes && !provider.keyTypes.includes(object.keyType as number)) {
      throw ckr(CKR_KEY_TYPE_INCONSISTENT, `${ckmName(m.mechanism)} cannot use this key type`);
    }
    if (object.get(USAGE[operation]) !== true) {
      throw ckr(CKR_KEY_FUNCTION_NOT_PERMITTED, `the key does not allow ${operation}`);
    }
    allowedMechanism(object, m.mechanism);
    const parameter = provider.check(m.parameter);
    const use: KeyUse = { operation, key: object.attrs(), mechanism: m };
    this.#policy(this.#tokenOf(s)).checkKeyUse(use);
    return { m, provider, parameter, object, access: this.#access(object) };
  }

  async #cipherInit(session: number, mechanism: Mechanism, key: number, kind: 'encrypt' | 'decrypt'): Promise<void> {
    const s = this.#session(session);
    s.assertIdle(kind);
    const { provider, parameter, access, object } = await this.#useKey(s, mechanism, key, kind);
    // CKA_ALWAYS_AUTHENTICATE covers decryption as well as signing (SoftHSM2 asks for both).
    const op = s.begin<CipherOp>(kind, {
      keyObjectId: object.id, singlePart: provider.singlePart === true,
      needsContextLogin: kind === 'decrypt' && object.get(CKA_ALWAYS_AUTHENTICATE) === true,
    });
    try {
      op.cipher = await provider[kind]!(access, parameter, this.engine.crypto);
    } catch (e) {
      s.end(kind);
      throw e;
    }
  }

  async #cipherOnce(session: number, data: Uint8Array, kind: 'encrypt' | 'decrypt'): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.get<CipherOp>(kind);
    return this.#ending(s, kind, async () => {
      bytesArg(data, 'data');
      contextLoginDone(op);
      if (op.updated) throw ckr(CKR_OPERATION_ACTIVE, `C_${kind === 'encrypt' ? 'Encrypt' : 'Decrypt'} after an Update`);
      if (op.cipher!.once) return op.cipher!.once(data);
      const head = await op.cipher!.update(data);
      const tail = await op.cipher!.final();
      // Buffering providers (AES-GCM) return everything from final: skip a copy of the whole output.
      return head.length === 0 && wholeBuffer(tail) ? tail : concat([head, tail]);
    });
  }

  async #cipherUpdate(session: number, data: Uint8Array, kind: 'encrypt' | 'decrypt'): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.get<CipherOp>(kind);
    return this.#endingOnError(s, kind, async () => {
      noUpdate(op, kind === 'encrypt' ? 'C_EncryptUpdate' : 'C_DecryptUpdate');
      contextLoginDone(op);
      op.updated = true;
      return op.cipher!.update(bytesArg(data, 'data'));
    });
  }

  async #cipherFinal(session: number, kind: 'encrypt' | 'decrypt'): Promise<Uint8Array> {
    const s = this.#session(session);
    const op = s.get<CipherOp>(kind);
    return this.#ending(s, kind, async () => {
      noUpdate(op, kind === 'encrypt' ? 'C_EncryptFinal' : 'C_DecryptFinal');
      contextLoginDone(op);
      return op.cipher!.final();
    });
  }

  /** Run the last step of an operation: it ends whatever happens. */
  async #ending<T>(s: Session, kind: OperationKind, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      s.end(kind);
    }
  }

  /** Run a middle step: a failure ends the operation. */
  async #endingOnError<T>(s: Session, kind: OperationKind, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      s.end(kind);
      throw e;
    }
  }

  async #messageInit(session: number, mechanism: Mechanism, key: number, kind: OperationKind, operation: 'encrypt' | 'decrypt' | 'sign' | 'verify'): Promise<void> {
    const s = this.#session(session);
    s.assertIdle(kind);
    const m = mechanismArg(mechanism);
    if ((operation === 'encrypt' || operation === 'decrypt') && m.mechanism !== CKM_AES_GCM) {
      throw ckr(CKR_MECHANISM_INVALID, 'message-based encryption is offered for CKM_AES_GCM');
    }
    // The per-message parameter replaces the init parameter; check the key with a neutral one.
    const probe = operation === 'encrypt' || operation === 'decrypt' ? { mechanism: m.mechanism, parameter: { iv: new Uint8Array(12) } } : m;
    const { provider, object, access } = await this.#useKey(s, probe, key, operation);
    const alwaysAuthenticate = operation === 'sign' && object.get(CKA_ALWAYS_AUTHENTICATE) === true;
    s.begin<MessageOp>(kind, { keyObjectId: object.id, provider, key: access, mechanism: m, alwaysAuthenticate, needsContextLogin: alwaysAuthenticate });
  }

  #gcmMessageParams(parameter: unknown, direction: 'encrypt' | 'decrypt'): GcmMessageParams {
    if (typeof parameter !== 'object' || parameter === null || !(Object.hasOwn(parameter, 'iv'))) {
      throw ckr(CKR_MECHANISM_PARAM_INVALID, 'expected GcmMessageParams { iv, tagBits, … }');
    }
    const p = parameter as GcmMessageParams;
    const bad = (why: string) => ckr(CKR_MECHANISM_PARAM_INVALID, why);
    // The IV rules are the GCM provider's (length bounds): one answer for C_EncryptInit and messages.
    if (!(p.iv instanceof Uint8Array)) throw bad('iv: expected bytes');
    if (typeof p.tagBits !== 'number' || ![96, 104, 112, 120, 128].includes(p.tagBits)) throw bad('tagBits: 96..128 in steps of 8');
    const generator = p.ivGenerator ?? CKG_NO_GENERATE;
    if (![CKG_NO_GENERATE, CKG_GENERATE, CKG_GENERATE_COUNTER, CKG_GENERATE_RANDOM].includes(generator)) {
      throw bad('ivGenerator: expected a CKG_ value');
    }
    const fixedBits = p.ivFixedBits ?? 0;
    if (typeof fixedBits !== 'number' || !Number.isInteger(fixedBits) || fixedBits < 0 || fixedBits > 8 * p.iv.length || fixedBits % 8 !== 0) {
      throw bad(`ivFixedBits: expected a multiple of 8 in 0..${8 * p.iv.length}`);
    }
    if (direction === 'decrypt' && !(p.tag instanceof Uint8Array && p.tag.length === p.tagBits / 8)) {
      throw bad('tag: expected tagBits/8 bytes');
    }
    return p;
  }

  /** Generate the IV when the caller asks the token to (ivGenerator other than CKG_NO_GENERATE). */
  #fillIv(p: GcmMessageParams): GcmMessageParams {
    const generator = p.ivGenerator ?? CKG_NO_GENERATE;
    if (generator === CKG_NO_GENERATE) return { ...p, iv: p.iv.slice() };
    // Counter and random generation both come out random here: unpredictable IVs satisfy either.
    const fixedBytes = (p.ivFixedBits ?? 0) / 8;
    const iv = p.iv.slice();
    iv.set(this.engine.sealer.randomBytes(iv.length - fixedBytes), fixedBytes);
    return { ...p, iv };
  }

  async #encryptMessage(op: MessageOp, parameter: MessageParameter, associatedData: Uint8Array, chunks: Uint8Array[], alreadyFilled = false): Promise<EncryptMessageResult> {
    const checked = this.#gcmMessageParams(parameter, 'encrypt');
    const p = alreadyFilled ? checked : this.#fillIv(checked);
    const cipher = await op.provider!.encrypt!(op.key!, op.provider!.check({ iv: p.iv, aad: associatedData, tagBits: p.tagBits }), this.engine.crypto);
    const out = concat([await cipher.update(concat(chunks)), await cipher.final()]);
    const tagLength = p.tagBits / 8;
    return {
      ciphertext: out.slice(0, out.length - tagLength),
      parameter: { ...p, iv: p.iv.slice(), tag: out.slice(out.length - tagLength) },
    };
  }

  async #decryptMessage(op: MessageOp, parameter: MessageParameter, associatedData: Uint8Array, chunks: Uint8Array[]): Promise<Uint8Array> {
    const p = this.#gcmMessageParams(parameter, 'decrypt');
    const cipher = await op.provider!.decrypt!(op.key!, op.provider!.check({ iv: p.iv, aad: associatedData, tagBits: p.tagBits }), this.engine.crypto);
    return concat([await cipher.update(concat([...chunks, p.tag as Uint8Array])), await cipher.final()]);
  }

  async #signMessage(op: MessageOp, chunks: Uint8Array[]): Promise<Uint8Array> {
    contextLoginDone(op);
    // The login is spent on this message, whatever its outcome.
    op.needsContextLogin = op.alwaysAuthenticate === true;
    const signer = await op.provider!.sign!(op.key!, op.provider!.check(op.mechanism!.parameter), this.engine.crypto);
    await signer.update(concat(chunks));
    return signer.final();
  }

  async #verifyMessage(op: MessageOp, chunks: Uint8Array[], signature: Uint8Array): Promise<boolean> {
    const verifier = await op.provider!.verify!(op.key!, op.provider!.check(op.mechanism!.parameter), this.engine.crypto);
    await verifier.update(concat(chunks));
    return verifier.final(signature);
  }
}

// ------------------------------------------------------------------ helpers

const INTERFACES: readonly InterfaceInfo[] = [
  { name: 'PKCS 11', version: { major: 3, minor: 0 }, flags: 0 },
  { name: 'PKCS 11', version: { major: 2, minor: 40 }, flags: 0 },
];

const USAGE = { encrypt: CKA_ENCRYPT, decrypt: CKA_DECRYPT, sign: CKA_SIGN, verify: CKA_VERIFY } as const;

/** The key type each key-generation mechanism makes when the template does not say. */
const KEY_GEN_TYPES = new Map<number, number>([
  [CKM_AES_KEY_GEN, CKK_AES], [CKM_GENERIC_SECRET_KEY_GEN, CKK_GENERIC_SECRET], [CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA],
  [CKM_EC_KEY_PAIR_GEN, CKK_EC], [CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS],
]);

function toPkcs11Error(e: unknown, method: string): Pkcs11Error {
  if (e instanceof CkrError) return new Pkcs11Error(e.code, method, e.detail);
  if (e instanceof Pkcs11Error) return new Pkcs11Error(e.code, method, e.message.replace(/^CKR_\w+(: )?/, '') || undefined);
  // Anything else is our bug or the platform's: never let it out raw, never echo its data.
  return new Pkcs11Error(e instanceof DOMException ? CKR_FUNCTION_FAILED : CKR_GENERAL_ERROR, method,
    e instanceof Error ? `internal: ${e.name}` : 'internal error');
}

function pinArg(pin: unknown, name: string): string {
  const text = stringArg(pin, name);
  const length = [...text].length;
  if (length < MIN_PIN_LENGTH || length > MAX_PIN_LENGTH) throw ckr(CKR_PIN_LEN_RANGE, `${name}: ${MIN_PIN_LENGTH} to ${MAX_PIN_LENGTH} characters`);
  // C_Login reads such a string as a security-key factor (factors.ts), so it can never be a PIN.
  if (isFactorPin(text)) throw ckr(CKR_PIN_INVALID, `${name}: may not begin with "prf:"`);
  return text;
}

function labelArg(label: unknown): string {
  const text = stringArg(label, 'label');
  if (new TextEncoder().encode(text).length > 32) throw ckr(CKR_ARGUMENTS_BAD, 'label: at most 32 bytes of UTF-8');
  return text.replace(/ +$/, '');
}

function readerOf(map: AttributeMap) {
  return { get: (t: number) => map.get(t), has: (t: number) => map.has(t) };
}

/** Add what the mechanism computed; a caller's explicit value that disagrees is inconsistent. */
function mergeComputed(attributes: AttributeMap, computed: Attribute[], template: AttributeMap): AttributeMap {
  const next = new Map(attributes);
  for (const { type, value } of computed) {
    if (value === undefined) continue;
    const given = template.get(type);
    if (given !== undefined && !valuesEqual(given, value)) {
      throw ckr(CKR_TEMPLATE_INCONSISTENT, `the template's value of attribute 0x${type.toString(16)} disagrees with the key`);
    }
    next.set(type, value);
  }
  return next;
}

function matchesTemplate(attributes: AttributeMap, template: Attribute[]): boolean {
  return template.every((a) => valuesEqual(attributes.get(a.type), a.value));
}

/** Apply an unwrap/derive template of the key: its values are imposed; a contradiction is refused. */
function withTemplate(values: AttributeMap, imposed: AttributeValue | undefined, name: string): AttributeMap {
  if (!Array.isArray(imposed) || imposed.length === 0) return values;
  const next = new Map(values);
  for (const a of imposed as Attribute[]) {
    if (a.value === undefined) continue;
    const given = values.get(a.type);
    if (given !== undefined && !valuesEqual(given, a.value)) throw ckr(CKR_TEMPLATE_INCONSISTENT, `the template contradicts ${name}`);
    next.set(a.type, a.value);
  }
  return next;
}

function allowedMechanism(object: EngineObject, mechanism: number): void {
  const allowed = object.get(CKA_ALLOWED_MECHANISMS);
  if (Array.isArray(allowed) && allowed.length > 0 && !(allowed as number[]).includes(mechanism)) {
    throw ckr(CKR_MECHANISM_INVALID, `${ckmName(mechanism)} is not in the key's CKA_ALLOWED_MECHANISMS`);
  }
}

/** Single-part mechanisms refuse Update and Final. Called inside #ending/#endingOnError: like any failed Update or Final, it ends the operation (§5.8). */
function noUpdate(op: ActiveOperation, method: string): void {
  if (op.singlePart) throw ckr(CKR_FUNCTION_NOT_SUPPORTED, `${method}: this mechanism is single-part`);
}

/** The v3.0 message-based functions this engine runs on top of a provider (see #messageInit). */
function messageFlags(provider: MechanismProvider): number {
  if (provider.mechanism === CKM_AES_GCM) return CKF_MESSAGE_ENCRYPT | CKF_MESSAGE_DECRYPT;
  return (provider.sign ? CKF_MESSAGE_SIGN : 0) | (provider.verify ? CKF_MESSAGE_VERIFY : 0);
}

/** CKA_ALWAYS_AUTHENTICATE: the operation waits for C_Login(CKU_CONTEXT_SPECIFIC). */
function contextLoginDone(op: ActiveOperation): void {
  if (op.needsContextLogin) throw ckr(CKR_USER_NOT_LOGGED_IN, 'CKA_ALWAYS_AUTHENTICATE: C_Login(CKU_CONTEXT_SPECIFIC) first');
}

function noMessageParameter(parameter: unknown): void {
  if (parameter !== undefined && !(parameter instanceof Uint8Array && parameter.length === 0)) {
    throw ckr(CKR_MECHANISM_PARAM_INVALID, 'signature mechanisms take no per-message parameter');
  }
}

/** A view of its entire buffer: returning it hands out no bytes beyond its own. */
function wholeBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

