/**
 * Session and SessionObject: PKCS#11 sessions and objects with friendly templates and mechanism
 * names (miekg/pkcs11's p11 layer). Each method is a short sequence of C_ calls; an operation's
 * Init and its call go as one batch (one round trip to a worker). Failures stay Pkcs11Errors.
 */
import { CKF_RW_SESSION, CKR_ATTRIBUTE_VALUE_INVALID, CKU_SO, CKU_USER, Pkcs11Error, cksName } from '@vhsm/pkcs11';
import type { CryptokiApiV3 } from '@vhsm/pkcs11';
import { batch } from '../batch.js';
import { attributeTypes, decodeTemplate, encodeTemplate, splitPair } from './attributes.js';
import type { AttributeName, AttributeRecord, FriendlyAttributes } from './attributes.js';
import { KEY_GENERATION, KEY_PAIR_GENERATION, generationOf, toMechanism } from './mechanisms.js';
import type {
  CipherMechanisms, DeriveMechanisms, DigestMechanisms, FriendlyMechanism, KeyPairAlgorithm, KeyPairParameters,
  SecretKeyAlgorithm, SignatureMechanisms,
} from './mechanisms.js';

/** A key or other object: a SessionObject or a raw handle. */
export type ObjectRef = SessionObject | number;

/** Options of generateKey: the key's attributes and its length in bits. */
export type SecretKeyOptions = Omit<FriendlyAttributes, 'class' | 'keyType' | 'valueLen'> & { bits: number };

/**
 * Options of generateKeyPair: the algorithm's parameters; attributes for the pair (each goes to
 * the half it belongs to: sign, decrypt, unwrap, derive, sensitive, extractable… to the private
 * key, verify, encrypt, wrap, trusted… to the public key, the rest to both); and `publicKey` /
 * `privateKey` for attributes of one half only (these win).
 */
export type KeyPairOptions<A extends KeyPairAlgorithm> = KeyPairParameters[A] &
  Omit<FriendlyAttributes, 'class' | 'keyType' | 'ecParams' | 'modulusBits' | 'publicExponent'> & {
    publicKey?: FriendlyAttributes;
    privateKey?: FriendlyAttributes;
  };

export interface FriendlyKeyPair {
  publicKey: SessionObject;
  privateKey: SessionObject;
}

export interface FriendlySessionInfo {
  slot: number;
  /** The CKS_ name, e.g. CKS_RW_USER_FUNCTIONS. */
  state: string;
  readWrite: boolean;
}

/** The option names of each pair algorithm that are not attributes. */
const PAIR_PARAMETERS: { readonly [A in KeyPairAlgorithm]: readonly (keyof KeyPairParameters[A])[] } = {
  EC: ['curve'],
  RSA: ['modulusBits', 'publicExponent'],
  Ed25519: [],
};

const handleOf = (ref: ObjectRef): number => (typeof ref === 'number' ? ref : ref.handle);

export class SessionObject {
  constructor(
    readonly session: Session,
    readonly handle: number,
  ) {}

  /** The named attributes, typed: `get(['label', 'sensitive'])` → `{ label: string; sensitive: boolean }`. */
  async get<const N extends AttributeName>(names: readonly N[]): Promise<AttributeRecord<N>> {
    const template = attributeTypes(names, 'C_GetAttributeValue');
    const values = await this.session.api.C_GetAttributeValue(this.session.handle, this.handle, template);
    return decodeTemplate(values) as AttributeRecord<N>;
  }

  set(attributes: FriendlyAttributes): Promise<void> {
    return this.session.api.C_SetAttributeValue(this.session.handle, this.handle, encodeTemplate(attributes, 'C_SetAttributeValue'));
  }

  async copy(attributes: FriendlyAttributes = {}): Promise<SessionObject> {
    const handle = await this.session.api.C_CopyObject(this.session.handle, this.handle, encodeTemplate(attributes, 'C_CopyObject'));
    return new SessionObject(this.session, handle);
  }

  destroy(): Promise<void> {
    return this.session.api.C_DestroyObject(this.session.handle, this.handle);
  }
}

export class Session {
  constructor(
    readonly api: CryptokiApiV3,
    readonly handle: number,
  ) {}

  async info(): Promise<FriendlySessionInfo> {
    const info = await this.api.C_GetSessionInfo(this.handle);
    return { slot: info.slotID, state: cksName(info.state), readWrite: (info.flags & CKF_RW_SESSION) !== 0 };
  }

  /** Logs the user in, or the security officer with `so`. `pin` is omitted only with a protected authentication path. */
  login(pin?: string, options: { so?: boolean } = {}): Promise<void> {
    return this.api.C_Login(this.handle, options.so === true ? CKU_SO : CKU_USER, pin);
  }

  logout(): Promise<void> {
    return this.api.C_Logout(this.handle);
  }

  /** Sets the user's PIN (the SO, logged in). */
  initPin(pin: string): Promise<void> {
    return this.api.C_InitPIN(this.handle, pin);
  }

  /** Changes the PIN of whoever is logged in (the user when nobody is). */
  setPin(oldPin: string, newPin: string): Promise<void> {
    return this.api.C_SetPIN(this.handle, oldPin, newPin);
  }

  /** A secret key: `generateKey('AES', { bits: 256, label: 'kek', wrap: true, unwrap: true })`. */
  async generateKey(algorithm: SecretKeyAlgorithm, options: SecretKeyOptions): Promise<SessionObject> {
    const method = 'C_GenerateKey';
    const { bits, ...attributes } = options;
    if (!Number.isInteger(bits) || bits <= 0 || bits % 8 !== 0) {
      throw new Pkcs11Error(CKR_ATTRIBUTE_VALUE_INVALID, method, 'bits: expected a positive multiple of 8');
    }
    const mechanism = { mechanism: generationOf(KEY_GENERATION, algorithm, method) };
    const template = encodeTemplate({ ...attributes, valueLen: bits / 8 }, method);
    return new SessionObject(this, await this.api.C_GenerateKey(this.handle, mechanism, template));
  }

  /** A key pair: `generateKeyPair('EC', { curve: 'P-256', label: 'signer', sign: true, verify: true })`. */
  async generateKeyPair<A extends KeyPairAlgorithm>(algorithm: A, options: KeyPairOptions<A>): Promise<FriendlyKeyPair> {
    const method = 'C_GenerateKeyPair';
    const generation = generationOf(KEY_PAIR_GENERATION, algorithm, method) as (p: unknown, method: string) => { mechanism: number; attributes: FriendlyAttributes };
    const { publicKey = {}, privateKey = {}, ...rest } = options;
    const { mechanism, attributes } = generation(rest, method);
    const shared: Record<string, unknown> = { ...rest };
    for (const name of PAIR_PARAMETERS[algorithm]) delete shared[name as string];
    const halves = splitPair({ ...(shared as FriendlyAttributes), ...attributes }, method);
    const pair = await this.api.C_GenerateKeyPair(
      this.handle,
      { mechanism },
      encodeTemplate({ ...halves.public, ...publicKey }, method),
      encodeTemplate({ ...halves.private, ...privateKey }, method),
    );
    return { publicKey: new SessionObject(this, pair.publicKey), privateKey: new SessionObject(this, pair.privateKey) };
  }

  /** Creates (imports) an object from its attributes. */
  async create(attributes: FriendlyAttributes): Promise<SessionObject> {
    return new SessionObject(this, await this.api.C_CreateObject(this.handle, encodeTemplate(attributes, 'C_CreateObject')));
  }

  /**
   * The objects matching `query`. The search runs to its end (C_FindObjectsFinal) before the first
   * object is yielded, so the loop's body may use the session freely and may stop early.
   */
  async *find(query: FriendlyAttributes = {}): AsyncGenerator<SessionObject, void, undefined> {
    await this.api.C_FindObjectsInit(this.handle, encodeTemplate(query, 'C_FindObjectsInit'));
    const handles: number[] = [];
    try {
      for (let found = await this.api.C_FindObjects(this.handle, 256); found.length > 0; found = await this.api.C_FindObjects(this.handle, 256)) {
        handles.push(...found);
      }
    } finally {
      await this.api.C_FindObjectsFinal(this.handle);
    }
    for (const handle of handles) yield new SessionObject(this, handle);
  }

  /** The first object matching `query`, or undefined. */
  async findOne(query: FriendlyAttributes): Promise<SessionObject | undefined> {
    for await (const object of this.find(query)) return object;
    return undefined;
  }

  object(handle: number): SessionObject {
    return new SessionObject(this, handle);
  }

  async encrypt(mechanism: FriendlyMechanism<CipherMechanisms>, key: ObjectRef, data: Uint8Array): Promise<Uint8Array> {
    const m = toMechanism(mechanism, 'C_EncryptInit');
    return (await batch(this.api, [['C_EncryptInit', this.handle, m, handleOf(key)], ['C_Encrypt', this.handle, data]]))[1];
  }

  async decrypt(mechanism: FriendlyMechanism<CipherMechanisms>, key: ObjectRef, data: Uint8Array): Promise<Uint8Array> {
    const m = toMechanism(mechanism, 'C_DecryptInit');
    return (await batch(this.api, [['C_DecryptInit', this.handle, m, handleOf(key)], ['C_Decrypt', this.handle, data]]))[1];
  }

  async sign(mechanism: FriendlyMechanism<SignatureMechanisms>, key: ObjectRef, data: Uint8Array): Promise<Uint8Array> {
    const m = toMechanism(mechanism, 'C_SignInit');
    return (await batch(this.api, [['C_SignInit', this.handle, m, handleOf(key)], ['C_Sign', this.handle, data]]))[1];
  }

  /** false for a wrong signature; other failures reject. */
  async verify(mechanism: FriendlyMechanism<SignatureMechanisms>, key: ObjectRef, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const m = toMechanism(mechanism, 'C_VerifyInit');
    return (await batch(this.api, [['C_VerifyInit', this.handle, m, handleOf(key)], ['C_Verify', this.handle, data, signature]]))[1];
  }

  async digest(mechanism: FriendlyMechanism<DigestMechanisms>, data: Uint8Array): Promise<Uint8Array> {
    const m = toMechanism(mechanism, 'C_DigestInit');
    return (await batch(this.api, [['C_DigestInit', this.handle, m], ['C_Digest', this.handle, data]]))[1];
  }

  wrap(mechanism: FriendlyMechanism<CipherMechanisms>, wrappingKey: ObjectRef, key: ObjectRef): Promise<Uint8Array> {
    return this.api.C_WrapKey(this.handle, toMechanism(mechanism, 'C_WrapKey'), handleOf(wrappingKey), handleOf(key));
  }

  /** A key from `wrapped`; `attributes` describe it (class and keyType at least). */
  async unwrap(
    mechanism: FriendlyMechanism<CipherMechanisms>,
    unwrappingKey: ObjectRef,
    wrapped: Uint8Array,
    attributes: FriendlyAttributes,
  ): Promise<SessionObject> {
    const method = 'C_UnwrapKey';
    const handle = await this.api.C_UnwrapKey(this.handle, toMechanism(mechanism, method), handleOf(unwrappingKey), wrapped, encodeTemplate(attributes, method));
    return new SessionObject(this, handle);
  }

  async derive(mechanism: FriendlyMechanism<DeriveMechanisms>, baseKey: ObjectRef, attributes: FriendlyAttributes): Promise<SessionObject> {
    const method = 'C_DeriveKey';
    const handle = await this.api.C_DeriveKey(this.handle, toMechanism(mechanism, method), handleOf(baseKey), encodeTemplate(attributes, method));
    return new SessionObject(this, handle);
  }

  random(length: number): Promise<Uint8Array> {
    return this.api.C_GenerateRandom(this.handle, length);
  }

  close(): Promise<void> {
    return this.api.C_CloseSession(this.handle);
  }
}
