/** Backends the suite knows how to make. vhsm's engine is added where @vhsm/token is at hand. */
import { CKR_CRYPTOKI_NOT_INITIALIZED, isPkcs11Error } from '@vhsm/pkcs11';
import { NativeCryptoki, createSoftHsmConfig, softHsmLibrary } from '@vhsm/native';
import type { Backend } from './suite.js';

/** SoftHSM2 with an empty token directory of its own (SOFTHSM2_CONF is read at C_Initialize). */
export async function softHsmBackend(): Promise<Backend> {
  const library = softHsmLibrary();
  const config = createSoftHsmConfig();
  const p11 = new NativeCryptoki({ library });
  return {
    p11,
    close: async () => {
      try {
        await p11.C_Finalize();
      } catch (e) {
        if (!isPkcs11Error(e) || e.code !== CKR_CRYPTOKI_NOT_INITIALIZED) throw e;
      }
      config.remove();
    },
  };
}
