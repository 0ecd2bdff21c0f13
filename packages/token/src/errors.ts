/**
 * Inside the engine a failure is a CkrError (a CK_RV and a detail for humans); the Cryptoki boundary
 * turns it into a Pkcs11Error that names the C_ function. Anything else thrown is a bug and becomes
 * CKR_GENERAL_ERROR there.
 */
export class CkrError extends Error {
  readonly code: number;
  readonly detail: string | undefined;
  constructor(code: number, detail?: string) {
    super(detail ?? `CK_RV 0x${code.toString(16)}`);
    this.name = 'CkrError';
    this.code = code;
    this.detail = detail;
  }
}

export function ckr(code: number, detail?: string): CkrError {
  return new CkrError(code, detail);
}
