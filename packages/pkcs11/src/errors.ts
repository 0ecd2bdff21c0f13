// Pkcs11Error: every failure carries its CK_RV and the C_ function that raised it, and survives
// a worker boundary as a plain object (structured clone drops custom fields of Errors).
import { CKR_GENERAL_ERROR } from './constants.js';
import { ckrName } from './names.js';

/** What crosses a worker/window boundary in place of a Pkcs11Error. */
export interface SerializedPkcs11Error {
  name: 'Pkcs11Error';
  code: number;
  method: string;
  message: string;
}

const FROM_JSON = 'Pkcs11Error.fromJSON';

export class Pkcs11Error extends Error {
  override readonly name = 'Pkcs11Error';
  /** The CK_RV. */
  readonly code: number;
  /** The C_ function that failed, e.g. `C_Sign`. */
  readonly method: string;

  /** `message` is the CKR_ name, then `: detail` if given. Never put key bytes or PINs in `detail`. */
  constructor(code: number, method: string, detail?: string) {
    super(detail === undefined || detail === '' ? ckrName(code) : `${ckrName(code)}: ${detail}`);
    this.code = code;
    this.method = method;
  }

  toJSON(): SerializedPkcs11Error {
    return { name: 'Pkcs11Error', code: this.code, method: this.method, message: this.message };
  }

  /**
   * Rebuilds the error from `toJSON()` output (page side of a worker boundary). Malformed input
   * throws a Pkcs11Error with CKR_GENERAL_ERROR that says which field is wrong, so callers still
   * receive a Pkcs11Error.
   */
  static fromJSON(value: unknown): Pkcs11Error {
    if (typeof value !== 'object' || value === null) {
      throw new Pkcs11Error(CKR_GENERAL_ERROR, FROM_JSON, `malformed error: expected an object, got ${describe(value)}`);
    }
    const record = value as Record<string, unknown>;
    const method = typeof record['method'] === 'string' ? record['method'] : FROM_JSON;
    const fail = (field: string, expected: string): never => {
      throw new Pkcs11Error(
        CKR_GENERAL_ERROR,
        method,
        `malformed error: ${field}: expected ${expected}, got ${describe(record[field])}`,
      );
    };
    if (record['name'] !== 'Pkcs11Error') fail('name', "'Pkcs11Error'");
    const code = record['code'];
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xffffffff) {
      return fail('code', 'an integer from 0 to 0xFFFFFFFF');
    }
    if (typeof record['method'] !== 'string') fail('method', 'a string');
    const message = record['message'];
    if (typeof message !== 'string') return fail('message', 'a string');
    const name = ckrName(code);
    // Keep the original detail; a message that does not start with the CKR_ name still gets it.
    const detail = message === name ? undefined : message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
    return new Pkcs11Error(code, method, detail);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** True for a Pkcs11Error, including one from another copy of this package. */
export function isPkcs11Error(e: unknown): e is Pkcs11Error {
  if (e instanceof Pkcs11Error) return true;
  return (
    e instanceof Error &&
    e.name === 'Pkcs11Error' &&
    typeof (e as { code?: unknown }).code === 'number' &&
    typeof (e as { method?: unknown }).method === 'string'
  );
}
