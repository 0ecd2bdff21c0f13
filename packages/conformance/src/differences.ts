/**
 * Every call on which vhsm (spec policy) and SoftHSM2 2.6.1 are known to differ, with the reason.
 * The differential test fails on a difference missing here and on an entry that no longer differs,
 * so this list and docs/conformance.md stay true.
 */
import type { ComparisonRow } from './suite.js';

export interface KnownDifference {
  /** `chapter/scenario`, as in the table. */
  scenario: string;
  call: string;
  /** 'vhsm follows the spec' | 'deliberate' | 'SoftHSM2 bug' — and why. */
  reason: string;
}

const ECDSA =
  'deliberate: WebCrypto\'s ECDSA hashes the message itself, so vhsm offers CKM_ECDSA_SHA1/256/384/512 and no raw CKM_ECDSA; SoftHSM2 2.6.1 offers CKM_ECDSA only. The sign chapter and cross-verification use each backend\'s own mechanism for ECDSA with SHA-256.';
const LOCK = 'deliberate: vhsm locks the user PIN after maxPinTries (10) wrong PINs (CKF_USER_PIN_LOCKED, CKR_PIN_LOCKED); SoftHSM2 counts (CKF_USER_PIN_COUNT_LOW) but never locks.';
const TOOKAN =
  'deliberate under the spec policy: nothing in PKCS#11 forbids one key to wrap and decrypt, and CKM_AES_KEY_WRAP is an encryption mechanism too, so Clulow\'s attack works (the strict policy refuses to make such a key); SoftHSM2 cannot C_Decrypt with CKM_AES_KEY_WRAP, so its refusal is the mechanism\'s, not a policy\'s.';

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  ...['CKM_ECDSA listed', 'C_GetMechanismInfo CKM_ECDSA', 'CKM_ECDSA flags', 'CKM_ECDSA_SHA256 listed', 'C_GetMechanismInfo CKM_ECDSA_SHA256', 'CKM_ECDSA_SHA256 flags']
    .map((call) => ({ scenario: 'slot/mechanism list and info', call, reason: ECDSA })),
  { scenario: 'login/user login outcomes', call: 'C_Logout not logged in', reason: 'vhsm follows the spec: C_Logout without a login is CKR_USER_NOT_LOGGED_IN; SoftHSM2 answers CKR_OK.' },
  { scenario: 'login/ten wrong user PINs in a row', call: 'C_Login right PIN after 10 wrong', reason: LOCK },
  { scenario: 'login/ten wrong user PINs in a row', call: 'PIN flags after 10', reason: LOCK },
  {
    scenario: 'object/attribute errors',
    call: 'C_SetAttributeValue clear CKA_EXTRACTABLE',
    reason: 'vhsm follows the spec: CKA_EXTRACTABLE is modifiable and only read-only once CK_FALSE (PKCS#11 v3.0 common attribute footnotes 8 and 12), so CK_TRUE → CK_FALSE is allowed; SoftHSM2 answers CKR_ATTRIBUTE_READ_ONLY.',
  },
  { scenario: 'cipher/AES-GCM', call: 'C_Decrypt tampered', reason: 'vhsm follows the spec: a GCM tag that does not verify is CKR_ENCRYPTED_DATA_INVALID; SoftHSM2 answers CKR_GENERAL_ERROR.' },
  {
    scenario: 'cipher/AES-CBC-PAD single- and multi-part',
    call: 'C_EncryptInit 8-byte IV',
    reason: 'vhsm follows the spec: a wrong IV length is a bad parameter, CKR_MECHANISM_PARAM_INVALID; SoftHSM2 answers CKR_MECHANISM_INVALID.',
  },
  {
    scenario: 'cipher/operation state errors',
    call: 'C_EncryptInit unknown key',
    reason: 'vhsm follows the spec: the key argument of C_EncryptInit is a key handle, so an unknown one is CKR_KEY_HANDLE_INVALID; SoftHSM2 answers CKR_OBJECT_HANDLE_INVALID.',
  },
  {
    scenario: 'sign/HMAC-SHA-1/384/512 one-shot, key length',
    call: 'C_SignInit SHA-512, 32-byte key',
    reason: 'deliberate: SoftHSM2 refuses HMAC keys shorter than the digest (CKR_KEY_SIZE_RANGE), after RFC 2104\'s advice; neither PKCS#11 nor RFC 2104 forbids them (the key "can be of any length"), WebCrypto accepts them, and so does vhsm under both policies.',
  },
  {
    scenario: 'wrap/AES key wrap (RFC 3394) of an imported key',
    call: 'C_GetAttributeValue',
    reason: 'SoftHSM2 bug: an unwrapped secret key reads CKA_VALUE_LEN 0 (softhsm/SoftHSMv2#628); vhsm sets it from the key, as the spec says the mechanism contributes it.',
  },
  ...['C_DecryptInit', 'C_Decrypt', 'the sensitive key came out in clear'].map((call) => ({ scenario: 'wrap/tookan: wrap with a key that can also decrypt', call, reason: TOOKAN })),
  {
    scenario: 'login/PIN and token management errors',
    call: 'C_InitToken SO PIN of 2 characters',
    reason: 'deliberate: vhsm answers a PIN outside 4..64 characters with CKR_PIN_LEN_RANGE, as C_InitPIN and C_SetPIN do; SoftHSM2 answers CKR_PIN_INCORRECT (the code C_InitToken lists for a wrong SO PIN of an initialised token).',
  },
  {
    scenario: 'object/secret key templates',
    call: 'C_CreateObject AES of 15 bytes',
    reason: 'vhsm follows the spec: an AES CKA_VALUE is 16, 24 or 32 bytes, so 15 is CKR_ATTRIBUTE_VALUE_INVALID; SoftHSM2 stores the key and fails only when it is used.',
  },
  {
    scenario: 'object/secret key templates',
    call: 'C_GetAttributeValue defaults',
    reason: 'deliberate: the spec leaves the default of CKA_EXTRACTABLE to the token; vhsm\'s spec policy defaults to CK_TRUE (WebCrypto\'s extractable keys), SoftHSM2 to CK_FALSE. The strict policy defaults to CK_FALSE.',
  },
  {
    scenario: 'key/generation template errors',
    call: 'C_GenerateKeyPair EC on an unknown curve',
    reason: 'vhsm follows the spec: a curve the token does not support is CKR_CURVE_NOT_SUPPORTED (v3.0); SoftHSM2 answers CKR_GENERAL_ERROR.',
  },
  {
    scenario: 'key/generation template errors',
    call: 'C_GenerateKeyPair EC with CKA_EC_PARAMS not an OID',
    reason: 'vhsm follows the spec: a CKA_EC_PARAMS that is not a curve\'s DER OID is CKR_ATTRIBUTE_VALUE_INVALID; SoftHSM2 answers CKR_GENERAL_ERROR.',
  },
  {
    scenario: 'key/generation template errors',
    call: 'C_GenerateKey AES with CKA_CLASS data',
    reason: 'vhsm follows the spec: a template whose CKA_CLASS contradicts the key generation mechanism is CKR_TEMPLATE_INCONSISTENT; SoftHSM2 answers CKR_ATTRIBUTE_VALUE_INVALID.',
  },
  {
    scenario: 'cipher/key types and data lengths',
    call: 'C_Decrypt GCM input shorter than the tag',
    reason: 'vhsm follows the spec: a ciphertext shorter than the tag has a wrong length, CKR_ENCRYPTED_DATA_LEN_RANGE; SoftHSM2 answers CKR_GENERAL_ERROR.',
  },
  {
    scenario: 'sign/key, mechanism and state mismatches',
    call: 'C_Sign after C_SignUpdate',
    reason: 'neither code is named by the spec, which only says C_Sign cannot end a multi-part operation: vhsm answers CKR_OPERATION_ACTIVE, SoftHSM2 CKR_OPERATION_NOT_INITIALIZED; both end the operation, as the next row shows.',
  },
  {
    scenario: 'sign/key, mechanism and state mismatches',
    call: 'C_SignInit RSA mechanism, EC key',
    reason: 'vhsm follows the spec: a key of the wrong type for the mechanism is CKR_KEY_TYPE_INCONSISTENT at C_SignInit; SoftHSM2 accepts the init.',
  },
  {
    scenario: 'derive/ECDH1 P-256 agrees with WebCrypto',
    call: 'C_DeriveKey malformed public point',
    reason: 'vhsm follows the spec: a public value that is not a point is a bad mechanism parameter, CKR_MECHANISM_PARAM_INVALID; SoftHSM2 answers CKR_GENERAL_ERROR.',
  },
];

const key = (scenario: string, call: string): string => `${scenario}\u0000${call}`;

/** The documented reason for a disagreeing row, if any. */
export function knownDifference(row: ComparisonRow): KnownDifference | undefined {
  const k = key(`${row.chapter}/${row.scenario}`, row.call);
  return KNOWN_DIFFERENCES.find((d) => key(d.scenario, d.call) === k);
}

/** Disagreements without a documented reason, and documented differences that no longer disagree. */
export function auditDifferences(rows: readonly ComparisonRow[]): { undocumented: ComparisonRow[]; stale: KnownDifference[] } {
  const disagreeing = rows.filter((r) => !r.agree);
  const seen = new Set(disagreeing.map((r) => key(`${r.chapter}/${r.scenario}`, r.call)));
  return {
    undocumented: disagreeing.filter((r) => knownDifference(r) === undefined),
    stale: KNOWN_DIFFERENCES.filter((d) => !seen.has(key(d.scenario, d.call))),
  };
}
