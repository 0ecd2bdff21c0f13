/** A fresh SoftHSM2 token for one test file: its own token directory, SO and user PINs, a user session. */
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_USER } from '@vhsm/pkcs11';
import { NativeCryptoki, createSoftHsmConfig, initToken, softHsmLibrary } from '../src/index.js';

export const SO_PIN = '12345678';
export const USER_PIN = '87654321';
export const LABEL = 'vhsm native test';

export interface Fixture {
  p11: NativeCryptoki;
  library: string;
  slot: number;
  /** A R/W session logged in as the user. */
  session: number;
  close(): Promise<void>;
}

export async function openSoftHsm(): Promise<Fixture> {
  const library = softHsmLibrary();
  const config = createSoftHsmConfig();
  const p11 = new NativeCryptoki({ library });
  await p11.C_Initialize();
  const slot = await initToken(p11, { label: LABEL, soPin: SO_PIN, userPin: USER_PIN });
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_USER, USER_PIN);
  return {
    p11,
    library,
    slot,
    session,
    close: async () => {
      await p11.C_Finalize();
      config.remove();
    },
  };
}
