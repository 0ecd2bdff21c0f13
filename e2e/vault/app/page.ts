/**
 * The embedding app of the vault tests, served on several origins: connect({ vault }) with the vault
 * origin from `?vault=`, scenarios for the specs through `window.vhsmVaultTest`, and spies that record
 * everything this origin's scripts could observe (port messages, window messages, key events), so
 * a spec can check the PIN never reaches them. Results are plain data.
 */
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_LABEL, CKA_SIGN, CKA_TOKEN, CKA_VERIFY, CKF_PROTECTED_AUTHENTICATION_PATH,
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_DEVICE_ERROR,
  CKU_SO, CKU_USER, connect, isPkcs11Error,
} from '@vhsm/client';
import type { VhsmConnection, VhsmCryptoKeyPair } from '@vhsm/client';

const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const P256 = new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

/** What this origin's scripts saw: every message on any port or window, every key typed. */
const observed: string[] = [];
const text = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) =>
  (v instanceof Uint8Array ? new TextDecoder().decode(v) : v)) ?? String(value);
const addListener = MessagePort.prototype.addEventListener;
MessagePort.prototype.addEventListener = function (this: MessagePort, ...args: Parameters<MessagePort['addEventListener']>) {
  if (args[0] === 'message') addListener.call(this, 'message', (e: Event) => observed.push(text((e as MessageEvent).data)));
  return addListener.apply(this, args);
} as MessagePort['addEventListener'];
addEventListener('message', (e) => observed.push(text(e.data)), true);
for (const type of ['keydown', 'keypress', 'keyup', 'input'] as const) {
  addEventListener(type, (e) => observed.push(`${type}:${(e as KeyboardEvent).key ?? ''}`), true);
}

let vhsm: VhsmConnection | undefined;
let session = 0;

function p11(): VhsmConnection['pkcs11'] {
  if (!vhsm) throw new Error('not connected');
  return vhsm.pkcs11;
}

/** A call's CK_RV (0 for success) and value. */
async function rv<T>(call: Promise<T>): Promise<{ code: number; value?: T }> {
  try {
    return { code: 0, value: await call };
  } catch (e) {
    return { code: isPkcs11Error(e) ? e.code : -1 };
  }
}

const vaultOrigin = new URL(location.href).searchParams.get('vault') ?? '';

const api = {
  /** connect() and C_Initialize: `code` is connect()'s CK_RV, or C_Initialize's once connected. */
  async connect(vault = vaultOrigin): Promise<{ code: number; connected?: true }> {
    const result = await rv(connect({ vault }));
    vhsm = result.value;
    if (!vhsm) return { code: result.code };
    const code = await api.initialize();
    return code === 0 ? { code } : { code, connected: true };
  },
  /** C_Initialize; its CK_RV. */
  async initialize(): Promise<number> {
    return (await rv(p11().C_Initialize())).code;
  },
  /** C_GetSlotList's CK_RV. */
  async slots(): Promise<number> {
    return (await rv(p11().C_GetSlotList(false))).code;
  },
  /**
   * C_GetSlotList posted every 10 ms, without waiting for answers, until one gets past the vault's
   * CKR_DEVICE_ERROR (the vault switched to its storage): every call's CK_RV, -2 for one not
   * answered within 5 s.
   */
  async flood(): Promise<number[]> {
    const calls: Promise<number>[] = [];
    let through = false;
    for (let i = 0; i < 2000 && !through; i++) {
      const call = Promise.race([api.slots(), new Promise<number>((resolve) => setTimeout(() => resolve(-2), 5000))]);
      void call.then((code) => (through ||= code !== CKR_DEVICE_ERROR && code !== -2));
      calls.push(call);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return Promise.all(calls);
  },
  /** The message of a failing C_GetSlotList (what the vault says to the app). */
  async slotsMessage(): Promise<string> {
    try {
      await p11().C_GetSlotList(false);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  },
  /** Whether the vault iframe is shown (the vault asked for the user). */
  frameShown(): boolean {
    const frame = document.querySelector<HTMLIFrameElement>('iframe[data-vhsm-vault]');
    return frame !== null && frame.getBoundingClientRect().width > 0;
  },
  async close(): Promise<void> {
    await vhsm?.close();
    vhsm = undefined;
  },
  /** C_InitToken, SO login and C_InitPIN without PINs: the vault asks the user for each. */
  async initToken(): Promise<number[]> {
    const codes = [(await rv(p11().C_InitToken(0, undefined as unknown as string, 'vault e2e'))).code];
    const so = await p11().C_OpenSession(0, RW);
    codes.push((await rv(p11().C_Login(so, CKU_SO))).code);
    codes.push((await rv(p11().C_InitPIN(so, undefined as unknown as string))).code);
    await p11().C_CloseSession(so);
    return codes;
  },
  async protectedPath(): Promise<boolean> {
    return ((await p11().C_GetTokenInfo(0)).flags & CKF_PROTECTED_AUTHENTICATION_PATH) !== 0;
  },
  async openSession(): Promise<void> {
    session = await p11().C_OpenSession(0, RW);
  },
  /** C_Login with no PIN: resolves with the CK_RV once the user answered the vault's dialog. */
  async login(pin?: string): Promise<number> {
    return (await rv(pin === undefined ? p11().C_Login(session, CKU_USER) : p11().C_Login(session, CKU_USER, pin))).code;
  },
  /** A token EC key pair labelled `label`; its handles. */
  async generate(label: string): Promise<{ publicKey: number; privateKey: number }> {
    return p11().C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: label }],
      [{ type: CKA_SIGN, value: true }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: label }]);
  },
  /** Signs with the vault's key and verifies with this page's own crypto.subtle. */
  async signAndVerify(privateKey: number, publicKey: number): Promise<{ code: number; verified?: boolean }> {
    const data = new TextEncoder().encode('signed through the vault');
    const init = await rv(p11().C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey));
    if (init.code !== 0) return { code: init.code };
    const signature = await p11().C_Sign(session, data);
    const [point] = await p11().C_GetAttributeValue(session, publicKey, [{ type: CKA_EC_POINT }]);
    const der = point?.value as Uint8Array;
    const key = await crypto.subtle.importKey('raw', Uint8Array.from(der.subarray(der.length - 65)), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return { code: 0, verified: await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Uint8Array.from(signature), data) };
  },
  /** The facade over the vault: ECDSA key, sign, verify. */
  async facade(): Promise<boolean> {
    if (!vhsm) throw new Error('not connected');
    const pair = await vhsm.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as VhsmCryptoKeyPair;
    const data = new TextEncoder().encode('facade');
    const signature = await vhsm.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, data);
    return vhsm.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pair.publicKey, signature, data);
  },
  /** Labels of every object this origin can find. */
  async labels(): Promise<string[]> {
    await p11().C_FindObjectsInit(session, []);
    const handles = await p11().C_FindObjects(session, 2);
    for (let more = handles; more.length > 0;) {
      more = await p11().C_FindObjects(session, 2);
      handles.push(...more);
    }
    await p11().C_FindObjectsFinal(session);
    const labels: string[] = [];
    for (const h of handles) labels.push((await p11().C_GetAttributeValue(session, h, [{ type: CKA_LABEL }]))[0]?.value as string);
    return labels.sort();
  },
  /** Handles of keys (private unless `publicKey`) labelled `label` this origin can find. */
  async findKey(label: string, publicKey = false): Promise<number[]> {
    await p11().C_FindObjectsInit(session, [{ type: CKA_CLASS, value: publicKey ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY }, { type: CKA_LABEL, value: label }]);
    const found = await p11().C_FindObjects(session);
    await p11().C_FindObjectsFinal(session);
    return found;
  },
  /** Guessed handles 1..count but `own`: the CK_RVs of reading and signing with each. */
  async guess(count: number, own: number[]): Promise<{ read: number[]; sign: number[] }> {
    const read: number[] = [];
    const sign: number[] = [];
    for (let h = 1; h <= count; h++) {
      if (own.includes(h)) continue;
      read.push((await rv(p11().C_GetAttributeValue(session, h, [{ type: CKA_LABEL }]))).code);
      sign.push((await rv(p11().C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, h))).code);
    }
    return { read, sign };
  },
  async destroy(handle: number): Promise<number> {
    return (await rv(p11().C_DestroyObject(session, handle))).code;
  },
  /** What this origin can reach of the vault by itself. */
  async reach(): Promise<{ databases: string[]; document: string; storage: string }> {
    const frame = document.querySelector<HTMLIFrameElement>('iframe[data-vhsm-vault]');
    const attempt = (f: () => unknown): string => {
      try {
        f();
        return 'read';
      } catch (e) {
        return (e as Error).name;
      }
    };
    return {
      databases: (await indexedDB.databases()).map((d) => d.name ?? ''),
      document: attempt(() => frame?.contentWindow?.document.body.innerHTML),
      storage: attempt(() => frame?.contentWindow?.localStorage.length),
    };
  },
  observed(): string[] {
    return observed;
  },
  /** Covers the shown vault iframe with a translucent element (an overlay attack), or removes it. */
  overlay(on: boolean): void {
    document.getElementById('overlay')?.remove();
    if (!on) return;
    const cover = document.createElement('div');
    cover.id = 'overlay';
    cover.style.cssText = 'position:fixed;inset:0;background:#fff;opacity:0.5;z-index:2147483647;';
    document.body.append(cover);
  },
};

declare global {
  interface Window {
    vhsmVaultTest: typeof api;
  }
}
window.vhsmVaultTest = api;
