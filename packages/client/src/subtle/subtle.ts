/**
 * SubtleCrypto over the token: same method names, arguments and outputs as crypto.subtle, keys are
 * token objects. New keys are session objects of this application (keyStorage makes them
 * persistent). Each operation borrows a session from a pool and pipelines Init and the operation
 * in one round trip, so many calls can be in flight at once.
 *
 * The page's own WebCrypto is used only to translate public formats (jwk, pkcs8, spki) of keys
 * whose bytes the caller already holds; token keys never pass through it.
 */
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_EXTRACTABLE,
  CKA_ID, CKA_KEY_TYPE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE,
  CKA_PRIVATE_EXPONENT, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_TOKEN, CKA_VALUE, CKA_VALUE_LEN, CKD_NULL,
  CKF_HKDF_SALT_DATA, CKF_HKDF_SALT_NULL, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_AES_CBC_PAD, CKM_AES_CTR,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_ECDH1_DERIVE, CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN, CKM_EDDSA, CKM_GENERIC_SECRET_KEY_GEN, CKM_HKDF_DERIVE, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_UNEXTRACTABLE, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_SLOT_ID_INVALID, CKR_TEMPLATE_INCONSISTENT, CKZ_DATA_SPECIFIED, isPkcs11Error,
  CKM_PKCS5_PBKD2, CKP_PKCS5_PBKD2_HMAC_SHA1, CKP_PKCS5_PBKD2_HMAC_SHA256, CKP_PKCS5_PBKD2_HMAC_SHA384,
  CKP_PKCS5_PBKD2_HMAC_SHA512, CKZ_SALT_SPECIFIED,
} from '@vhsm/pkcs11';
import type { Attribute, CryptokiApiV3, Mechanism, Template } from '@vhsm/pkcs11';
import { TRANSFER_THRESHOLD } from '@vhsm/worker/protocol';
import { batch } from '../batch.js';
import type { Pkcs11Call } from '../batch.js';
import {
  FAMILY, HASHES, KEY_TYPE, checkUsages, hashOf, normalize, usageAttributes,
} from './algorithms.js';
import type { AlgorithmName, Family, HashName, Params } from './algorithms.js';
import { CURVES, OID, concat, unwrapOctetString } from './der.js';
import type { CurveName } from './der.js';
import { facadeError, toFacadeError } from './errors.js';

export interface FacadeOptions {
  /** The slot whose token holds the facade's keys (default: the first slot). */
  slot?: number;
  /** Most sessions the facade keeps open for concurrent operations (default 64). */
  maxSessions?: number;
  /** WebCrypto used to translate jwk/pkcs8/spki of caller-supplied keys (default globalThis.crypto). */
  crypto?: Crypto;
}

export type KeyAlgorithmLike = { name: string } & Record<string, unknown>;
type SigningName = Exclude<AlgorithmName, HashName>;

/** A CryptoKey-like object naming a token object of this application. */
export class VhsmCryptoKey {
  readonly type: KeyType;
  readonly extractable: boolean;
  readonly algorithm: KeyAlgorithmLike;
  readonly usages: KeyUsage[];
  /** The object handle (valid in this application only). */
  readonly handle: number;
  /** CKA_ID: shared by the two halves of a key pair, stable across reloads for stored keys. */
  readonly id: Uint8Array;
  /** CKA_TOKEN: stored on the token (keyStorage) rather than a session object. */
  readonly token: boolean;

  constructor(init: { type: KeyType; extractable: boolean; algorithm: KeyAlgorithmLike; usages: KeyUsage[]; handle: number; id: Uint8Array; token: boolean }) {
    this.type = init.type;
    this.extractable = init.extractable;
    this.algorithm = Object.freeze({ ...init.algorithm });
    this.usages = [...init.usages];
    this.handle = init.handle;
    this.id = init.id;
    this.token = init.token;
    Object.freeze(this);
  }

  get [Symbol.toStringTag](): string {
    return 'CryptoKey';
  }
}

export interface VhsmCryptoKeyPair {
  publicKey: VhsmCryptoKey;
  privateKey: VhsmCryptoKey;
}

const SESSION_FLAGS = CKF_SERIAL_SESSION | CKF_RW_SESSION;
/** PKCS#11's "no object" handle: what a PBKDF2 key names, since its password is held here. */
const CK_INVALID_HANDLE = 0;
const PBKDF2_PRF: Readonly<Record<HashName, number>> = {
  'SHA-1': CKP_PKCS5_PBKD2_HMAC_SHA1, 'SHA-256': CKP_PKCS5_PBKD2_HMAC_SHA256,
  'SHA-384': CKP_PKCS5_PBKD2_HMAC_SHA384, 'SHA-512': CKP_PKCS5_PBKD2_HMAC_SHA512,
};
type InitName = 'C_EncryptInit' | 'C_DecryptInit' | 'C_SignInit' | 'C_VerifyInit';
type OperationName = 'C_Encrypt' | 'C_Decrypt' | 'C_Sign' | 'C_Verify';
const NOOP = (): void => undefined;

/** Sessions for operations: borrowed, returned, or closed if an operation failed mid-way. */
class SessionPool {
  readonly #p11: CryptokiApiV3;
  readonly #slot: number;
  readonly #max: number;
  readonly #idle: number[] = [];
  readonly #waiting: ((session: number) => void)[] = [];
  #open = 0;

  constructor(p11: CryptokiApiV3, slot: number, max: number) {
    this.#p11 = p11;
    this.#slot = slot;
    this.#max = max;
  }

  async acquire(): Promise<number> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#open >= this.#max) return new Promise((resolve) => this.#waiting.push(resolve));
    this.#open++;
    try {
      return await this.#p11.C_OpenSession(this.#slot, SESSION_FLAGS);
    } catch (e) {
      this.#open--;
      throw e;
    }
  }

  release(session: number): void {
    const next = this.#waiting.shift();
    if (next) next(session);
    else this.#idle.push(session);
  }

  /** An operation failed part-way: the session may still hold it, so close it. */
  discard(session: number): void {
    this.#open--;
    this.#p11.C_CloseSession(session).catch(NOOP);
    const next = this.#waiting.shift();
    if (next) void this.acquire().then(next, NOOP);
  }
}

interface Context {
  slot: number;
  /** Creates and reads objects; never closed, so session objects live as long as the application. */
  owner: number;
  pool: SessionPool;
}

export class VhsmSubtle {
  readonly #p11: CryptokiApiV3;
  readonly #options: FacadeOptions;
  /** PBKDF2 keys' passwords: in the facade only, never on the key object, never exportable. */
  readonly #passwords = new WeakMap<VhsmCryptoKey, Uint8Array>();
  #context: Promise<Context> | undefined;

  constructor(pkcs11: CryptokiApiV3, options: FacadeOptions = {}) {
    this.#p11 = pkcs11;
    this.#options = options;
  }

  /** The application's Cryptoki the facade works through. */
  get pkcs11(): CryptokiApiV3 {
    return this.#p11;
  }

  get #native(): SubtleCrypto {
    return (this.#options.crypto ?? globalThis.crypto).subtle;
  }

  /** The slot and sessions the facade works in; initializes the application if nobody has. */
  context(): Promise<Context> {
    this.#context ??= (async () => {
      const p11 = this.#p11;
      let slots: number[];
      try {
        slots = await p11.C_GetSlotList(true);
      } catch (e) {
        if (!isPkcs11Error(e) || e.code !== CKR_CRYPTOKI_NOT_INITIALIZED) throw e;
        await p11.C_Initialize();
        slots = await p11.C_GetSlotList(true);
      }
      const slot = this.#options.slot ?? slots[0];
      if (slot === undefined || !slots.includes(slot)) throw facadeError('OperationError', 'no such slot', CKR_SLOT_ID_INVALID);
      const owner = await p11.C_OpenSession(slot, SESSION_FLAGS);
      return { slot, owner, pool: new SessionPool(p11, slot, this.#options.maxSessions ?? 64) };
    })();
    this.#context.catch(() => (this.#context = undefined));
    return this.#context;
  }

  // ------------------------------------------------------------------------------------ operations

  encrypt(algorithm: AlgorithmIdentifier | Params, key: VhsmCryptoKey, data: BufferSource): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(key, params.name, 'encrypt');
      const out = await this.#operate('C_EncryptInit', 'C_Encrypt', this.#cipherMechanism(params, key), key, bytes(data, 'data'));
      return buffer(out as Uint8Array);
    });
  }

  decrypt(algorithm: AlgorithmIdentifier | Params, key: VhsmCryptoKey, data: BufferSource): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(key, params.name, 'decrypt');
      const out = await this.#operate('C_DecryptInit', 'C_Decrypt', this.#cipherMechanism(params, key), key, bytes(data, 'data'));
      return buffer(out as Uint8Array);
    });
  }

  sign(algorithm: AlgorithmIdentifier | Params, key: VhsmCryptoKey, data: BufferSource): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(key, params.name, 'sign');
      const out = await this.#operate('C_SignInit', 'C_Sign', this.#signMechanism(params, key), key, bytes(data, 'data'));
      return buffer(out as Uint8Array);
    });
  }

  verify(algorithm: AlgorithmIdentifier | Params, key: VhsmCryptoKey, signature: BufferSource, data: BufferSource): Promise<boolean> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(key, params.name, 'verify');
      return (await this.#operate('C_VerifyInit', 'C_Verify', this.#signMechanism(params, key), key, bytes(data, 'data'),
        bytes(signature, 'signature'))) as boolean;
    });
  }

  digest(algorithm: AlgorithmIdentifier, data: BufferSource): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const mechanism = { mechanism: HASHES[hashOf(algorithm)].digest };
      const [message, transfer] = handOver(bytes(data, 'data'));
      return buffer(await this.#onSession(transfer, (session) => [['C_DigestInit', session, mechanism], ['C_Digest', session, message]]) as Uint8Array);
    });
  }

  /** Random bytes from the token. Asynchronous, unlike crypto.getRandomValues. */
  getRandomValues<T extends ArrayBufferView>(array: T): Promise<T> {
    return this.#guard(async () => {
      if (!ArrayBuffer.isView(array)) throw new TypeError('array: expected an ArrayBufferView');
      if (array.byteLength > 65_536) throw facadeError('OperationError', 'QuotaExceededError: more than 65536 bytes', CKR_MECHANISM_PARAM_INVALID);
      const { owner } = await this.context();
      const random = await this.#p11.C_GenerateRandom(owner, array.byteLength);
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(random);
      return array;
    });
  }

  // ------------------------------------------------------------------------------------ keys

  generateKey(algorithm: AlgorithmIdentifier | Params, extractable: boolean, keyUsages: KeyUsage[]): Promise<VhsmCryptoKey | VhsmCryptoKeyPair> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      const name = signingName(params.name);
      const family = FAMILY[name];
      const { owner } = await this.context();
      const id = randomId();
      if (family === 'aes' || family === 'hmac') {
        const usages = checkUsages(name, 'secret', keyUsages);
        if (usages.length === 0) throw facadeError('SyntaxError', 'keyUsages: empty', CKR_TEMPLATE_INCONSISTENT);
        const keyAlgorithm = secretAlgorithm(params, undefined);
        const length = keyAlgorithm['length'] as number;
        const template = [...this.#secretTemplate(family, id, extractable, usages), { type: CKA_VALUE_LEN, value: length / 8 }];
        const mechanism = family === 'aes' ? CKM_AES_KEY_GEN : CKM_GENERIC_SECRET_KEY_GEN;
        const handle = await this.#p11.C_GenerateKey(owner, { mechanism }, template);
        return new VhsmCryptoKey({ type: 'secret', extractable, algorithm: keyAlgorithm, usages, handle, id, token: false });
      }
      if (family === 'kdf') throw facadeError('NotSupportedError', `${name} keys are imported, not generated`, CKR_MECHANISM_INVALID);
      const usages = checkUsages(name, 'pair', keyUsages);
      const publicUsages = usages.filter((u) => USAGE_OF_HALF.public.includes(u));
      const privateUsages = usages.filter((u) => USAGE_OF_HALF.private.includes(u));
      if (privateUsages.length === 0) throw facadeError('SyntaxError', 'keyUsages: no usage for the private key', CKR_TEMPLATE_INCONSISTENT);
      const { mechanism, publicTemplate, keyAlgorithm } = keyPairSpec(params, name, family);
      const pair = await this.#p11.C_GenerateKeyPair(owner, mechanism,
        [...this.#publicTemplate(id, publicUsages), ...publicTemplate],
        this.#privateTemplate(id, extractable, privateUsages));
      return {
        publicKey: new VhsmCryptoKey({ type: 'public', extractable: true, algorithm: keyAlgorithm, usages: publicUsages, handle: pair.publicKey, id, token: false }),
        privateKey: new VhsmCryptoKey({ type: 'private', extractable, algorithm: keyAlgorithm, usages: privateUsages, handle: pair.privateKey, id, token: false }),
      };
    });
  }

  importKey(format: KeyFormat, keyData: BufferSource | JsonWebKey, algorithm: AlgorithmIdentifier | Params, extractable: boolean, keyUsages: KeyUsage[]): Promise<VhsmCryptoKey> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      const name = signingName(params.name);
      const family = FAMILY[name];
      const { owner } = await this.context();
      const id = randomId();
      if (family === 'aes' || family === 'hmac' || family === 'kdf') {
        const usages = checkUsages(name, 'secret', keyUsages);
        if (family === 'kdf' && extractable) throw facadeError('SyntaxError', `${name} keys cannot be extractable`, CKR_TEMPLATE_INCONSISTENT);
        const value = await this.#secretBytes(format, keyData, params, extractable, usages);
        const keyAlgorithm = family === 'kdf' ? { name } : secretAlgorithm(params, value.length * 8);
        if (name === 'PBKDF2') {
          // PKCS#11's PBKDF2 is key generation with the password as the mechanism parameter, not a
          // key: the facade keeps the caller's password and hands it over at each derivation.
          const key = new VhsmCryptoKey({ type: 'secret', extractable: false, algorithm: keyAlgorithm, usages, handle: CK_INVALID_HANDLE, id, token: false });
          this.#passwords.set(key, value);
          return key;
        }
        if (family === 'aes' && ![16, 24, 32].includes(value.length)) {
          throw facadeError('DataError', 'AES keys are 128, 192 or 256 bits', CKR_TEMPLATE_INCONSISTENT);
        }
        const handle = await this.#p11.C_CreateObject(owner, [
          { type: CKA_CLASS, value: CKO_SECRET_KEY }, ...this.#secretTemplate(family, id, extractable, usages), { type: CKA_VALUE, value },
        ]);
        return new VhsmCryptoKey({ type: 'secret', extractable, algorithm: keyAlgorithm, usages, handle, id, token: false });
      }
      const { jwk, keyAlgorithm } = await this.#asymmetricJwk(format, keyData, params, name, family);
      const isPrivate = typeof jwk.d === 'string';
      const usages = checkUsages(name, isPrivate ? 'private' : 'public', keyUsages);
      const components = asymmetricAttributes(jwk, family, keyAlgorithm);
      const template: Template = isPrivate
        ? [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, ...this.#privateTemplate(id, extractable, usages), ...components]
        : [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, ...this.#publicTemplate(id, usages), ...components];
      template.push({ type: CKA_KEY_TYPE, value: KEY_TYPE[family] });
      const handle = await this.#p11.C_CreateObject(owner, template);
      return new VhsmCryptoKey({
        type: isPrivate ? 'private' : 'public', extractable: isPrivate ? extractable : true, algorithm: keyAlgorithm, usages, handle, id, token: false,
      });
    });
  }

  exportKey(format: 'jwk', key: VhsmCryptoKey): Promise<JsonWebKey>;
  exportKey(format: Exclude<KeyFormat, 'jwk'>, key: VhsmCryptoKey): Promise<ArrayBuffer>;
  exportKey(format: KeyFormat, key: VhsmCryptoKey): Promise<JsonWebKey | ArrayBuffer>;
  exportKey(format: KeyFormat, key: VhsmCryptoKey): Promise<JsonWebKey | ArrayBuffer> {
    return this.#guard(async () => {
      checkKey(key);
      if (!key.extractable) throw facadeError('InvalidAccessError', 'key is not extractable', CKR_KEY_UNEXTRACTABLE);
      const { owner } = await this.context();
      const name = signingName(normalize(key.algorithm).name);
      if (key.type === 'secret') {
        const value = (await this.#attribute(owner, key, CKA_VALUE)) as Uint8Array;
        if (format === 'raw') return buffer(value);
        if (format !== 'jwk') throw facadeError('NotSupportedError', `${format} is not a format of secret keys`, CKR_MECHANISM_INVALID);
        const native = await this.#native.importKey('raw', value as Uint8Array<ArrayBuffer>, nativeAlgorithm(key.algorithm), true, key.usages);
        return this.#native.exportKey('jwk', native);
      }
      const family = FAMILY[name];
      const jwk = key.type === 'public' ? await this.#publicJwk(owner, key, family) : await this.#privateJwk(owner, key, family);
      if (format === 'jwk') return { ...jwk, ext: true, key_ops: [...key.usages] };
      if (key.type === 'public' && format === 'raw' && family === 'rsa') {
        throw facadeError('NotSupportedError', 'RSA public keys have no raw format', CKR_MECHANISM_INVALID);
      }
      const native = await this.#native.importKey('jwk', jwk, nativeAlgorithm(key.algorithm), true, key.usages);
      return this.#native.exportKey(format, native);
    });
  }

  deriveBits(algorithm: AlgorithmIdentifier | Params, baseKey: VhsmCryptoKey, length?: number | null): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(baseKey, params.name, 'deriveBits');
      const { owner } = await this.context();
      const bits = length ?? undefined;
      if (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits % 8 !== 0)) {
        throw facadeError('OperationError', 'length: a multiple of 8', CKR_TEMPLATE_INCONSISTENT);
      }
      if (params.name !== 'ECDH' && !bits) throw facadeError('OperationError', `length: required for ${params.name}`, CKR_TEMPLATE_INCONSISTENT);
      const template: Template = [
        { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: KEY_TYPE.hmac },
        { type: CKA_TOKEN, value: false }, { type: CKA_EXTRACTABLE, value: true }, { type: CKA_SENSITIVE, value: false },
      ];
      if (params.name !== 'ECDH') template.push({ type: CKA_VALUE_LEN, value: (bits as number) / 8 });
      const handle = params.name === 'PBKDF2'
        ? await this.#p11.C_GenerateKey(owner, this.#pbkdf2Mechanism(params, baseKey), template)
        : await this.#p11.C_DeriveKey(owner, await this.#deriveMechanism(params, owner), baseKey.handle, template);
      try {
        const [attribute] = await this.#p11.C_GetAttributeValue(owner, handle, [{ type: CKA_VALUE }]);
        const secret = attribute?.value as Uint8Array;
        if (bits !== undefined && bits / 8 > secret.length) throw facadeError('OperationError', 'length: longer than the secret', CKR_TEMPLATE_INCONSISTENT);
        // WebCrypto keeps the leading bits of an ECDH secret.
        return buffer(bits === undefined ? secret : secret.slice(0, bits / 8));
      } finally {
        this.#p11.C_DestroyObject(owner, handle).catch(NOOP);
      }
    });
  }

  deriveKey(algorithm: AlgorithmIdentifier | Params, baseKey: VhsmCryptoKey, derivedKeyType: AlgorithmIdentifier | Params, extractable: boolean, keyUsages: KeyUsage[]): Promise<VhsmCryptoKey> {
    return this.#guard(async () => {
      const params = normalize(algorithm);
      this.#check(baseKey, params.name, 'deriveKey');
      const target = normalize(derivedKeyType);
      const targetName = signingName(target.name);
      const family = FAMILY[targetName];
      if (family !== 'aes' && family !== 'hmac') throw facadeError('NotSupportedError', `cannot derive ${targetName} keys`, CKR_MECHANISM_INVALID);
      const usages = checkUsages(targetName, 'secret', keyUsages);
      const keyAlgorithm = secretAlgorithm(target, undefined);
      const length = (keyAlgorithm['length'] as number) / 8;
      const { owner } = await this.context();
      if (params.name === 'ECDH') {
        // PKCS#11 keeps the trailing bytes of a longer secret, WebCrypto the leading ones: only
        // a key as long as the secret is the same key on both sides.
        const curve = baseKey.algorithm['namedCurve'] as CurveName;
        if (length !== secretLength(curve)) {
          throw facadeError('NotSupportedError', `ECDH on ${curve} derives only ${secretLength(curve) * 8}-bit keys here`, CKR_TEMPLATE_INCONSISTENT);
        }
      }
      const id = randomId();
      const template: Template = [
        { type: CKA_CLASS, value: CKO_SECRET_KEY }, ...this.#secretTemplate(family, id, extractable, usages), { type: CKA_VALUE_LEN, value: length },
      ];
      const handle = params.name === 'PBKDF2'
        ? await this.#p11.C_GenerateKey(owner, this.#pbkdf2Mechanism(params, baseKey), template)
        : await this.#p11.C_DeriveKey(owner, await this.#deriveMechanism(params, owner), baseKey.handle, template);
      return new VhsmCryptoKey({ type: 'secret', extractable, algorithm: keyAlgorithm, usages, handle, id, token: false });
    });
  }

  wrapKey(format: KeyFormat, key: VhsmCryptoKey, wrappingKey: VhsmCryptoKey, wrapAlgorithm: AlgorithmIdentifier | Params): Promise<ArrayBuffer> {
    return this.#guard(async () => {
      const params = normalize(wrapAlgorithm);
      this.#check(wrappingKey, params.name, 'wrapKey');
      checkKey(key);
      if (!key.extractable) throw facadeError('InvalidAccessError', 'key is not extractable', CKR_KEY_UNEXTRACTABLE);
      const expected = key.type === 'secret' ? 'raw' : key.type === 'private' ? 'pkcs8' : undefined;
      if (format !== expected) throw facadeError('NotSupportedError', `wrapping ${key.type} keys as ${format} is not supported`, CKR_MECHANISM_INVALID);
      const { owner } = await this.context();
      const mechanism = params.name === 'AES-KW' ? { mechanism: CKM_AES_KEY_WRAP } : this.#cipherMechanism(params, wrappingKey);
      return buffer(await this.#p11.C_WrapKey(owner, mechanism, wrappingKey.handle, key.handle));
    });
  }

  unwrapKey(format: KeyFormat, wrappedKey: BufferSource, unwrappingKey: VhsmCryptoKey, unwrapAlgorithm: AlgorithmIdentifier | Params, unwrappedKeyAlgorithm: AlgorithmIdentifier | Params, extractable: boolean, keyUsages: KeyUsage[]): Promise<VhsmCryptoKey> {
    return this.#guard(async () => {
      const params = normalize(unwrapAlgorithm);
      this.#check(unwrappingKey, params.name, 'unwrapKey');
      const target = normalize(unwrappedKeyAlgorithm);
      const targetName = signingName(target.name);
      const family = FAMILY[targetName];
      if (format !== 'raw' || (family !== 'aes' && family !== 'hmac')) {
        throw facadeError('NotSupportedError', `unwrapping ${format} ${targetName} keys is not supported`, CKR_MECHANISM_INVALID);
      }
      const usages = checkUsages(targetName, 'secret', keyUsages);
      const { owner } = await this.context();
      const id = randomId();
      const mechanism = params.name === 'AES-KW' ? { mechanism: CKM_AES_KEY_WRAP } : this.#cipherMechanism(params, unwrappingKey);
      const handle = await this.#p11.C_UnwrapKey(owner, mechanism, unwrappingKey.handle, bytes(wrappedKey, 'wrappedKey'), [
        { type: CKA_CLASS, value: CKO_SECRET_KEY }, ...this.#secretTemplate(family, id, extractable, usages),
      ]);
      const length = (await this.#p11.C_GetAttributeValue(owner, handle, [{ type: CKA_VALUE_LEN }]))[0]?.value as number;
      return new VhsmCryptoKey({ type: 'secret', extractable, algorithm: secretAlgorithm(target, length * 8), usages, handle, id, token: false });
    });
  }

  // ------------------------------------------------------------------------------------ helpers

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw toFacadeError(e);
    }
  }

  #check(key: VhsmCryptoKey, name: AlgorithmName, usage: KeyUsage): void {
    checkKey(key);
    if (normalize(key.algorithm).name !== name) {
      throw facadeError('InvalidAccessError', `key is a ${key.algorithm.name} key, not ${name}`, CKR_KEY_FUNCTION_NOT_PERMITTED);
    }
    if (!key.usages.includes(usage)) {
      throw facadeError('InvalidAccessError', `key usages do not include ${usage}`, CKR_KEY_FUNCTION_NOT_PERMITTED);
    }
  }

  /** Init and the operation in one batch on a pooled session: one message, one reply. */
  #operate(init: InitName, op: OperationName, mechanism: Mechanism, key: VhsmCryptoKey, data: Uint8Array, signature?: Uint8Array): Promise<unknown> {
    const [message, transfer] = handOver(data);
    return this.#onSession(transfer, (session) => [
      [init, session, mechanism, key.handle],
      (signature === undefined ? [op, session, message] : [op, session, message, signature]) as Pkcs11Call,
    ]);
  }

  /**
   * Runs a two-call batch (Init, operation) on a borrowed session and returns the operation's
   * result. The session goes back to the pool unless the operation itself failed part-way.
   */
  async #onSession(transfer: Transferable[], calls: (session: number) => [Pkcs11Call, Pkcs11Call]): Promise<unknown> {
    const { pool } = await this.context();
    const session = await pool.acquire();
    try {
      const [, result] = await batch(this.#p11, calls(session), { transfer });
      pool.release(session);
      return result;
    } catch (e) {
      // A failed Init started nothing: the session is idle. Otherwise it may still hold the operation.
      if ((e as { index?: unknown }).index === 0) pool.release(session);
      else pool.discard(session);
      throw e;
    }
  }

  #cipherMechanism(params: Params, key: VhsmCryptoKey): Mechanism {
    switch (params.name) {
      case 'AES-GCM': {
        const parameter: { iv: Uint8Array; aad?: Uint8Array; tagBits: number } = {
          iv: bytes(params['iv'], 'iv'), tagBits: (params['tagLength'] as number | undefined) ?? 128,
        };
        if (params['additionalData'] !== undefined) parameter.aad = bytes(params['additionalData'], 'additionalData');
        return { mechanism: CKM_AES_GCM, parameter };
      }
      case 'AES-CBC':
        return { mechanism: CKM_AES_CBC_PAD, parameter: bytes(params['iv'], 'iv') };
      case 'AES-CTR':
        return { mechanism: CKM_AES_CTR, parameter: { counterBits: params['length'] as number, cb: bytes(params['counter'], 'counter') } };
      case 'RSA-OAEP': {
        const hash = HASHES[hashOf(key.algorithm['hash'])];
        const parameter: { hashAlg: number; mgf: number; source?: number; sourceData?: Uint8Array } = { hashAlg: hash.digest, mgf: hash.mgf };
        if (params['label'] !== undefined) {
          parameter.source = CKZ_DATA_SPECIFIED;
          parameter.sourceData = bytes(params['label'], 'label');
        }
        return { mechanism: CKM_RSA_PKCS_OAEP, parameter };
      }
      default:
        throw facadeError('NotSupportedError', `${params.name} does not encrypt`, CKR_MECHANISM_INVALID);
    }
  }

  #signMechanism(params: Params, key: VhsmCryptoKey): Mechanism {
    switch (params.name) {
      case 'HMAC':
        return { mechanism: HASHES[hashOf(key.algorithm['hash'])].hmac };
      case 'ECDSA':
        return { mechanism: HASHES[hashOf(params['hash'])].ecdsa };
      case 'RSASSA-PKCS1-v1_5':
        return { mechanism: HASHES[hashOf(key.algorithm['hash'])].rsa };
      case 'RSA-PSS': {
        const hash = HASHES[hashOf(key.algorithm['hash'])];
        return { mechanism: hash.pss, parameter: { hashAlg: hash.digest, mgf: hash.mgf, saltLen: params['saltLength'] as number } };
      }
      case 'Ed25519':
        return { mechanism: CKM_EDDSA };
      default:
        throw facadeError('NotSupportedError', `${params.name} does not sign`, CKR_MECHANISM_INVALID);
    }
  }

  async #deriveMechanism(params: Params, owner: number): Promise<Mechanism> {
    if (params.name === 'ECDH') {
      const peer = params['public'];
      checkKey(peer as VhsmCryptoKey);
      const publicKey = peer as VhsmCryptoKey;
      if (publicKey.type !== 'public' || publicKey.algorithm['namedCurve'] === undefined) {
        throw facadeError('InvalidAccessError', 'public: expected an EC public key', CKR_KEY_HANDLE_INVALID);
      }
      const point = (await this.#attribute(owner, publicKey, CKA_EC_POINT)) as Uint8Array;
      return { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: point } };
    }
    if (params.name === 'HKDF') {
      const hash = HASHES[hashOf(params['hash'])];
      const salt = bytes(params['salt'], 'salt');
      const parameter = {
        extract: true, expand: true, prfHashMechanism: hash.digest, saltType: salt.length > 0 ? CKF_HKDF_SALT_DATA : CKF_HKDF_SALT_NULL,
        ...(salt.length > 0 ? { salt } : {}), info: bytes(params['info'], 'info'),
      };
      return { mechanism: CKM_HKDF_DERIVE, parameter };
    }
    throw facadeError('NotSupportedError', `${params.name} derivation is not supported`, CKR_MECHANISM_INVALID);
  }

  /** CKM_PKCS5_PBKD2 with WebCrypto's Pbkdf2Params and the key's password. */
  #pbkdf2Mechanism(params: Params, key: VhsmCryptoKey): Mechanism {
    const password = this.#passwords.get(key);
    if (password === undefined) throw facadeError('InvalidAccessError', 'not a PBKDF2 key of this facade', CKR_KEY_HANDLE_INVALID);
    const iterations = params['iterations'];
    if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1) {
      throw facadeError('OperationError', 'iterations: a positive integer', CKR_MECHANISM_PARAM_INVALID);
    }
    const parameter = {
      saltSource: CKZ_SALT_SPECIFIED, saltSourceData: bytes(params['salt'], 'salt'), iterations,
      prf: PBKDF2_PRF[hashOf(params['hash'])], password,
    };
    return { mechanism: CKM_PKCS5_PBKD2, parameter };
  }

  /**
   * A non-extractable key is sensitive and a private object: usable only while the user is logged
   * in, as the strict policy demands of any key whose value is hidden (a public one would outlive
   * C_Logout). Extractable keys stay public objects.
   */
  #secretTemplate(family: Family, id: Uint8Array, extractable: boolean, usages: readonly KeyUsage[]): Template {
    return [
      { type: CKA_KEY_TYPE, value: KEY_TYPE[family] }, { type: CKA_TOKEN, value: false }, { type: CKA_PRIVATE, value: !extractable },
      { type: CKA_ID, value: id }, { type: CKA_EXTRACTABLE, value: extractable }, { type: CKA_SENSITIVE, value: !extractable },
      ...usageAttributes('secret', usages),
    ];
  }

  #publicTemplate(id: Uint8Array, usages: readonly KeyUsage[]): Template {
    return [{ type: CKA_TOKEN, value: false }, { type: CKA_PRIVATE, value: false }, { type: CKA_ID, value: id }, ...usageAttributes('public', usages)];
  }

  #privateTemplate(id: Uint8Array, extractable: boolean, usages: readonly KeyUsage[]): Template {
    return [
      { type: CKA_TOKEN, value: false }, { type: CKA_PRIVATE, value: !extractable }, { type: CKA_ID, value: id },
      { type: CKA_EXTRACTABLE, value: extractable }, { type: CKA_SENSITIVE, value: !extractable }, ...usageAttributes('private', usages),
    ];
  }

  async #attribute(session: number, key: VhsmCryptoKey, type: number): Promise<Attribute['value']> {
    const [attribute] = await this.#p11.C_GetAttributeValue(session, key.handle, [{ type }]);
    return attribute?.value;
  }

  async #secretBytes(format: KeyFormat, keyData: BufferSource | JsonWebKey, params: Params, extractable: boolean, usages: KeyUsage[]): Promise<Uint8Array> {
    if (format === 'raw') return bytes(keyData, 'keyData').slice();
    if (format !== 'jwk' || params.name === 'HKDF' || params.name === 'PBKDF2') {
      throw facadeError('NotSupportedError', `${format} is not a format of ${params.name} keys`, CKR_MECHANISM_INVALID);
    }
    // The page's WebCrypto checks the JWK (kty, alg, use, key_ops, ext) exactly as crypto.subtle would.
    const native = await this.#native.importKey('jwk', keyData as JsonWebKey, nativeAlgorithm(params), true, usages);
    void extractable;
    return new Uint8Array(await this.#native.exportKey('raw', native));
  }

  async #asymmetricJwk(format: KeyFormat, keyData: BufferSource | JsonWebKey, params: Params, name: SigningName, family: Family): Promise<{ jwk: JsonWebKey; keyAlgorithm: KeyAlgorithmLike }> {
    const algorithm = nativeAlgorithm(params);
    const isPrivate = format === 'pkcs8' || (format === 'jwk' && typeof (keyData as JsonWebKey).d === 'string');
    const usages = (isPrivate ? USAGE_OF_HALF.private : USAGE_OF_HALF.public).filter((u) => checkable(name, isPrivate, u));
    const data = format === 'jwk' ? keyData as JsonWebKey : bytes(keyData, 'keyData');
    const native = format === 'jwk'
      ? await this.#native.importKey('jwk', data as JsonWebKey, algorithm, true, usages)
      : await this.#native.importKey(format as Exclude<KeyFormat, 'jwk'>, data as Uint8Array<ArrayBuffer>, algorithm, true, usages);
    const jwk = await this.#native.exportKey('jwk', native);
    const keyAlgorithm = { ...(native.algorithm as unknown as KeyAlgorithmLike) };
    if (family === 'rsa') keyAlgorithm['publicExponent'] = new Uint8Array(keyAlgorithm['publicExponent'] as Uint8Array);
    return { jwk, keyAlgorithm };
  }

  async #publicJwk(owner: number, key: VhsmCryptoKey, family: Family): Promise<JsonWebKey> {
    if (family === 'rsa') {
      const [n, e] = await this.#p11.C_GetAttributeValue(owner, key.handle, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
      return { kty: 'RSA', n: b64url(n?.value as Uint8Array), e: b64url(e?.value as Uint8Array) };
    }
    const raw = (await this.#attribute(owner, key, CKA_EC_POINT)) as Uint8Array;
    if (family === 'ed') return { kty: 'OKP', crv: 'Ed25519', x: b64url(unwrapOctetString(raw, 32)) };
    const curve = key.algorithm['namedCurve'] as CurveName;
    const size = secretLength(curve);
    const point = unwrapOctetString(raw, 2 * size + 1);
    return { kty: 'EC', crv: curve, x: b64url(point.subarray(1, 1 + size)), y: b64url(point.subarray(1 + size)) };
  }

  async #privateJwk(owner: number, key: VhsmCryptoKey, family: Family): Promise<JsonWebKey> {
    if (family === 'rsa') {
      const types = [CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT];
      const values = (await this.#p11.C_GetAttributeValue(owner, key.handle, types.map((type) => ({ type })))).map((a) => b64url(a.value as Uint8Array));
      const [n, e, d, p, q, dp, dq, qi] = values as [string, string, string, string, string, string, string, string];
      return { kty: 'RSA', n, e, d, p, q, dp, dq, qi };
    }
    // The private half carries no point: take it from the public half of the pair (same CKA_ID).
    const d = (await this.#attribute(owner, key, CKA_VALUE)) as Uint8Array;
    const publicHandle = await this.#findPublicHalf(owner, key);
    const publicJwk = await this.#publicJwk(owner, { ...key, handle: publicHandle } as VhsmCryptoKey, family);
    return { ...publicJwk, d: b64url(d) };
  }

  async #findPublicHalf(owner: number, key: VhsmCryptoKey): Promise<number> {
    await this.#p11.C_FindObjectsInit(owner, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_ID, value: key.id }]);
    try {
      const [handle] = await this.#p11.C_FindObjects(owner, 1);
      if (handle === undefined) throw facadeError('OperationError', 'the public half of this key pair is gone', CKR_KEY_HANDLE_INVALID);
      return handle;
    } finally {
      await this.#p11.C_FindObjectsFinal(owner);
    }
  }
}

const USAGE_OF_HALF: { public: KeyUsage[]; private: KeyUsage[] } = {
  public: ['encrypt', 'verify', 'wrapKey'],
  private: ['decrypt', 'sign', 'unwrapKey', 'deriveKey', 'deriveBits'],
};

function checkable(name: SigningName, isPrivate: boolean, usage: KeyUsage): boolean {
  try {
    checkUsages(name, isPrivate ? 'private' : 'public', [usage]);
    return true;
  } catch {
    return false;
  }
}

function signingName(name: AlgorithmName): SigningName {
  if (name in HASHES) throw facadeError('NotSupportedError', `${name} is a digest, not a key algorithm`, CKR_MECHANISM_INVALID);
  return name as SigningName;
}

function checkKey(key: unknown): asserts key is VhsmCryptoKey {
  if (!(key instanceof VhsmCryptoKey)) throw new TypeError('key: expected a key made by this facade');
}

function secretAlgorithm(params: Params, bits: number | undefined): KeyAlgorithmLike {
  if (params.name === 'HMAC') {
    const hash = hashOf(params['hash']);
    const length = (params['length'] as number | undefined) ?? bits ?? HASHES[hash].block;
    if (!Number.isInteger(length) || length <= 0 || length % 8 !== 0) {
      throw facadeError('OperationError', 'HMAC length: a positive multiple of 8', CKR_TEMPLATE_INCONSISTENT);
    }
    return { name: 'HMAC', hash: { name: hash }, length };
  }
  const length = bits ?? params['length'];
  if (length !== 128 && length !== 192 && length !== 256) {
    throw facadeError('OperationError', 'AES length: 128, 192 or 256', CKR_TEMPLATE_INCONSISTENT);
  }
  return { name: params.name, length };
}

function keyPairSpec(params: Params, name: SigningName, family: Family): { mechanism: Mechanism; publicTemplate: Template; keyAlgorithm: KeyAlgorithmLike } {
  if (family === 'ec') {
    const curve = params['namedCurve'];
    if (!CURVES.includes(curve as CurveName)) throw facadeError('NotSupportedError', `curve ${String(curve)} is not supported`, CKR_MECHANISM_INVALID);
    return {
      mechanism: { mechanism: CKM_EC_KEY_PAIR_GEN },
      publicTemplate: [{ type: CKA_EC_PARAMS, value: OID[curve as CurveName] }],
      keyAlgorithm: { name, namedCurve: curve },
    };
  }
  if (family === 'ed') {
    return { mechanism: { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, publicTemplate: [{ type: CKA_EC_PARAMS, value: OID.Ed25519 }], keyAlgorithm: { name } };
  }
  const modulusLength = params['modulusLength'];
  const publicExponent = bytes(params['publicExponent'], 'publicExponent').slice();
  if (typeof modulusLength !== 'number') throw new TypeError('modulusLength: expected a number');
  return {
    mechanism: { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
    publicTemplate: [{ type: CKA_MODULUS_BITS, value: modulusLength }, { type: CKA_PUBLIC_EXPONENT, value: publicExponent }],
    keyAlgorithm: { name, modulusLength, publicExponent, hash: { name: hashOf(params['hash']) } },
  };
}

function asymmetricAttributes(jwk: JsonWebKey, family: Family, keyAlgorithm: KeyAlgorithmLike): Template {
  if (family === 'rsa') {
    const out: Template = [{ type: CKA_MODULUS, value: unb64url(jwk.n) }, { type: CKA_PUBLIC_EXPONENT, value: unb64url(jwk.e) }];
    if (jwk.d !== undefined) {
      out.push(
        { type: CKA_PRIVATE_EXPONENT, value: unb64url(jwk.d) }, { type: CKA_PRIME_1, value: unb64url(jwk.p) },
        { type: CKA_PRIME_2, value: unb64url(jwk.q) }, { type: CKA_EXPONENT_1, value: unb64url(jwk.dp) },
        { type: CKA_EXPONENT_2, value: unb64url(jwk.dq) }, { type: CKA_COEFFICIENT, value: unb64url(jwk.qi) },
      );
    }
    return out;
  }
  const params = family === 'ed' ? OID.Ed25519 : OID[keyAlgorithm['namedCurve'] as CurveName];
  if (jwk.d !== undefined) return [{ type: CKA_EC_PARAMS, value: params }, { type: CKA_VALUE, value: unb64url(jwk.d) }];
  const point = family === 'ed' ? unb64url(jwk.x) : concat(Uint8Array.of(4), unb64url(jwk.x), unb64url(jwk.y));
  return [{ type: CKA_EC_PARAMS, value: params }, { type: CKA_EC_POINT, value: point }];
}

/** What the page's WebCrypto needs to parse a key of this algorithm. */
function nativeAlgorithm(params: KeyAlgorithmLike): Algorithm {
  const { name } = params;
  if (params['hash'] !== undefined) return { name, hash: hashOf(params['hash']) } as Algorithm;
  if (params['namedCurve'] !== undefined) return { name, namedCurve: params['namedCurve'] } as Algorithm;
  return { name };
}

function secretLength(curve: CurveName): number {
  return curve === 'P-256' ? 32 : curve === 'P-384' ? 48 : 66;
}

function randomId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(8));
}

/**
 * Large inputs cross as a copy made here and transferred: one copy instead of structured clone's
 * two (into the message, then out of it in the worker). The caller's buffer stays untouched.
 */
function handOver(data: Uint8Array): [Uint8Array, Transferable[]] {
  if (data.byteLength < TRANSFER_THRESHOLD) return [data, []];
  const copy = data.slice();
  return [copy, [copy.buffer]];
}

/** BufferSource → Uint8Array over the same bytes (the remote copies what it sends). */
export function bytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`${name}: expected a BufferSource`);
}

function buffer(value: Uint8Array): ArrayBuffer {
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer
    ? value.buffer
    : (value.slice().buffer as ArrayBuffer);
}

export function b64url(value: Uint8Array): string {
  let text = '';
  for (const b of value) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unb64url(value: string | undefined): Uint8Array {
  if (value === undefined) throw facadeError('DataError', 'JWK: missing field', CKR_TEMPLATE_INCONSISTENT);
  const text = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
