/**
 * The worker test page: connect() to the packaged SharedWorker and run scenarios the Playwright
 * specs call through `window.vhsmTest`. Results are plain data (codes, booleans, counts).
 */
import {
  CKA_CLASS, CKA_LABEL, CKA_TOKEN, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_COUNT_LOW,
  CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED, CKM_AES_GCM, CKO_DATA, CKU_SO, CKU_USER, connect, isPkcs11Error,
} from '@vhsm/client';
import type { VhsmConnection, VhsmCryptoKey } from '@vhsm/client';
import { facadeChecks } from './facade-checks.js';

const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
export const SO_PIN = 'so-pin-e2e-1';
export const USER_PIN = 'user-pin-e2e-1';

let vhsm: VhsmConnection | undefined;

function connection(): VhsmConnection {
  if (!vhsm) throw new Error('not connected');
  return vhsm;
}

/** A C_ call's outcome as data: the CK_RV number (0 for success) and the value. */
async function rv<T>(call: Promise<T>): Promise<{ code: number; value?: T; pkcs11Error?: boolean }> {
  try {
    return { code: 0, value: await call };
  } catch (e) {
    return { code: isPkcs11Error(e) ? e.code : -1, pkcs11Error: isPkcs11Error(e) };
  }
}

const api = {
  /** connect() to the packaged worker, or to a 'spec'-policy worker given through `options.worker`. */
  async connect(policy?: 'spec'): Promise<void> {
    vhsm = await connect(policy === 'spec'
      ? { worker: new SharedWorker(new URL('./spec-worker.ts', import.meta.url), { type: 'module', name: 'vhsm-spec' }) }
      : {});
    await rv(vhsm.pkcs11.C_Initialize());
  },

  /** connect() in dedicated mode: the packaged dedicated worker, calls under Web Locks. */
  async connectDedicated(): Promise<void> {
    vhsm = await connect({ mode: 'dedicated' });
    await vhsm.pkcs11.C_Initialize();
  },

  async close(): Promise<void> {
    await connection().close();
    vhsm = undefined;
  },

  /** Initializes slot 0 (SO and user PINs) unless it already is. */
  async initToken(): Promise<void> {
    const p11 = connection().pkcs11;
    await p11.C_InitToken(0, SO_PIN, 'e2e worker');
    const so = await p11.C_OpenSession(0, RW);
    await p11.C_Login(so, CKU_SO, SO_PIN);
    await p11.C_InitPIN(so, USER_PIN);
    await p11.C_Logout(so);
    await p11.C_CloseSession(so);
  },

  async login(): Promise<number> {
    const p11 = connection().pkcs11;
    const session = await p11.C_OpenSession(0, RW);
    await p11.C_Login(session, CKU_USER, USER_PIN);
    return session;
  },

  /** `count` wrong user logins one after another; their CK_RVs. */
  async wrongLogins(count: number): Promise<number[]> {
    const p11 = connection().pkcs11;
    const session = await p11.C_OpenSession(0, RW);
    const codes: number[] = [];
    for (let i = 0; i < count; i++) codes.push((await rv(p11.C_Login(session, CKU_USER, 'not-the-pin'))).code);
    await p11.C_CloseSession(session);
    return codes;
  },

  async pinFlags(): Promise<{ low: boolean; finalTry: boolean; locked: boolean }> {
    const { flags } = await connection().pkcs11.C_GetTokenInfo(0);
    return { low: (flags & CKF_USER_PIN_COUNT_LOW) !== 0, finalTry: (flags & CKF_USER_PIN_FINAL_TRY) !== 0, locked: (flags & CKF_USER_PIN_LOCKED) !== 0 };
  },

  /** Creates `count` token data objects labelled `${tag}-i`, 16 calls in flight. */
  async createObjects(session: number, tag: string, count: number): Promise<number> {
    const p11 = connection().pkcs11;
    let next = 0;
    let made = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        await p11.C_CreateObject(session, [
          { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: `${tag}-${i}` },
        ]);
        made++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    return made;
  },

  /** Labels of every token data object. */
  async dataLabels(session: number): Promise<string[]> {
    const p11 = connection().pkcs11;
    await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }]);
    const handles: number[] = [];
    for (let batch = await p11.C_FindObjects(session, 500); batch.length; batch = await p11.C_FindObjects(session, 500)) handles.push(...batch);
    await p11.C_FindObjectsFinal(session);
    const labels: string[] = [];
    for (const h of handles) labels.push((await p11.C_GetAttributeValue(session, h, [{ type: CKA_LABEL }]))[0]?.value as string);
    return labels;
  },

  facadeChecks: () => facadeChecks(connection().subtle),

  /** A persistent AES-GCM key made through the facade, and a ciphertext under it. */
  async storeKey(): Promise<{ id: string; ciphertext: number[] }> {
    const { subtle, keyStorage } = connection();
    const key = (await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])) as VhsmCryptoKey;
    const id = await keyStorage.setItem(key);
    const ciphertext = await subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, new TextEncoder().encode('kept'));
    return { id, ciphertext: [...new Uint8Array(ciphertext)] };
  },

  async decryptWithStored(id: string, ciphertext: number[]): Promise<string | null> {
    const { subtle, keyStorage } = connection();
    const key = await keyStorage.getItem(id);
    if (!key) return null;
    const plain = await subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, key, Uint8Array.from(ciphertext));
    return new TextDecoder().decode(plain);
  },

  /** A session and a session key of this application, for another tab to try. */
  async sessionKey(): Promise<{ session: number; key: number }> {
    const { subtle } = connection();
    const key = (await subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt'])) as VhsmCryptoKey;
    const session = await connection().pkcs11.C_OpenSession(0, RW);
    return { session, key: key.handle };
  },

  /** Tries another application's handles: CK_RVs with its session, then with an own session. */
  async useForeignHandles(session: number, key: number): Promise<{ foreignSession: number; foreignKey: number; ownWorks: number }> {
    const p11 = connection().pkcs11;
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    const foreignSession = (await rv(p11.C_EncryptInit(session, gcm, key))).code;
    const own = await p11.C_OpenSession(0, RW);
    const foreignKey = (await rv(p11.C_EncryptInit(own, gcm, key))).code;
    const ownWorks = (await rv(p11.C_GetSessionInfo(own))).code;
    return { foreignSession, foreignKey, ownWorks };
  },

  /**
   * Raw postMessages to the SharedWorker, bypassing the client: each gets a reply; then a valid
   * request on the same port still works.
   */
  async forge(): Promise<{ replies: { id: unknown; ok: unknown; code?: number; name?: string }[]; after: unknown }> {
    const worker = new SharedWorker(new URL('./forge-worker.ts', import.meta.url), { type: 'module', name: 'vhsm-forge' });
    const port = worker.port;
    const replies: { id: unknown; ok: unknown; code?: number; name?: string }[] = [];
    let wake: (() => void) | undefined;
    port.onmessage = (event: MessageEvent) => {
      // A frame is one reply or several.
      const frame = event.data as { id: unknown; ok: unknown; error?: { code: number; name: string } } | { id: unknown; ok: unknown; error?: { code: number; name: string } }[];
      for (const data of Array.isArray(frame) ? frame : [frame]) {
        replies.push({ id: data.id, ok: data.ok, ...(data.error ? { code: data.error.code, name: data.error.name } : {}) });
      }
      wake?.();
    };
    const until = async (n: number) => {
      while (replies.length < n) await new Promise<void>((resolve) => (wake = resolve));
    };
    const forged: unknown[] = [
      'C_Initialize', 42, null, [1, 2, 3], { id: 1 }, { id: 2, fn: 'eval', args: [] },
      { id: 3, fn: 'C_Initialize', args: 'x' }, { id: 4, fn: 'C_CreateObject', args: [1, JSON.parse('[{"__proto__":{"x":1}}]')] },
      { id: 5, fn: 'C_Encrypt', args: [1, new Float64Array(4)] }, { id: 6, fn: 'C_Encrypt', args: [1, new Blob(['x'])] },
      { id: 7, fn: 'C_Login', args: [1, 1, 'p'.repeat(100_000)] }, { id: 8, fn: 'C_GetSlotList', args: [true] },
      { id: 9, fn: 'vhsm:batch', args: [['C_GetInfo', []], ['eval', []]] },
    ];
    for (const message of forged) port.postMessage(message);
    // [1, 2, 3] is a frame of three requests, each refused.
    await until(forged.length + 2);
    port.postMessage({ id: 100, fn: 'C_GetInterfaceList', args: [] });
    await until(forged.length + 3);
    const after = replies.pop();
    port.close();
    return { replies, after };
  },

  traceSample: async () => {
    const v = connection();
    v.trace.enable();
    await rv(v.pkcs11.C_Login(await v.pkcs11.C_OpenSession(0, RW), CKU_USER, USER_PIN));
    v.trace.disable();
    return JSON.parse(JSON.stringify(v.trace.records)) as unknown[];
  },
};

declare global {
  interface Window {
    vhsmTest: typeof api;
  }
}

window.vhsmTest = api;
