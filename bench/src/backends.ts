/**
 * The three things measured side by side: the vhsm engine (in process, in-memory store, the
 * default PBKDF2 iteration count), SoftHSM2 through @vhsm/native, and raw WebCrypto.
 */
import { existsSync } from 'node:fs';
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_SO, CKU_USER } from '@vhsm/pkcs11';
import type { CryptokiApi } from '@vhsm/pkcs11';
import { NativeCryptoki, createSoftHsmConfig, initToken, SOFTHSM2_DEFAULT_LIBRARY } from '@vhsm/native';
import type { SoftHsmConfig } from '@vhsm/native';
import { Cryptoki, DEFAULT_PBKDF2_ITERATIONS } from '@vhsm/token';

export type BackendName = 'vhsm' | 'softhsm' | 'webcrypto';

export const SO_PIN = 'bench-so-pin';
export const USER_PIN = 'bench-user-pin';

/** A logged-in token with one R/W session per lane. */
export interface TokenHandle {
  name: 'vhsm' | 'softhsm';
  p11: CryptokiApi;
  slot: number;
  sessions: number[];
}

export interface Backends {
  softhsm: NativeCryptoki | undefined;
  softhsmWhyMissing: string | undefined;
  /** Library description and version, as C_GetInfo tells them. */
  softhsmInfo: string | undefined;
  pbkdf2Iterations: number;
  close(): Promise<void>;
}

const engines: Cryptoki[] = [];

export async function openBackends(useSoftHsm: boolean): Promise<Backends> {
  let softhsm: NativeCryptoki | undefined;
  let config: SoftHsmConfig | undefined;
  let softhsmWhyMissing: string | undefined;
  const library = process.env['SOFTHSM2_LIB'] ?? SOFTHSM2_DEFAULT_LIBRARY;
  if (!useSoftHsm) softhsmWhyMissing = 'left out (--no-softhsm)';
  else if (!existsSync(library)) softhsmWhyMissing = `${library} is missing (apt-get install softhsm2)`;
  else {
    config = createSoftHsmConfig();
    softhsm = new NativeCryptoki({ library });
    await softhsm.C_Initialize();
  }
  const info = await softhsm?.C_GetInfo();
  return {
    softhsm,
    softhsmWhyMissing,
    softhsmInfo: info && `${info.libraryDescription} ${info.libraryVersion.major}.${info.libraryVersion.minor}`,
    pbkdf2Iterations: DEFAULT_PBKDF2_ITERATIONS,
    close: async () => {
      for (const engine of engines.splice(0)) await engine.C_Finalize();
      if (softhsm) await softhsm.C_Finalize();
      config?.remove();
    },
  };
}

let tokenCount = 0;

/**
 * A fresh token, the user logged in, `lanes` sessions open. Each vhsm token is a new engine (with
 * the engine's default PBKDF2 iteration count, so login costs what users pay); SoftHSM2 tokens
 * share its one module instance.
 */
export async function openToken(backends: Backends, name: 'vhsm' | 'softhsm', lanes: number): Promise<TokenHandle> {
  const label = `bench ${++tokenCount}`;
  let slot: number;
  let p11: CryptokiApi;
  if (name === 'softhsm') {
    if (!backends.softhsm) throw new Error('SoftHSM2 is not available');
    p11 = backends.softhsm;
    slot = await initToken(p11, { label, soPin: SO_PIN, userPin: USER_PIN });
  } else {
    const engine = new Cryptoki();
    engines.push(engine);
    p11 = engine;
    await engine.C_Initialize();
    const [first] = await p11.C_GetSlotList(true);
    slot = first as number;
    await p11.C_InitToken(slot, SO_PIN, label);
    const so = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await p11.C_Login(so, CKU_SO, SO_PIN);
    await p11.C_InitPIN(so, USER_PIN);
    await p11.C_Logout(so);
    await p11.C_CloseSession(so);
  }
  const sessions: number[] = [];
  for (let i = 0; i < lanes; i++) sessions.push(await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION));
  await p11.C_Login(sessions[0] as number, CKU_USER, USER_PIN);
  return { name, p11, slot, sessions };
}
