/** The victim every scenario attacks, and the templates and mechanisms the scenarios share. */
import {
  CKA_CLASS, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LABEL, CKA_SENSITIVE, CKA_TOKEN, CKA_VALUE_LEN,
  CKG_MGF1_SHA256, CKK_AES, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKM_RSA_PKCS_KEY_PAIR_GEN,
  CKM_RSA_PKCS_OAEP, CKM_SHA256, CKO_SECRET_KEY, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism, Template } from '@vhsm/pkcs11';
import { equalBytes, gcmDecrypt } from '../offline.js';
import type { AttackRun, Finding } from '../types.js';

export const AES_KEY_GEN: Mechanism = { mechanism: CKM_AES_KEY_GEN };
export const KW: Mechanism = { mechanism: CKM_AES_KEY_WRAP };
export const OAEP: Mechanism = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } };
export const RSA_GEN: Mechanism = { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN };
export const RSA_PUBLIC: Template = [
  { type: CKA_TOKEN, value: false }, { type: CKA_MODULUS_BITS, value: 2048 },
  { type: CKA_PUBLIC_EXPONENT, value: new Uint8Array([1, 0, 1]) },
];

/** A session secret key template: these attributes, on top of a session object. */
export function secret(...attributes: Attribute[]): Template {
  return [{ type: CKA_TOKEN, value: false }, ...attributes];
}

/** An AES key of `bytes` bytes to generate, with these attributes. */
export function aes(bytes: number, ...attributes: Attribute[]): Template {
  return secret({ type: CKA_VALUE_LEN, value: bytes }, ...attributes);
}

/** What C_UnwrapKey / C_CreateObject need to make an AES key. */
export function aesObject(...attributes: Attribute[]): Template {
  return secret({ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, ...attributes);
}

export const on = (type: number): Attribute => ({ type, value: true });
export const off = (type: number): Attribute => ({ type, value: false });

const MESSAGE = new TextEncoder().encode('the victim\'s confidential message');
const IV = new Uint8Array(12).fill(0x5a);

export interface Victim {
  handle: number;
  /** The victim's message under T, and the mechanism that decrypts it. */
  ciphertext: Uint8Array;
  decryption: Mechanism;
  /** Is `plain` the victim's message? */
  isMessage(plain: Uint8Array): boolean;
  /** Does `value` decrypt what the victim encrypted under T? (offline, WebCrypto) */
  check(value: Uint8Array): Promise<boolean>;
}

/**
 * T: the victim's sensitive, extractable AES-256 key (ATTACKS.md), used to encrypt a message the
 * attacker can read. A recovered value is right when it decrypts that message.
 */
export async function victimKey(attack: AttackRun, ...attributes: Attribute[]): Promise<Victim> {
  const handle = await attack.victim('victim generates T', (p11, s) =>
    p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, { type: CKA_LABEL, value: 'T' }, on(CKA_SENSITIVE), on(CKA_EXTRACTABLE),
      on(CKA_ENCRYPT), ...attributes)));
  return messageUnder(attack, handle, 'victim encrypts a message under T');
}

/** The victim encrypts its message under `handle`; the check decrypts it offline. */
export async function messageUnder(attack: AttackRun, handle: number, step: string): Promise<Victim> {
  const ciphertext = await attack.victim(step, async (p11, s) => {
    await p11.C_EncryptInit(s, { mechanism: CKM_AES_GCM, parameter: { iv: IV } }, handle);
    return p11.C_Encrypt(s, MESSAGE);
  });
  return {
    handle,
    ciphertext,
    decryption: { mechanism: CKM_AES_GCM, parameter: { iv: IV } },
    isMessage: (plain) => equalBytes(plain, MESSAGE),
    async check(value) {
      const plain = await gcmDecrypt(attack.ctx.crypto, value, IV, ciphertext);
      return plain !== undefined && equalBytes(plain, MESSAGE);
    },
  };
}

export async function recovered(victim: Victim, value: Uint8Array): Promise<Finding> {
  return { kind: 'recovered', value, verified: await victim.check(value) };
}

/** Fresh random bytes of the attacker's (a key value it will plant). */
export function randomKey(attack: AttackRun, bytes = 32): Uint8Array {
  return attack.ctx.crypto.getRandomValues(new Uint8Array(bytes));
}
