/**
 * The world of the random search: one token, the victim's keys, and an attacker who keeps every
 * output and every key value it learns and tries them offline, and who reads the token's stored
 * records as any script of the origin can (opening what the device key seals). Ground truth about secret values
 * comes from a spy on the engine's WebCrypto (every extractable key it generates or derives is
 * exported on the side), so the search also catches leaks of keys whose value nobody supplied.
 */
import {
  CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE,
  CKA_NEVER_EXTRACTABLE, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY,
  CKA_WRAP, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKG_MGF1_SHA256, CKK_AES, CKM_AES_CBC, CKM_AES_CBC_PAD,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKO_SECRET_KEY, Cryptoki,
  MemoryStore,
} from '@vhsm/token';
import type { Attribute, Mechanism, Template } from '@vhsm/token';
import { prepareToken } from '@vhsm/attacks';
import type { PolicyName } from '@vhsm/attacks';
import {
  attackerRsaPair, cbcPadDecrypt, gcmDecrypt, kwUnwrap, oaepDecrypt, openDeviceSealed, own, toHex,
} from '../../src/offline.js';

export type Mode = 'kw' | 'gcm' | 'cbcpad' | 'cbc' | 'oaep';
export const MODES: readonly Mode[] = ['kw', 'gcm', 'cbcpad', 'cbc', 'oaep'];
/** Two IVs per mode, so that reuse happens. */
export const IVS = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];

export function mechanismFor(mode: Mode, ivIndex: number): Mechanism {
  const iv = IVS[ivIndex % IVS.length] as Uint8Array;
  switch (mode) {
    case 'kw': return { mechanism: CKM_AES_KEY_WRAP };
    case 'gcm': return { mechanism: CKM_AES_GCM, parameter: { iv: iv.slice(0, 12) } };
    case 'cbcpad': return { mechanism: CKM_AES_CBC_PAD, parameter: iv };
    case 'cbc': return { mechanism: CKM_AES_CBC, parameter: iv };
    case 'oaep': return { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
  }
}

export const ROLES = [CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE] as const;

/** A template the attacker picks: roles asked for, and sensitive / extractable if it says so. */
export interface Wish {
  roles: number[];
  sensitive: boolean | undefined;
  extractable: boolean | undefined;
}

export function wishTemplate(wish: Wish): Attribute[] {
  const t: Attribute[] = [{ type: CKA_TOKEN, value: false }, ...wish.roles.map((type) => ({ type, value: true }))];
  if (wish.sensitive !== undefined) t.push({ type: CKA_SENSITIVE, value: wish.sensitive });
  if (wish.extractable !== undefined) t.push({ type: CKA_EXTRACTABLE, value: wish.extractable });
  return t;
}

export interface KeyRef {
  handle: number;
  kind: 'secret' | 'public' | 'private';
  /** Keys with one value share a family: copies, unwrapped copies, the halves of a pair. */
  family: number;
  /** Its value is one the attacker must never learn. */
  secret?: boolean;
  /** CKA_EXTRACTABLE when last looked at (a secret worth wrapping). */
  extractable?: boolean;
  /** Public keys the attacker imported: the index of its own private key. */
  attackerPair?: number;
}

/** A ciphertext the attacker holds: what made it, and (when known) what is inside. */
export interface Blob {
  data: Uint8Array;
  mode: Mode;
  ivIndex: number;
  /** The family of the token key that made it (-1 offline: IV reuse needs one family), and of the key inside when it is a wrapped key. */
  keyFamily: number;
  contentFamily?: number;
  plaintext?: Uint8Array;
}

export class Leak extends Error {}

/** Spy: exports every extractable key the engine generates or derives (the engine seals them with wrapKey). */
function spyCrypto(base: Crypto, captured: Uint8Array[]): Crypto {
  const subtle = base.subtle;
  const capture = async (result: CryptoKey | CryptoKeyPair) => {
    const key = 'privateKey' in result ? result.privateKey : result;
    if (!key.extractable) return;
    const format = key.type === 'secret' ? 'raw' : 'pkcs8';
    captured.push(new Uint8Array(await subtle.exportKey(format, key)));
  };
  const spy = new Proxy(subtle, {
    get(target, prop) {
      if (prop === 'generateKey' || prop === 'deriveKey') {
        return async (...args: unknown[]) => {
          const result = await (target[prop] as (...a: unknown[]) => Promise<CryptoKey | CryptoKeyPair>).apply(target, args);
          await capture(result);
          return result;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { subtle: spy, getRandomValues: base.getRandomValues.bind(base), randomUUID: base.randomUUID.bind(base) } as Crypto;
}

export interface Shared {
  p11: Cryptoki;
  slot: number;
  captured: Uint8Array[];
  attackerKeys: { privateKey: CryptoKey; modulus: Uint8Array; exponent: Uint8Array }[];
  policy: PolicyName;
  steps: number;
  /** The token's records, as any script of the origin reads them (IndexedDB in a browser). */
  store: MemoryStore;
  /** Stored materials already opened under DK (id/version). */
  raided: Set<string>;
}

/** One token per policy for the whole search; every run gets fresh sessions on it. */
export async function sharedToken(policy: PolicyName): Promise<Shared> {
  const captured: Uint8Array[] = [];
  const store = new MemoryStore();
  const p11 = new Cryptoki({ policy, pbkdf2Iterations: 1000, crypto: spyCrypto(globalThis.crypto, captured), store });
  const ctx = await prepareToken(p11);
  const attackerKeys = [await attackerRsaPair(globalThis.crypto), await attackerRsaPair(globalThis.crypto)];
  return { p11, slot: ctx.slot, captured, attackerKeys, policy, steps: 0, store, raided: new Set() };
}

export class World {
  readonly keys: KeyRef[] = [];
  readonly blobs: Blob[] = [];
  /** Key-sized byte strings the attacker knows (hex → bytes). */
  readonly known = new Map<string, Uint8Array>();
  /** Values the attacker must never learn (hex → what they are). */
  readonly secrets = new Map<string, string>();
  /** Handles whose value the attacker knows. */
  readonly knownHandles = new Map<number, Uint8Array>();
  readonly log: string[] = [];
  /** Token objects this run made: destroyed at close, so the shared token does not grow. */
  readonly tokenObjects: number[] = [];
  readonly #tried = new Set<string>();

  constructor(readonly shared: Shared, readonly session: number) {}

  get p11(): Cryptoki {
    return this.shared.p11;
  }

  static async open(shared: Shared): Promise<World> {
    const session = await shared.p11.C_OpenSession(shared.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    const world = new World(shared, session);
    await world.#victims();
    return world;
  }

  async close(): Promise<void> {
    for (const handle of this.tokenObjects) await this.p11.C_DestroyObject(this.session, handle).catch(() => undefined);
    await this.p11.C_CloseSession(this.session);
  }

  /**
   * The offline attacker as a script of the origin: it reads the stored records and opens every
   * public token object's key material under the device key, which it can use but not export.
   */
  async raidStore(): Promise<void> {
    const { store, slot, raided } = this.shared;
    const record = await store.loadToken(slot);
    if (!record) return;
    for (const object of await store.loadObjects(slot)) {
      const material = object.material;
      const seen = `${object.id}/${object.version}`;
      if (object.private || material?.sealedWith !== 'device' || raided.has(seen)) continue;
      raided.add(seen);
      const value = await openDeviceSealed(crypto, record.deviceKey, record.tokenId, object.id, material.blob);
      if (value) await this.learn(value, `object ${object.id}'s material opened under the device key`);
    }
  }

  /** The victim's keys: an imported secret T1, a generated KEK, a generated secret T2. */
  async #victims(): Promise<void> {
    const value = crypto.getRandomValues(new Uint8Array(32));
    const exact = (roles: number[], sensitive: boolean, extractable: boolean): Attribute[] => [
      { type: CKA_TOKEN, value: false }, { type: CKA_SENSITIVE, value: sensitive }, { type: CKA_EXTRACTABLE, value: extractable },
      ...ROLES.map((type) => ({ type, value: roles.includes(type) })),
    ];
    const t1 = await this.p11.C_CreateObject(this.session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value },
      ...exact([CKA_ENCRYPT, CKA_DECRYPT], true, true),
    ]);
    this.secrets.set(toHex(value), 'victim T1');
    this.keys.push({ handle: t1, kind: 'secret', family: t1, secret: true, extractable: true });
    const kek = await this.generate([{ type: CKA_VALUE_LEN, value: 32 }, ...exact([CKA_WRAP, CKA_UNWRAP], true, false)], );
    await this.recordGenerated(kek, 'victim KEK');
    const t2 = await this.generate([{ type: CKA_VALUE_LEN, value: 16 }, ...exact([CKA_ENCRYPT], true, true)], );
    await this.recordGenerated(t2, 'victim T2');
    this.keys.push({ handle: kek, kind: 'secret', family: kek, secret: true }, { handle: t2, kind: 'secret', family: t2, secret: true, extractable: true });
  }

  /** C_GenerateKey, watching what the engine generates (see recordGenerated). */
  async generate(template: Template): Promise<number> {
    this.shared.captured.length = 0;
    return this.p11.C_GenerateKey(this.session, { mechanism: CKM_AES_KEY_GEN }, template);
  }

  /** After a call that made a key inside the token: is its (captured) value a secret? */
  /** Record a key the token just generated: is its value a secret, and can it still be wrapped? */
  async recordGenerated(handle: number, label: string): Promise<{ secret: boolean; extractable: boolean }> {
    const value = this.shared.captured.at(-1);
    const [always, never] = await this.p11.C_GetAttributeValue(this.session, handle,
      [{ type: CKA_ALWAYS_SENSITIVE }, { type: CKA_NEVER_EXTRACTABLE }]);
    const secret = value !== undefined && (always?.value === true || never?.value === true);
    if (secret) this.secrets.set(toHex(value), label);
    return { secret, extractable: never?.value !== true };
  }

  /** A derived key is secret when its base's value is not the attacker's. */
  recordDerived(base: number, label: string): Uint8Array | undefined {
    const value = this.shared.captured.at(-1);
    if (value && !this.knownHandles.has(base)) this.secrets.set(toHex(value), label);
    return value;
  }

  /** Operands are picked newest first: small indices (which fast-check favours) mean recent objects. */
  key(index: number, kind?: KeyRef['kind'], family?: number): KeyRef | undefined {
    const pool = this.keys.filter((k) => (!kind || k.kind === kind) && (family === undefined || k.family === family));
    return newest(pool, index);
  }

  /** A key whose value is secret and may still be wrapped (the victims' and the sensitive keys made since). */
  secretKey(index: number): KeyRef | undefined {
    return newest(this.keys.filter((k) => k.secret && k.extractable), index);
  }

  blob(index: number): Blob | undefined {
    return newest(this.blobs, index);
  }

  knownValue(index: number): Uint8Array | undefined {
    const values = [...this.known.values()].filter((v) => [16, 24, 32].includes(v.length));
    return values.length === 0 ? undefined : values[index % values.length];
  }

  /** The attacker learned `value`: keep it, try it on every blob, check it against the secrets. */
  async learn(value: Uint8Array, how: string): Promise<void> {
    const hex = toHex(value);
    if (this.known.has(hex)) return;
    this.known.set(hex, value);
    const secret = this.secrets.get(hex);
    if (secret !== undefined) throw new Leak(`${this.shared.policy}: the attacker learned ${secret} (${how})`);
    for (const blob of this.blobs) await this.#open(blob, value);
  }

  async addBlob(blob: Blob): Promise<void> {
    this.blobs.push(blob);
    if (blob.mode === 'gcm') await this.#xorWithTwin(blob);
    if (blob.plaintext) return;
    for (const value of this.known.values()) await this.#open(blob, value);
    if (blob.mode === 'oaep') {
      for (const [i, pair] of this.shared.attackerKeys.entries()) {
        const plain = await oaepDecrypt(crypto, pair.privateKey, blob.data);
        if (plain) await this.#opened(blob, plain, `OAEP with the attacker's private key ${i}`);
      }
    }
  }

  /** GCM under one key and one IV twice: c1 ⊕ c2 = p1 ⊕ p2. */
  async #xorWithTwin(blob: Blob): Promise<void> {
    for (const twin of this.blobs) {
      if (twin === blob || twin.mode !== 'gcm' || twin.keyFamily !== blob.keyFamily || twin.ivIndex !== blob.ivIndex) continue;
      if ((twin.plaintext === undefined) === (blob.plaintext === undefined)) continue; // need exactly one known
      const [known, unknown] = twin.plaintext ? [twin, blob] : [blob, twin];
      if (!known.plaintext) continue;
      const n = Math.min(known.plaintext.length, unknown.data.length - 16);
      if (n <= 0) continue;
      const plain = new Uint8Array(n);
      for (let i = 0; i < n; i++) plain[i] = (known.data[i] as number) ^ (unknown.data[i] as number) ^ (known.plaintext[i] as number);
      await this.#opened(unknown, plain, 'GCM keystream reuse');
    }
  }

  async #open(blob: Blob, value: Uint8Array): Promise<void> {
    if (blob.plaintext || ![16, 24, 32].includes(value.length)) return;
    const tried = `${this.blobs.indexOf(blob)}/${toHex(value)}`;
    if (this.#tried.has(tried)) return;
    this.#tried.add(tried);
    const iv = IVS[blob.ivIndex % IVS.length] as Uint8Array;
    let plain: Uint8Array | undefined;
    switch (blob.mode) {
      case 'kw': plain = await kwUnwrap(crypto, value, blob.data); break;
      case 'gcm': plain = await gcmDecrypt(crypto, value, iv.slice(0, 12), blob.data); break;
      case 'cbcpad': plain = await cbcPadDecrypt(crypto, value, iv, blob.data); break;
      case 'cbc': plain = await cbcRawDecrypt(value, iv, blob.data); break;
      case 'oaep': return;
    }
    if (plain) await this.#opened(blob, plain, `${blob.mode} with a known key`);
  }

  async #opened(blob: Blob, plain: Uint8Array, how: string): Promise<void> {
    blob.plaintext = plain;
    await this.learn(plain, how);
    if (blob.mode === 'gcm') await this.#xorWithTwin(blob);
  }
}

function newest<T>(pool: readonly T[], index: number): T | undefined {
  return pool.length === 0 ? undefined : pool[pool.length - 1 - (index % pool.length)];
}

/** Raw AES-CBC decryption through WebCrypto: append a block that decrypts to a full padding block. */
async function cbcRawDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array | undefined> {
  if (data.length === 0 || data.length % 16 !== 0) return undefined;
  const k = await crypto.subtle.importKey('raw', own(key), 'AES-CBC', false, ['encrypt', 'decrypt']);
  const last = data.slice(data.length - 16);
  const padBlock = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: own(last) }, k, new Uint8Array(16).fill(16))).slice(0, 16);
  const extended = new Uint8Array(data.length + 16);
  extended.set(data);
  extended.set(padBlock, data.length);
  const plain = await cbcPadDecrypt(crypto, key, iv, extended);
  return plain?.slice(0, data.length);
}
