/**
 * Facade failures look like WebCrypto's: a DOMException named NotSupportedError, InvalidAccessError,
 * DataError, OperationError (or a TypeError for malformed arguments, as WebCrypto throws), and they
 * also carry the CK_RV that caused them.
 */
import {
  CKR_AEAD_DECRYPT_FAILED, CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_VALUE_INVALID, CKR_DATA_INVALID,
  CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_FUNCTION_NOT_SUPPORTED,
  CKR_GENERAL_ERROR, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID, CKR_KEY_SIZE_RANGE,
  CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_UNEXTRACTABLE, CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID,
  CKR_OBJECT_HANDLE_INVALID, CKR_TEMPLATE_INCONSISTENT, CKR_WRAPPED_KEY_INVALID, CKR_WRAPPED_KEY_LEN_RANGE,
  ckrName, isPkcs11Error,
} from '@vhsm/pkcs11';

export type WebCryptoErrorName = 'NotSupportedError' | 'InvalidAccessError' | 'DataError' | 'OperationError' | 'SyntaxError';

/** A DOMException with WebCrypto's name plus the CK_RV (`ckr`) and its name (`ckrName`). */
export type FacadeError = DOMException & { readonly ckr: number; readonly ckrName: string };

export function facadeError(name: WebCryptoErrorName, message: string, code: number): FacadeError {
  return Object.assign(new DOMException(message, name), { ckr: code, ckrName: ckrName(code) });
}

const NAME_OF: ReadonlyMap<number, WebCryptoErrorName> = new Map<number, WebCryptoErrorName>([
  [CKR_MECHANISM_INVALID, 'NotSupportedError'],
  [CKR_FUNCTION_NOT_SUPPORTED, 'NotSupportedError'],
  [CKR_KEY_FUNCTION_NOT_PERMITTED, 'InvalidAccessError'],
  [CKR_KEY_TYPE_INCONSISTENT, 'InvalidAccessError'],
  [CKR_KEY_HANDLE_INVALID, 'InvalidAccessError'],
  [CKR_OBJECT_HANDLE_INVALID, 'InvalidAccessError'],
  [CKR_KEY_UNEXTRACTABLE, 'InvalidAccessError'],
  [CKR_ATTRIBUTE_VALUE_INVALID, 'DataError'],
  [CKR_KEY_SIZE_RANGE, 'DataError'],
  [CKR_WRAPPED_KEY_INVALID, 'DataError'],
  [CKR_WRAPPED_KEY_LEN_RANGE, 'DataError'],
  [CKR_TEMPLATE_INCONSISTENT, 'DataError'],
  [CKR_AEAD_DECRYPT_FAILED, 'OperationError'],
  [CKR_ENCRYPTED_DATA_INVALID, 'OperationError'],
  [CKR_ENCRYPTED_DATA_LEN_RANGE, 'OperationError'],
  [CKR_DATA_INVALID, 'OperationError'],
  [CKR_DATA_LEN_RANGE, 'OperationError'],
  [CKR_MECHANISM_PARAM_INVALID, 'OperationError'],
  [CKR_ARGUMENTS_BAD, 'OperationError'],
]);

/** A Pkcs11Error (or anything else) as the facade's error. */
export function toFacadeError(e: unknown): unknown {
  if (e instanceof DOMException || e instanceof TypeError) return e;
  if (isPkcs11Error(e)) return facadeError(NAME_OF.get(e.code) ?? 'OperationError', e.message, e.code);
  return facadeError('OperationError', 'internal error', CKR_GENERAL_ERROR);
}
