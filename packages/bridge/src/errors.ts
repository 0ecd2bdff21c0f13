/** Bridge failures are CK_RVs from the start, so the engine passes them to the caller unchanged. */
import { Pkcs11Error } from '@vhsm/pkcs11';

export function fail(code: number, detail: string): Pkcs11Error {
  return new Pkcs11Error(code, 'bridge', detail);
}
