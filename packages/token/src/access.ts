/**
 * Who may touch which object: one pure function of the session state and the object's kind
 * (PKCS#11 v3.0 §5.6 and Table "Access to objects by session type"; SoftHSM2's access.cpp).
 *
 *                          R/O Public  R/W Public  R/O User  R/W User  R/W SO
 *   public session object    R/W         R/W         R/W       R/W       R/W
 *   private session object    -           -          R/W       R/W        -
 *   public token object      R/O         R/W         R/O       R/W       R/W
 *   private token object      -           -          R/O       R/W        -
 */
import {
  CKR_OK, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN, CKS_RO_USER_FUNCTIONS,
  CKS_RW_PUBLIC_SESSION, CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS,
} from '@vhsm/pkcs11';

export interface ObjectKind {
  token: boolean;
  private: boolean;
}

/** CKR_OK, or the CK_RV that refuses the access. */
export function accessCheck(state: number, object: ObjectKind, write: boolean): number {
  // A write to the token from a read-only session is refused first, whoever is logged in
  // (SoftHSM2's haveWrite has the same order).
  if (write && object.token) {
    const readWrite = state === CKS_RW_PUBLIC_SESSION || state === CKS_RW_USER_FUNCTIONS || state === CKS_RW_SO_FUNCTIONS;
    if (!readWrite) return CKR_SESSION_READ_ONLY;
  }
  const user = state === CKS_RO_USER_FUNCTIONS || state === CKS_RW_USER_FUNCTIONS;
  if (object.private && !user) return CKR_USER_NOT_LOGGED_IN;
  return CKR_OK;
}

/** Can the object be seen at all (C_FindObjects, handles)? */
export function canSee(state: number, object: ObjectKind): boolean {
  return accessCheck(state, object, false) === CKR_OK;
}
