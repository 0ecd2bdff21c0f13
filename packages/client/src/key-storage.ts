/**
 * Persistent keys in node-webcrypto-p11's keyStorage shape: keys(), getItem(), setItem(),
 * removeItem(), hasItem(), clear(), indexOf(). A stored key is a token object (CKA_TOKEN true;
 * private and secret keys CKA_PRIVATE true, so storing them needs a logged-in user). Its id is
 * `${type}-${hex CKA_ID}`, stable across reloads; the WebCrypto algorithm rides in CKA_LABEL.
 */
import {
  CKA_CLASS, CKA_EXTRACTABLE, CKA_ID, CKA_LABEL, CKA_PRIVATE, CKA_TOKEN, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
} from '@vhsm/pkcs11';
import type { Template } from '@vhsm/pkcs11';
import { toFacadeError } from './subtle/errors.js';
import { VhsmCryptoKey } from './subtle/subtle.js';
import type { KeyAlgorithmLike, VhsmSubtle } from './subtle/subtle.js';

const CLASS_OF: Readonly<Record<KeyType, number>> = { secret: CKO_SECRET_KEY, private: CKO_PRIVATE_KEY, public: CKO_PUBLIC_KEY };
const TYPE_OF = new Map<number, KeyType>(Object.entries(CLASS_OF).map(([type, cls]) => [cls, type as KeyType]));
const LABEL_PREFIX = 'vhsm:';

export class KeyStorage {
  readonly #subtle: VhsmSubtle;

  constructor(subtle: VhsmSubtle) {
    this.#subtle = subtle;
  }

  /** Ids of every stored key the application can see. */
  keys(): Promise<string[]> {
    return this.#guard(async () => {
      const found = await this.#find([{ type: CKA_TOKEN, value: true }]);
      const ids: string[] = [];
      for (const handle of found) {
        const key = await this.#load(handle);
        if (key) ids.push(idOf(key));
      }
      return ids;
    });
  }

  /** The stored key with this id, or null. */
  getItem(id: string): Promise<VhsmCryptoKey | null> {
    return this.#guard(async () => {
      const parsed = parseId(id);
      if (!parsed) return null;
      const [handle] = await this.#find([
        { type: CKA_TOKEN, value: true }, { type: CKA_CLASS, value: CLASS_OF[parsed.type] }, { type: CKA_ID, value: parsed.id },
      ]);
      return handle === undefined ? null : this.#load(handle);
    });
  }

  /** Stores a copy of `key` on the token; resolves to its id. */
  setItem(key: VhsmCryptoKey): Promise<string> {
    return this.#guard(async () => {
      if (!(key instanceof VhsmCryptoKey)) throw new TypeError('key: expected a key made by this facade');
      if (key.token) return idOf(key);
      const { owner } = await this.#subtle.context();
      const p11 = this.#pkcs11();
      await p11.C_CopyObject(owner, key.handle, [
        { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: key.type !== 'public' },
        { type: CKA_LABEL, value: LABEL_PREFIX + JSON.stringify({ algorithm: serializableAlgorithm(key.algorithm), usages: key.usages }) },
      ]);
      return idOf(key);
    });
  }

  removeItem(id: string): Promise<void> {
    return this.#guard(async () => {
      const key = await this.getItem(id);
      if (!key) return;
      const { owner } = await this.#subtle.context();
      await this.#pkcs11().C_DestroyObject(owner, key.handle);
    });
  }

  hasItem(key: VhsmCryptoKey): Promise<boolean> {
    return this.indexOf(key).then((id) => id !== null);
  }

  /** The id under which `key` (or a stored copy of it) is kept, or null. */
  indexOf(key: VhsmCryptoKey): Promise<string | null> {
    return this.#guard(async () => {
      const id = idOf(key);
      return (await this.getItem(id)) ? id : null;
    });
  }

  clear(): Promise<void> {
    return this.#guard(async () => {
      for (const id of await this.keys()) await this.removeItem(id);
    });
  }

  #pkcs11() {
    return this.#subtle.pkcs11;
  }

  async #find(template: Template): Promise<number[]> {
    const { owner } = await this.#subtle.context();
    const p11 = this.#pkcs11();
    await p11.C_FindObjectsInit(owner, template);
    try {
      const handles: number[] = [];
      for (;;) {
        const batch = await p11.C_FindObjects(owner, 256);
        if (batch.length === 0) return handles;
        handles.push(...batch);
      }
    } finally {
      await p11.C_FindObjectsFinal(owner);
    }
  }

  /** A stored key as a CryptoKey-like object, or null if it was not stored by a facade. */
  async #load(handle: number): Promise<VhsmCryptoKey | null> {
    const { owner } = await this.#subtle.context();
    const p11 = this.#pkcs11();
    const [cls, id, label] = await p11.C_GetAttributeValue(owner, handle, [{ type: CKA_CLASS }, { type: CKA_ID }, { type: CKA_LABEL }]);
    const type = TYPE_OF.get(cls?.value as number);
    const text = label?.value;
    if (!type || typeof text !== 'string' || !text.startsWith(LABEL_PREFIX)) return null;
    let stored: { algorithm: KeyAlgorithmLike; usages: KeyUsage[] };
    try {
      stored = JSON.parse(text.slice(LABEL_PREFIX.length)) as { algorithm: KeyAlgorithmLike; usages: KeyUsage[] };
    } catch {
      return null;
    }
    // Public keys have no CKA_EXTRACTABLE and are always exportable, as in WebCrypto.
    const extractable = type === 'public'
      || (await p11.C_GetAttributeValue(owner, handle, [{ type: CKA_EXTRACTABLE }]))[0]?.value === true;
    const algorithm = { ...stored.algorithm };
    if (Array.isArray(algorithm['publicExponent'])) algorithm['publicExponent'] = Uint8Array.from(algorithm['publicExponent'] as number[]);
    return new VhsmCryptoKey({
      type, extractable, algorithm, usages: stored.usages, handle,
      id: id?.value as Uint8Array, token: true,
    });
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw toFacadeError(e);
    }
  }
}

function serializableAlgorithm(algorithm: KeyAlgorithmLike): KeyAlgorithmLike {
  const out = { ...algorithm };
  if (out['publicExponent'] instanceof Uint8Array) out['publicExponent'] = [...out['publicExponent']];
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function idOf(key: VhsmCryptoKey): string {
  return `${key.type}-${hex(key.id)}`;
}

function parseId(id: string): { type: KeyType; id: Uint8Array } | null {
  const match = /^(secret|private|public)-((?:[0-9a-f]{2})+)$/.exec(id);
  if (!match) return null;
  const bytes = Uint8Array.from(match[2]?.match(/../g) ?? [], (h) => parseInt(h, 16));
  return { type: match[1] as KeyType, id: bytes };
}
