/**
 * A token's objects by id, indexed by CKA_CLASS, CKA_LABEL and CKA_ID, so C_FindObjectsInit looks
 * only at objects that can match: a find by label among 100 000 objects costs what it costs among
 * 1 000. Objects whose attributes are still sealed are kept apart; a find unseals those it may see
 * and they join the index then (EngineObject tells its table whenever its attributes are replaced).
 */
import { CKA_CLASS, CKA_ID, CKA_LABEL } from '@vhsm/pkcs11';
import type { AttributeValue } from '@vhsm/pkcs11';
import type { AttributeMap } from './attributes/values.js';
import type { EngineObject } from './objects.js';

const INDEXED: readonly number[] = [CKA_CLASS, CKA_LABEL, CKA_ID];

/** A string equal for values that valuesEqual() finds equal; undefined for values not indexed. */
export function indexKey(value: AttributeValue | undefined): string | undefined {
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'number') return `n${value}`;
  if (value instanceof Uint8Array) {
    let s = 'b';
    // Ids are a few bytes: char by char beats spreading a subarray into fromCharCode.
    if (value.length <= 64) for (let i = 0; i < value.length; i++) s += String.fromCharCode(value[i] as number);
    else for (let i = 0; i < value.length; i += 4096) s += String.fromCharCode(...value.subarray(i, i + 4096));
    return s;
  }
  return undefined;
}

/**
 * The objects with one indexed value: the object itself while it is the only one (labels and ids
 * are mostly unique, and a Set per object was most of the cost of indexing 10 000 objects at login).
 */
type Bucket = EngineObject | Set<EngineObject>;

export class ObjectTable extends Map<number, EngineObject> {
  readonly #index = new Map<number, Map<string, Bucket>>(INDEXED.map((type) => [type, new Map()]));
  readonly #sealed = new Set<EngineObject>();
  readonly #watcher = (object: EngineObject, before: AttributeMap | undefined): void => {
    this.#remove(object, before);
    this.#add(object);
  };

  override set(id: number, object: EngineObject): this {
    const previous = super.get(id);
    if (previous && previous !== object) this.#forget(previous);
    super.set(id, object);
    if (previous !== object) {
      object.watch(this.#watcher);
      this.#add(object);
    }
    return this;
  }

  override delete(id: number): boolean {
    const object = super.get(id);
    if (object) this.#forget(object);
    return super.delete(id);
  }

  override clear(): void {
    for (const object of super.values()) object.watch(undefined);
    for (const byValue of this.#index.values()) byValue.clear();
    this.#sealed.clear();
    super.clear();
  }

  /**
   * The objects that may match `wanted` (callers still compare every attribute): the smallest
   * index bucket the template names, plus the sealed objects; every object when it names none.
   */
  candidates(wanted: AttributeMap): EngineObject[] {
    let best: Bucket | undefined;
    for (const type of INDEXED) {
      if (!wanted.has(type)) continue;
      const key = indexKey(wanted.get(type));
      if (key === undefined) continue;
      const bucket = this.#index.get(type)?.get(key);
      if (!bucket) return [...this.#sealed];
      if (!best || sizeOf(bucket) < sizeOf(best)) best = bucket;
    }
    if (!best) return [...super.values()];
    return best instanceof Set ? [...best, ...this.#sealed] : [best, ...this.#sealed];
  }

  #forget(object: EngineObject): void {
    object.watch(undefined);
    this.#remove(object, object.attributes);
  }

  #add(object: EngineObject): void {
    const attributes = object.attributes;
    if (!attributes) {
      this.#sealed.add(object);
      return;
    }
    for (const [type, byValue] of this.#index) {
      const key = indexKey(attributes.get(type));
      if (key === undefined) continue;
      const bucket = byValue.get(key);
      if (!bucket) byValue.set(key, object);
      else if (bucket instanceof Set) bucket.add(object);
      else if (bucket !== object) byValue.set(key, new Set([bucket, object]));
    }
  }

  #remove(object: EngineObject, attributes: AttributeMap | undefined): void {
    if (!attributes) {
      this.#sealed.delete(object);
      return;
    }
    for (const [type, byValue] of this.#index) {
      const key = indexKey(attributes.get(type));
      if (key === undefined) continue;
      const bucket = byValue.get(key);
      if (bucket === object) {
        byValue.delete(key);
      } else if (bucket instanceof Set) {
        bucket.delete(object);
        if (bucket.size === 1) byValue.set(key, bucket.values().next().value as EngineObject);
      }
    }
  }
}

function sizeOf(bucket: Bucket): number {
  return bucket instanceof Set ? bucket.size : 1;
}
