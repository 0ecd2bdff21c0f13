/**
 * Login factors beside the user PIN: a security key's WebAuthn PRF output (32 bytes, high entropy)
 * wraps its own copy of TK, so either the PIN or the key logs the user in (docs/storage.md, "The
 * key chain"). The secret reaches the engine inside the PIN string of C_Login (`factorPin`), so
 * workers and clients pass it like any PIN; it is imported as a non-extractable HKDF key at once
 * and never stored. Attempts share the user PIN's retry counter.
 */
import {
  CKR_ARGUMENTS_BAD, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_PIN_INCORRECT, CKR_PIN_INVALID,
  CKR_PIN_LOCKED, CKR_USER_NOT_LOGGED_IN, CKR_USER_PIN_NOT_INITIALIZED,
} from '@vhsm/pkcs11';
import type { Engine } from './engine.js';
import { ckr } from './errors.js';
import type { PolicyName } from './policy/policy.js';
import type { SealAad } from './sealing.js';
import type { FactorRecord, PinRecord, TokenRecord } from './store.js';
import { pinAad } from './token.js';
import type { TokenState } from './token.js';

/** Every C_Login string that begins with this is a factor, never a PIN (pinArg refuses such PINs). */
export const FACTOR_PREFIX = 'prf:';
export const FACTOR_SECRET_BYTES = 32;
/** WebAuthn allows credential ids of up to 1023 bytes. */
export const MAX_FACTOR_ID_BYTES = 1023;
/** Factors per token: the token record is read on every login, so it stays small. */
export const MAX_FACTORS = 8;

export interface UserFactor {
  /** The WebAuthn credential id (not secret). */
  id: Uint8Array;
  /** The PRF output for that credential: 32 bytes. */
  secret: Uint8Array;
  /** The salt the client evaluates PRF at, kept in the record for the client (not secret). */
  prfSalt?: Uint8Array;
}

export interface FactorInfo {
  id: Uint8Array;
  prfSalt?: Uint8Array;
}

const encoder = new TextEncoder();
const FACTOR_PATTERN = /^prf:([A-Za-z0-9_-]{2,1364}):([A-Za-z0-9_-]{43})$/;

/** The C_Login PIN for a factor: `prf:<base64url credential id>:<base64url secret>`. */
export function factorPin(id: Uint8Array, secret: Uint8Array): string {
  checkFactor(id, secret);
  return `${FACTOR_PREFIX}${toBase64Url(id)}:${toBase64Url(secret)}`;
}

export function isFactorPin(pin: string): boolean {
  return pin.startsWith(FACTOR_PREFIX);
}

function parseFactorPin(pin: string): { id: Uint8Array; secret: Uint8Array } {
  const match = FACTOR_PATTERN.exec(pin);
  const id = match && fromBase64Url(match[1] as string);
  const secret = match && fromBase64Url(match[2] as string);
  if (!id || !secret || secret.length !== FACTOR_SECRET_BYTES) {
    throw ckr(CKR_PIN_INVALID, 'a factor is prf:<base64url credential id>:<base64url 32-byte secret>');
  }
  return { id, secret };
}

function checkFactor(id: unknown, secret: unknown): void {
  if (!(id instanceof Uint8Array) || id.length === 0 || id.length > MAX_FACTOR_ID_BYTES) {
    throw ckr(CKR_ARGUMENTS_BAD, `id: expected 1 to ${MAX_FACTOR_ID_BYTES} bytes`);
  }
  if (!(secret instanceof Uint8Array) || secret.length !== FACTOR_SECRET_BYTES) {
    throw ckr(CKR_ARGUMENTS_BAD, `secret: expected ${FACTOR_SECRET_BYTES} bytes`);
  }
}

/** What a factor record's seal is bound to: the token, its policy (as for PINs) and the credential. */
export function factorAad(tokenId: string, policy: PolicyName, id: Uint8Array): SealAad {
  return { tokenId, purpose: `factor:user:${policy}:${toBase64Url(id)}` };
}

/** HKDF-SHA-256(secret) → AES-KW KEK. No PBKDF2: the PRF output is uniformly random already. */
async function factorKey(engine: Engine, secret: Uint8Array, salt: Uint8Array, tokenId: string): Promise<CryptoKey> {
  const subtle = engine.crypto.subtle;
  const base = await subtle.importKey('raw', secret as BufferSource, 'HKDF', false, ['deriveKey']);
  return subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: salt as BufferSource, info: encoder.encode(`vhsm/1|factor-kek|${tokenId}`) },
    base, { name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey'],
  );
}

function samePinRecord(a: PinRecord | undefined, b: PinRecord | undefined): boolean {
  return a !== undefined && b !== undefined && sameBytes(a.salt, b.salt) && sameBytes(a.sealedTokenKey, b.sealedTokenKey);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * C_Login's user check: a factor string goes to the factor records, anything else is a PIN.
 * Resolves to TK (non-extractable) and the KEK that opened it.
 */
export async function verifyUser(engine: Engine, token: TokenState, pin: string): Promise<{ tokenKey: CryptoKey; pinKey: CryptoKey }> {
  if (!isFactorPin(pin)) return token.verifyPin('user', pin);
  const { id, secret } = parseFactorPin(pin);
  const max = engine.maxPinTries;
  let counted = false;
  // Counted before the work, as a PIN try is, so no crash or race earns a free attempt.
  const before = await engine.store.updateToken(token.slot, (current) => {
    const user = current?.user;
    if (!current || !user || user.failures >= max) return undefined;
    counted = true;
    return { ...current, user: { ...user, failures: user.failures + 1 } };
  });
  if (!before?.user) throw ckr(CKR_USER_PIN_NOT_INITIALIZED, 'no user PIN is set');
  token.record = before;
  if (!counted) throw ckr(CKR_PIN_LOCKED, 'the user PIN is locked');
  const factor = before.factors?.find((f) => sameBytes(f.id, id));
  if (!factor) throw ckr(CKR_PIN_INCORRECT, 'no factor with this credential id');
  const pinKey = await factorKey(engine, secret, factor.salt, before.tokenId);
  let tokenKey: CryptoKey | undefined;
  try {
    tokenKey = await engine.sealer.openTokenKey({ iv: factor.iv, data: factor.sealedTokenKey }, pinKey,
      before.deviceKey, factorAad(before.tokenId, before.policy, factor.id), false);
  } catch {
    throw ckr(CKR_DEVICE_ERROR, 'the factor record does not open under this device key');
  }
  if (!tokenKey) throw ckr(CKR_PIN_INCORRECT);
  await token.confirmTokenKey(tokenKey, before);
  // Forgive this attempt only: a held key must not wipe out the count of wrong PINs.
  token.record = await engine.store.updateToken(token.slot, (current) => {
    const user = current?.user;
    return current && user ? { ...current, user: { ...user, failures: Math.max(0, user.failures - 1) } } : undefined;
  });
  return { tokenKey, pinKey };
}

/**
 * TK, extractable for one re-wrap, opened with the KEK of the user's login: the PIN record's or
 * a factor's, whichever that KEK opens.
 */
async function userTokenKey(engine: Engine, token: TokenState, record: TokenRecord): Promise<CryptoKey> {
  const kek = token.pinKeys.get('user');
  const copies: [{ iv: Uint8Array; data: Uint8Array }, SealAad][] = [];
  if (record.user) copies.push([{ iv: record.user.iv, data: record.user.sealedTokenKey }, pinAad(record.tokenId, 'user', record.policy)]);
  for (const f of record.factors ?? []) copies.push([{ iv: f.iv, data: f.sealedTokenKey }, factorAad(record.tokenId, record.policy, f.id)]);
  for (const [blob, aad] of kek ? copies : []) {
    const tk = await engine.sealer.openTokenKey(blob, kek as CryptoKey, record.deviceKey, aad, true).catch(() => undefined);
    if (tk) return tk;
  }
  // The PIN was reset by the SO, or the factor used to log in was removed, since this login.
  throw ckr(CKR_USER_NOT_LOGGED_IN, 'the credential of this login no longer opens the token: log in again');
}

/** Add (or replace, by credential id) a factor; the caller checked that the user is logged in. */
export async function enrollUserFactor(engine: Engine, token: TokenState, factor: UserFactor): Promise<void> {
  if (typeof factor !== 'object' || factor === null) throw ckr(CKR_ARGUMENTS_BAD, 'factor: expected { id, secret }');
  checkFactor(factor.id, factor.secret);
  if (factor.prfSalt !== undefined && !(factor.prfSalt instanceof Uint8Array && factor.prfSalt.length <= 64)) {
    throw ckr(CKR_ARGUMENTS_BAD, 'prfSalt: expected up to 64 bytes');
  }
  const record = token.record;
  if (!record) throw ckr(CKR_USER_NOT_LOGGED_IN);
  const others = (record.factors ?? []).filter((f) => !sameBytes(f.id, factor.id));
  if (others.length >= MAX_FACTORS) throw ckr(CKR_DEVICE_MEMORY, `at most ${MAX_FACTORS} factors per token`);
  const tk = await userTokenKey(engine, token, record);
  const salt = engine.sealer.randomBytes(32);
  const kek = await factorKey(engine, factor.secret, salt, record.tokenId);
  const id = new Uint8Array(factor.id);
  const sealed = await engine.sealer.sealTokenKey(tk, kek, record.deviceKey, factorAad(record.tokenId, record.policy, id));
  const entry: FactorRecord = { id, salt, iv: sealed.iv, sealedTokenKey: sealed.data };
  if (factor.prfSalt) entry.prfSalt = new Uint8Array(factor.prfSalt);
  let refusal: number | undefined;
  const after = await engine.store.updateToken(token.slot, (current) => {
    refusal = CKR_USER_NOT_LOGGED_IN;
    // The user PIN record that vouched for this login must still be the current one: an SO's
    // C_InitPIN in between (another tab) is a reset that drops factors, not one to slip a new one past.
    if (!current || current.tokenId !== record.tokenId || !samePinRecord(current.user, record.user)) return undefined;
    const kept = (current.factors ?? []).filter((f) => !sameBytes(f.id, id));
    if (kept.length >= MAX_FACTORS) {
      refusal = CKR_DEVICE_MEMORY;
      return undefined;
    }
    refusal = undefined;
    return { ...current, factors: [...kept, entry] };
  });
  if (refusal !== undefined) {
    throw ckr(refusal, refusal === CKR_DEVICE_MEMORY ? `at most ${MAX_FACTORS} factors per token` : 'the token or its user PIN changed during enrolment');
  }
  token.record = after;
}

export async function removeUserFactor(engine: Engine, token: TokenState, id: Uint8Array): Promise<void> {
  if (!(id instanceof Uint8Array)) throw ckr(CKR_ARGUMENTS_BAD, 'id: expected a Uint8Array');
  let found = false;
  const after = await engine.store.updateToken(token.slot, (current) => {
    const kept = current?.factors?.filter((f) => !sameBytes(f.id, id));
    if (!current || !kept || kept.length === current.factors?.length) return undefined;
    found = true;
    return { ...current, factors: kept };
  });
  if (!found) throw ckr(CKR_ARGUMENTS_BAD, 'no factor with this credential id');
  token.record = after;
}

export function listUserFactors(record: TokenRecord | undefined): FactorInfo[] {
  return (record?.factors ?? []).map((f) => (f.prfSalt ? { id: new Uint8Array(f.id), prfSalt: new Uint8Array(f.prfSalt) } : { id: new Uint8Array(f.id) }));
}

/** C_InitPIN: a new user PIN, and no factor survives the reset (they would bypass it). */
export async function resetUser(engine: Engine, token: TokenState, user: PinRecord): Promise<void> {
  token.record = await engine.store.updateToken(token.slot, (current) => {
    if (!current) return undefined;
    const next: TokenRecord = { ...current, user };
    delete next.factors;
    return next;
  });
}

function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
