// The demo's view of one token: the chosen slot, the sessions it opened, the objects it can see.
import {
  CKA_ALWAYS_SENSITIVE, CKA_APPLICATION, CKA_CERTIFICATE_TYPE, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_ENCRYPT,
  CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_SENSITIVE,
  CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VERIFY, CKA_WRAP, CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKF_RW_SESSION, CKF_SERIAL_SESSION,
} from '@vhsm/pkcs11';
import type { Attribute, AttributeValue, CryptokiApiV3 } from '@vhsm/pkcs11';

export const USAGE_FLAGS = [
  [CKA_ENCRYPT, 'encrypt'], [CKA_DECRYPT, 'decrypt'], [CKA_SIGN, 'sign'], [CKA_VERIFY, 'verify'],
  [CKA_WRAP, 'wrap'], [CKA_UNWRAP, 'unwrap'], [CKA_DERIVE, 'derive'],
] as const;
export const PROTECTION_FLAGS = [
  [CKA_SENSITIVE, 'sensitive'], [CKA_EXTRACTABLE, 'extractable'], [CKA_LOCAL, 'local'],
  [CKA_ALWAYS_SENSITIVE, 'always sensitive'], [CKA_NEVER_EXTRACTABLE, 'never extractable'],
] as const;

/** The attributes the objects table shows, by class (asking one invalid for the class fails the call). */
const TABLE_ATTRIBUTES: Readonly<Record<number, readonly number[]>> = {
  [CKO_SECRET_KEY]: [CKA_KEY_TYPE, CKA_ID, ...USAGE_FLAGS.map(([t]) => t), ...PROTECTION_FLAGS.map(([t]) => t)],
  [CKO_PRIVATE_KEY]: [CKA_KEY_TYPE, CKA_ID, CKA_DECRYPT, CKA_SIGN, CKA_UNWRAP, CKA_DERIVE, ...PROTECTION_FLAGS.map(([t]) => t)],
  [CKO_PUBLIC_KEY]: [CKA_KEY_TYPE, CKA_ID, CKA_ENCRYPT, CKA_VERIFY, CKA_WRAP, CKA_DERIVE, CKA_LOCAL],
  [CKO_CERTIFICATE]: [CKA_ID, CKA_CERTIFICATE_TYPE],
  [CKO_DATA]: [CKA_APPLICATION],
};

export interface ObjectRow {
  handle: number;
  objectClass: number;
  label: string;
  token: boolean;
  private: boolean;
  attrs: Map<number, AttributeValue>;
}

export interface SessionRow {
  handle: number;
  flags: number;
}

type Listener = () => void;

export class TokenView {
  readonly pkcs11: CryptokiApiV3;
  slot = 0;
  sessions: SessionRow[] = [];
  /** The session the explorer and playground act through. */
  session: number | undefined;
  objects: ObjectRow[] = [];
  /** Wrong PINs seen by this page since the last good one (the token itself only reports flags). */
  failedLogins = 0;
  readonly #listeners = new Set<Listener>();

  constructor(pkcs11: CryptokiApiV3) {
    this.pkcs11 = pkcs11;
  }

  onChange(listener: Listener): void {
    this.#listeners.add(listener);
  }

  changed(): void {
    for (const listener of this.#listeners) listener();
  }

  async openSession(readWrite: boolean): Promise<number> {
    const flags = CKF_SERIAL_SESSION | (readWrite ? CKF_RW_SESSION : 0);
    const handle = await this.pkcs11.C_OpenSession(this.slot, flags);
    this.sessions.push({ handle, flags });
    this.session = handle;
    return handle;
  }

  async closeSession(handle: number): Promise<void> {
    await this.pkcs11.C_CloseSession(handle);
    this.#forget(handle);
  }

  async closeAllSessions(): Promise<void> {
    await this.pkcs11.C_CloseAllSessions(this.slot);
    this.sessions = [];
    this.session = undefined;
    this.objects = [];
  }

  #forget(handle: number): void {
    this.sessions = this.sessions.filter((s) => s.handle !== handle);
    if (this.session === handle) this.session = this.sessions[0]?.handle;
  }

  /** The current session; opens a read/write one when there is none. */
  async requireSession(): Promise<number> {
    return this.session ?? (await this.openSession(true));
  }

  /** Finds every object the current session can see and reads the table's attributes. */
  async refreshObjects(): Promise<void> {
    const session = this.session;
    if (session === undefined) {
      this.objects = [];
      return;
    }
    const p = this.pkcs11;
    await p.C_FindObjectsInit(session, []);
    const handles: number[] = [];
    try {
      for (;;) {
        const batch = await p.C_FindObjects(session, 64);
        if (batch.length === 0) break;
        handles.push(...batch);
      }
    } finally {
      await p.C_FindObjectsFinal(session);
    }
    const rows: ObjectRow[] = [];
    for (const handle of handles) {
      const common = await p.C_GetAttributeValue(session, handle, [{ type: CKA_CLASS }, { type: CKA_LABEL }, { type: CKA_TOKEN }, { type: CKA_PRIVATE }]);
      const values = new Map<number, AttributeValue>();
      for (const a of common) if (a.value !== undefined) values.set(a.type, a.value);
      const objectClass = values.get(CKA_CLASS) as number;
      for (const [type, value] of await readAttributes(p, session, handle, TABLE_ATTRIBUTES[objectClass] ?? [])) values.set(type, value);
      rows.push({
        handle, objectClass, label: String(values.get(CKA_LABEL) ?? ''), token: values.get(CKA_TOKEN) === true,
        private: values.get(CKA_PRIVATE) === true, attrs: values,
      });
    }
    this.objects = rows;
  }
}

/**
 * Reads `types` in one call; if the token refuses the whole template (one type sensitive or invalid),
 * falls back to one call per attribute and keeps those that answered.
 */
export async function readAttributes(p: CryptokiApiV3, session: number, handle: number, types: readonly number[]): Promise<Map<number, AttributeValue>> {
  const out = new Map<number, AttributeValue>();
  if (types.length === 0) return out;
  const put = (attrs: Attribute[]): void => {
    for (const a of attrs) if (a.value !== undefined) out.set(a.type, a.value);
  };
  try {
    put(await p.C_GetAttributeValue(session, handle, types.map((type) => ({ type }))));
  } catch {
    for (const type of types) {
      try {
        put(await p.C_GetAttributeValue(session, handle, [{ type }]));
      } catch {
        // Not readable for this object: the details view says why.
      }
    }
  }
  return out;
}
