/** A fresh token ready for a scenario, made through the API alone (any CryptokiApi backend). */
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_SO, CKU_USER } from '@vhsm/pkcs11';
import type { CryptokiApi } from '@vhsm/pkcs11';
import type { ScenarioContext } from './types.js';

export interface PrepareOptions {
  soPin?: string;
  userPin?: string;
  label?: string;
  /** The attacker's offline WebCrypto (default globalThis.crypto). */
  crypto?: Crypto;
}

/**
 * Initialize the first slot's token, set the user PIN and log the user in on an R/W session.
 * `p11` must be a fresh module: C_Initialize is called here.
 */
export async function prepareToken(p11: CryptokiApi, options: PrepareOptions = {}): Promise<ScenarioContext> {
  const soPin = options.soPin ?? 'attack-lab-so';
  const userPin = options.userPin ?? 'attack-lab-user';
  await p11.C_Initialize();
  const [slot] = await p11.C_GetSlotList(true);
  if (slot === undefined) throw new Error('prepareToken: no slot');
  await p11.C_InitToken(slot, soPin, options.label ?? 'attack lab');
  const so = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(so, CKU_SO, soPin);
  await p11.C_InitPIN(so, userPin);
  await p11.C_Logout(so);
  await p11.C_CloseSession(so);
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_USER, userPin);
  return { p11, slot, session, userPin, soPin, crypto: options.crypto ?? globalThis.crypto };
}
