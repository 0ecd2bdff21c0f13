/** Attacks on attribute semantics: sticky attributes, provenance, trust, strength, derivation. */
import {
  CKA_ALWAYS_SENSITIVE, CKA_DERIVE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LOCAL, CKA_SENSITIVE,
  CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_WRAP, CKA_WRAP_WITH_TRUSTED, CKF_HKDF_SALT_DATA, CKK_AES,
  CKM_HKDF_DERIVE, CKM_SHA256, CKR_ATTRIBUTE_READ_ONLY, CKR_KEY_NOT_WRAPPABLE, CKR_TEMPLATE_INCONSISTENT,
  CKR_WRAPPING_KEY_SIZE_RANGE,
} from '@vhsm/pkcs11';
import type { Attribute, Mechanism } from '@vhsm/pkcs11';
import type { Scenario } from '../types.js';
import { AES_KEY_GEN, KW, aes, aesObject, messageUnder, off, on, randomKey, recovered, secret, victimKey } from './common.js';

export const A9: Scenario = {
  id: 'A9',
  title: 'reset sticky attributes',
  sequence: 'SA(T, sensitive=false); GA(T, value)',
  victim: 'T',
  recovers: "T's value",
  rule: 'CKA_SENSITIVE only goes to true, CKA_EXTRACTABLE only to false, CKA_WRAP_WITH_TRUSTED only to true (the spec already)',
  expect: {
    spec: { status: 'refused', step: 'SA(T, sensitive=false)', rv: CKR_ATTRIBUTE_READ_ONLY },
    strict: { status: 'refused', step: 'SA(T, sensitive=false)', rv: CKR_ATTRIBUTE_READ_ONLY },
  },
  async run(attack) {
    const t = await victimKey(attack);
    await attack.attacker('SA(T, sensitive=false)', (p11, s) => p11.C_SetAttributeValue(s, t.handle, [off(CKA_SENSITIVE)]));
    const [value] = await attack.attacker('GA(T, value)', (p11, s) => p11.C_GetAttributeValue(s, t.handle, [{ type: CKA_VALUE }]));
    return recovered(t, value?.value as Uint8Array);
  },
};

export const A10: Scenario = {
  id: 'A10',
  title: 'forged provenance',
  sequence: 'CO(k3, wrap, local=true, always_sensitive=true)→K3; victim W(K3,T)',
  victim: 'T, wrapped by a victim who checks CKA_LOCAL and CKA_ALWAYS_SENSITIVE',
  recovers: "T's value",
  rule: 'provenance attributes are computed by the token, never taken from a template (the spec already)',
  expect: {
    spec: { status: 'refused', step: 'CO(k3) claiming local and always sensitive', rv: CKR_ATTRIBUTE_READ_ONLY },
    strict: { status: 'refused', step: 'CO(k3) claiming local and always sensitive', rv: CKR_ATTRIBUTE_READ_ONLY },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k3 = randomKey(attack);
    const forged = await attack.attacker('CO(k3) claiming local and always sensitive', (p11, s) =>
      p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value: k3 }, on(CKA_WRAP), on(CKA_LOCAL), on(CKA_ALWAYS_SENSITIVE))));
    await attack.victim('victim wraps T under the "local" key', (p11, s) => p11.C_WrapKey(s, KW, forged, t.handle));
    return { kind: 'permitted', note: 'the victim wrapped T under a key the attacker made' };
  },
};

export const A11: Scenario = {
  id: 'A11',
  title: 'trusted tricks',
  sequence: 'CO(k3, wrap)→K3; W(K3, T with wrap_with_trusted); SA(K3, trusted=true)',
  victim: 'T, marked CKA_WRAP_WITH_TRUSTED',
  recovers: "T's value",
  rule: 'only the SO sets CKA_TRUSTED, only on never-known keys; CKA_WRAP_WITH_TRUSTED keys wrap only under trusted keys',
  expect: {
    spec: { status: 'refused', step: 'W(K3,T)', rv: CKR_KEY_NOT_WRAPPABLE },
    strict: { status: 'refused', step: 'CO(k3, wrap)', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack, on(CKA_WRAP_WITH_TRUSTED));
    const k3 = randomKey(attack);
    const planted = await attack.attacker('CO(k3, wrap)', (p11, s) =>
      p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value: k3 }, on(CKA_WRAP))));
    await attack.attacker('W(K3,T)', (p11, s) => p11.C_WrapKey(s, KW, planted, t.handle));
    return { kind: 'permitted', note: 'T left under an untrusted key the attacker knows' };
  },
};

export const A12: Scenario = {
  id: 'A12',
  title: 'weaker wrapper',
  sequence: 'GK(K128, wrap); W(K128, T) — T now rests on 128 bits, not 256',
  victim: 'T (AES-256)',
  recovers: "T's value for 2^128 work instead of 2^256",
  rule: 'a wrapping key is at least as strong as what it wraps (NIST SP 800-57 strengths)',
  expect: {
    spec: { status: 'permitted' },
    strict: { status: 'refused', step: 'W(K128,T)', rv: CKR_WRAPPING_KEY_SIZE_RANGE },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.victim('victim generates an AES-128 KEK', (p11, s) =>
      p11.C_GenerateKey(s, AES_KEY_GEN, aes(16, on(CKA_WRAP), on(CKA_UNWRAP))));
    await attack.attacker('W(K128,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    return { kind: 'permitted', note: 'T wrapped under a 128-bit key: brute force drops from 2^256 to 2^128' };
  },
};

const HKDF = (info: string): Mechanism => ({
  mechanism: CKM_HKDF_DERIVE,
  parameter: {
    extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA,
    salt: new TextEncoder().encode('vhsm attack lab'), info: new TextEncoder().encode(info),
  },
});
const derivedAes = (...attributes: Attribute[]) =>
  secret({ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 }, ...attributes);

export const A13: Scenario = {
  id: 'A13',
  title: 'derivation leaks',
  sequence: 'victim DK(T, HKDF)→S (sensitive); attacker DK(T, HKDF, same params, sensitive=false)→S2; GA(S2, value)',
  victim: "S, the session key the victim derives from its sensitive base T",
  recovers: "S's value",
  rule: 'derived keys are sensitive, and unextractable when their base is; no XOR/EXTRACT/CONCATENATE derivations',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'DK(T) readable', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const base = await victimKey(attack, on(CKA_DERIVE));
    const session = await attack.victim('victim derives session key S', (p11, s) =>
      p11.C_DeriveKey(s, HKDF('session'), base.handle, derivedAes(on(CKA_ENCRYPT))));
    const s = await messageUnder(attack, session, 'victim encrypts a message under S');
    const copy = await attack.attacker('DK(T) readable', (p11, sh) =>
      p11.C_DeriveKey(sh, HKDF('session'), base.handle, derivedAes(off(CKA_SENSITIVE), on(CKA_EXTRACTABLE))));
    const [value] = await attack.attacker('GA(S2, value)', (p11, sh) => p11.C_GetAttributeValue(sh, copy, [{ type: CKA_VALUE }]));
    return recovered(s, value?.value as Uint8Array);
  },
};

