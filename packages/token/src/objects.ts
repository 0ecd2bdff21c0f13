/** Objects as the engine holds them: attributes (unsealed on demand) and sealed key material. */
import { CKA_CLASS, CKA_KEY_TYPE, CKA_PRIVATE, CKA_TOKEN, CKR_GENERAL_ERROR } from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';
import { ckr } from './errors.js';
import type { AttributeMap } from './attributes/values.js';
import type { ImportAlgorithm, KeyAccess } from './mechanisms/types.js';
import type { SealAad, Sealer } from './sealing.js';
import type { ObjectRecord, SealedBlob, StoredMaterial } from './store.js';

/** Who owns a session object: the application and the session that made it. */
export interface SessionOwner {
  application: object;
  session: number;
}

export class EngineObject {
  readonly slot: number;
  readonly id: number;
  readonly token: boolean;
  readonly private: boolean;
  #attributes: AttributeMap | undefined;
  /** Told when the attributes are replaced: the token's ObjectTable keeps its find index with it. */
  #watcher: ((object: EngineObject, before: AttributeMap | undefined) => void) | undefined;
  sealedAttributes: SealedBlob | undefined;
  material: StoredMaterial | undefined;
  version: number;
  readonly owner: SessionOwner | undefined;
  /** Unsealed CryptoKeys by algorithm+usages; dropped on logout for private objects. */
  readonly keyCache = new Map<string, Promise<CryptoKey>>();
  destroyed = false;

  constructor(init: {
    slot: number; id: number; token: boolean; private: boolean; attributes?: AttributeMap;
    sealedAttributes?: SealedBlob; material?: StoredMaterial; version?: number; owner?: SessionOwner;
  }) {
    this.slot = init.slot;
    this.id = init.id;
    this.token = init.token;
    this.private = init.private;
    this.attributes = init.attributes;
    this.sealedAttributes = init.sealedAttributes;
    this.material = init.material;
    this.version = init.version ?? 1;
    this.owner = init.owner;
  }

  static fromRecord(record: ObjectRecord): EngineObject {
    return new EngineObject({
      slot: record.slot, id: record.id, token: true, private: record.private,
      ...(record.attributes ? { attributes: new Map(record.attributes) } : {}),
      ...(record.sealedAttributes ? { sealedAttributes: record.sealedAttributes } : {}),
      ...(record.material ? { material: record.material } : {}),
      version: record.version,
    });
  }

  /**
   * Undefined while a private token object is still sealed. Replace the map whole, never change it
   * in place: the find index learns of changes through this setter.
   */
  get attributes(): AttributeMap | undefined {
    return this.#attributes;
  }

  set attributes(next: AttributeMap | undefined) {
    const before = this.#attributes;
    this.#attributes = next;
    this.#watcher?.(this, before);
  }

  watch(watcher: ((object: EngineObject, before: AttributeMap | undefined) => void) | undefined): void {
    this.#watcher = watcher;
  }

  /** Attributes; callers have checked access (and so login) before asking. */
  attrs(): AttributeMap {
    if (!this.attributes) throw ckr(CKR_GENERAL_ERROR, 'object attributes are still sealed');
    return this.attributes;
  }

  get objectClass(): number {
    return this.attrs().get(CKA_CLASS) as number;
  }

  get keyType(): number | undefined {
    return this.attrs().get(CKA_KEY_TYPE) as number | undefined;
  }

  get(type: number): AttributeValue | undefined {
    return this.attrs().get(type);
  }

  /** Forget what was unsealed (logout of the last user, C_Finalize). */
  lock(): void {
    this.keyCache.clear();
    if (this.private && this.token) this.attributes = undefined;
  }
}

export function objectKind(attributes: AttributeMap): { token: boolean; private: boolean } {
  return { token: attributes.get(CKA_TOKEN) === true, private: attributes.get(CKA_PRIVATE) === true };
}

/** The KeyAccess a mechanism provider sees for a key object. */
export function keyAccess(
  object: EngineObject, sealer: Sealer, sealKey: () => CryptoKey, aad: SealAad,
): KeyAccess {
  const attributes = object.attrs();
  const open = (algorithm: ImportAlgorithm, usages: KeyUsage[], extractable: boolean) => {
    const material = object.material;
    if (!material) throw ckr(CKR_GENERAL_ERROR, 'key object without material');
    return sealer.openKey(material.blob, material.format, sealKey(), aad, algorithm, extractable, usages);
  };
  return {
    keyType: attributes.get(CKA_KEY_TYPE) as number,
    objectClass: attributes.get(CKA_CLASS) as number,
    attributes: { get: (t) => attributes.get(t), has: (t) => attributes.has(t) },
    cryptoKey(algorithm, usages) {
      const cacheKey = JSON.stringify([algorithm, usages]);
      let key = object.keyCache.get(cacheKey);
      if (!key) {
        key = open(algorithm, usages, false);
        object.keyCache.set(cacheKey, key);
        key.catch(() => object.keyCache.delete(cacheKey));
      }
      return key;
    },
    extractableCryptoKey(algorithm, usages) {
      return open(algorithm, usages, true);
    },
  };
}
