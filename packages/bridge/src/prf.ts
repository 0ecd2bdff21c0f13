/**
 * A security key (or passkey) as a login factor through WebAuthn's PRF extension, which works on
 * ordinary pages where WebUSB and WebHID are closed to security keys. Enrolment makes a credential
 * and picks a salt; each unlock asks the authenticator for PRF(salt), a fixed 32-byte secret that
 * never exists outside the authenticator between unlocks. The engine keeps a copy of the token key
 * wrapped under it beside the user PIN's (`cryptoki.enrollUserFactor`), and C_Login(CKU_USER,
 * prfPin(enrollment, secret)) opens it: the PIN still works too. See docs/hardware.md.
 */
import { CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_FUNCTION_CANCELED, CKR_FUNCTION_NOT_SUPPORTED } from '@vhsm/pkcs11';
import { factorPin } from '@vhsm/token';
import type { FactorInfo, UserFactor } from '@vhsm/token';
import { fail } from './errors.js';

export interface PrfEnrollment {
  credentialId: Uint8Array<ArrayBuffer>;
  salt: Uint8Array<ArrayBuffer>;
}

export interface EnrollPrfOptions {
  /** Relying party: defaults to the page's origin host. */
  rp?: { id?: string; name: string };
  user: { id: Uint8Array<ArrayBuffer>; name: string; displayName: string };
  credentials?: CredentialsContainer;
}

/** Make a credential with PRF enabled and a fresh salt. */
export async function enrollPrf(options: EnrollPrfOptions): Promise<PrfEnrollment> {
  const credentials = options.credentials ?? navigator.credentials;
  const rp = options.rp ?? { name: 'vhsm' };
  const created = await call(() => credentials.create({
    publicKey: {
      rp, user: options.user,
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -8 }],
      authenticatorSelection: { userVerification: 'preferred', residentKey: 'discouraged' },
      extensions: { prf: {} },
    },
  }));
  if (!(created instanceof PublicKeyCredential)) throw fail(CKR_DEVICE_ERROR, 'no credential was created');
  if (created.getClientExtensionResults().prf?.enabled !== true) {
    throw fail(CKR_FUNCTION_NOT_SUPPORTED, 'the authenticator does not offer PRF (hmac-secret)');
  }
  return { credentialId: new Uint8Array(created.rawId), salt: crypto.getRandomValues(new Uint8Array(32)) };
}

/** Ask the authenticator for PRF(salt) of the enrolled credential: 32 bytes. */
export async function prfSecret(enrollment: PrfEnrollment, credentials: CredentialsContainer = navigator.credentials): Promise<Uint8Array> {
  if (enrollment.salt.length !== 32) throw fail(CKR_ARGUMENTS_BAD, 'salt: expected 32 bytes');
  const assertion = await call(() => credentials.get({
    publicKey: {
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      allowCredentials: [{ type: 'public-key', id: enrollment.credentialId }],
      userVerification: 'preferred',
      extensions: { prf: { eval: { first: enrollment.salt } } },
    },
  }));
  if (!(assertion instanceof PublicKeyCredential)) throw fail(CKR_DEVICE_ERROR, 'no assertion');
  const first = assertion.getClientExtensionResults().prf?.results?.first;
  if (!first) throw fail(CKR_FUNCTION_NOT_SUPPORTED, 'the authenticator returned no PRF result');
  return new Uint8Array(ArrayBuffer.isView(first) ? first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength) : first);
}

/**
 * What C_Login(CKU_USER, …) takes to open the token with this credential's PRF secret:
 * `prf:<credential id>:<secret>`, base64url. Workers and clients pass it like any PIN.
 */
export function prfPin(enrollment: Pick<PrfEnrollment, 'credentialId'>, secret: Uint8Array): string {
  if (secret.length !== 32) throw fail(CKR_ARGUMENTS_BAD, 'secret: expected 32 bytes');
  const idLength = enrollment.credentialId.length;
  if (idLength === 0 || idLength > 1023) throw fail(CKR_ARGUMENTS_BAD, 'credentialId: expected 1 to 1023 bytes');
  return factorPin(enrollment.credentialId, secret);
}

/** What `cryptoki.enrollUserFactor(session, …)` takes; the token keeps the salt for later unlocks. */
export function prfFactor(enrollment: PrfEnrollment, secret: Uint8Array): UserFactor {
  if (secret.length !== 32) throw fail(CKR_ARGUMENTS_BAD, 'secret: expected 32 bytes');
  return { id: enrollment.credentialId, secret, prfSalt: enrollment.salt };
}

/** An enrolment back from `cryptoki.listUserFactors(slot)`, to ask the authenticator again (after a reload). */
export function prfEnrollmentOf(factor: FactorInfo): PrfEnrollment {
  if (!factor.prfSalt) throw fail(CKR_ARGUMENTS_BAD, 'this factor was enrolled without a PRF salt');
  return { credentialId: new Uint8Array(factor.id), salt: new Uint8Array(factor.prfSalt) };
}

/** The user dismissing the prompt, or no matching credential, is a cancellation, not a device fault. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof Error && e.name === 'NotAllowedError') throw fail(CKR_FUNCTION_CANCELED, 'the WebAuthn request was refused or dismissed');
    if (e instanceof Error && e.name === 'NotSupportedError') throw fail(CKR_FUNCTION_NOT_SUPPORTED, 'WebAuthn is not available here');
    throw fail(CKR_DEVICE_ERROR, `WebAuthn failed${e instanceof Error ? `: ${e.name}` : ''}`);
  }
}
