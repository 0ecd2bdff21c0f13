/** Attacks that put a key the attacker knows (or a key of unknown value with bad roles) on the token. */
import {
  CKA_DECRYPT, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_CLASS, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_TOKEN,
  CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_WRAP, CKK_AES, CKK_RSA, CKM_AES_CBC, CKM_PKCS5_PBKD2, CKO_PUBLIC_KEY,
  CKP_PKCS5_PBKD2_HMAC_SHA256, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_MECHANISM_INVALID, CKR_TEMPLATE_INCONSISTENT,
  CKZ_SALT_SPECIFIED,
} from '@vhsm/pkcs11';
import type { Mechanism } from '@vhsm/pkcs11';
import { attackerRsaPair, kwUnwrap, oaepDecrypt, oaepEncrypt, pbkdf2 } from '../offline.js';
import type { Scenario } from '../types.js';
import { AES_KEY_GEN, KW, OAEP, RSA_GEN, RSA_PUBLIC, aes, aesObject, on, off, randomKey, recovered, secret, victimKey } from './common.js';

export const A4: Scenario = {
  id: 'A4',
  title: 'trojan via unwrap',
  sequence: 'GKP(priv unwrap); GA(pub); offline c = OAEP(pub, k3); U(priv,c,wrap)→K3; W(K3,T)=b; offline unwrap b with k3',
  victim: 'T (and the victim\'s transport key pair)',
  recovers: "T's value",
  rule: 'only keys generated on the token may wrap: an unwrapped key never does',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'U(priv,c) as a wrapping key K3', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const pair = await attack.victim('victim GKP with priv unwrap', (p11, s) =>
      p11.C_GenerateKeyPair(s, RSA_GEN, RSA_PUBLIC, secret(on(CKA_UNWRAP))));
    const [modulus, exponent] = await attack.attacker('GA(pub) modulus and exponent', (p11, s) =>
      p11.C_GetAttributeValue(s, pair.publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]));
    const k3 = randomKey(attack);
    const c = await attack.offline('encrypt k3 to pub', (crypto) =>
      oaepEncrypt(crypto, modulus?.value as Uint8Array, exponent?.value as Uint8Array, k3));
    const planted = await attack.attacker('U(priv,c) as a wrapping key K3', (p11, s) =>
      p11.C_UnwrapKey(s, OAEP, pair.privateKey, c, aesObject(on(CKA_WRAP))));
    const b = await attack.attacker('W(K3,T)', (p11, s) => p11.C_WrapKey(s, KW, planted, t.handle));
    return recovered(t, (await attack.offline('unwrap b with k3', (crypto) => kwUnwrap(crypto, k3, b))) ?? new Uint8Array());
  },
};

export const A5: Scenario = {
  id: 'A5',
  title: 'trojan via create (secret key)',
  sequence: 'CO(secret k3, wrap)→K3; W(K3,T)=b; offline unwrap b with k3',
  victim: 'T',
  recovers: "T's value",
  rule: 'only keys generated on the token (CKA_LOCAL), sensitive and unextractable from birth, may wrap',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'CO(k3, wrap)', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k3 = randomKey(attack);
    const planted = await attack.attacker('CO(k3, wrap)', (p11, s) =>
      p11.C_CreateObject(s, aesObject({ type: CKA_VALUE, value: k3 }, on(CKA_WRAP))));
    const b = await attack.attacker('W(K3,T)', (p11, s) => p11.C_WrapKey(s, KW, planted, t.handle));
    return recovered(t, (await attack.offline('unwrap b with k3', (crypto) => kwUnwrap(crypto, k3, b))) ?? new Uint8Array());
  },
};

export const A5b: Scenario = {
  id: 'A5b',
  title: "trojan via create (the attacker's public key)",
  sequence: "CO(attacker's RSA public key, wrap)→P; W(P,T)=b; offline OAEP-decrypt b with the attacker's private key",
  victim: 'T',
  recovers: "T's value",
  rule: 'an imported public key wraps only once the SO marks it CKA_TRUSTED',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'W(P,T)', rv: CKR_KEY_FUNCTION_NOT_PERMITTED },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const own = await attack.offline('generate an RSA pair', (crypto) => attackerRsaPair(crypto));
    const p = await attack.attacker('CO(public key, wrap)', (p11, s) => p11.C_CreateObject(s, [
      { type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_KEY_TYPE, value: CKK_RSA }, { type: CKA_TOKEN, value: false },
      { type: CKA_MODULUS, value: own.modulus }, { type: CKA_PUBLIC_EXPONENT, value: own.exponent }, on(CKA_WRAP),
    ]));
    const b = await attack.attacker('W(P,T)', (p11, s) => p11.C_WrapKey(s, OAEP, p, t.handle));
    return recovered(t, (await attack.offline('decrypt b', (crypto) => oaepDecrypt(crypto, own.privateKey, b))) ?? new Uint8Array());
  },
};

const CBC: Mechanism = { mechanism: CKM_AES_CBC, parameter: new Uint8Array(16) };

export const A6: Scenario = {
  id: 'A6',
  title: 'key conjuring',
  sequence: 'U(K, random bytes, wrap+decrypt)→C; W(C,T)=b; D(C,b)',
  victim: 'T, and the victim\'s key-encryption key K',
  recovers: "T's value",
  rule: 'integrity-checked unwrap only (AES-KW, AES-GCM, RSA-OAEP); the same role rules at every entry point',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'U(K, random bytes) with wrap+decrypt', rv: CKR_MECHANISM_INVALID },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.victim('victim generates KEK K', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP), on(CKA_UNWRAP))));
    const noise = randomKey(attack);
    const c = await attack.attacker('U(K, random bytes) with wrap+decrypt', (p11, s) =>
      p11.C_UnwrapKey(s, CBC, k, noise, aesObject(on(CKA_WRAP), on(CKA_DECRYPT))));
    const b = await attack.attacker('W(C,T)', (p11, s) => p11.C_WrapKey(s, CBC, c, t.handle));
    const value = await attack.attacker('D(C,b)', async (p11, s) => {
      await p11.C_DecryptInit(s, CBC, c);
      return p11.C_Decrypt(s, b);
    });
    return recovered(t, value);
  },
};

export const A7: Scenario = {
  id: 'A7',
  title: 're-import / double unwrap',
  sequence: 'W(K,T)=b; U(K,b,wrap)→A; U(K,b,decrypt)→B; W(A,T)=b2; D(B,b2)',
  victim: "T, and the victim's key-encryption key K",
  recovers: "T's value",
  rule: 'unwrapped keys never wrap (only local, never-known keys do)',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'U(K,b) as a wrapping key A', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.victim('victim generates KEK K', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP), on(CKA_UNWRAP))));
    const b = await attack.victim('victim backs up T: W(K,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    const a = await attack.attacker('U(K,b) as a wrapping key A', (p11, s) => p11.C_UnwrapKey(s, KW, k, b, aesObject(on(CKA_WRAP))));
    const bDecrypt = await attack.attacker('U(K,b) as a decryption key B', (p11, s) => p11.C_UnwrapKey(s, KW, k, b, aesObject(on(CKA_DECRYPT))));
    const b2 = await attack.attacker('W(A,T)', (p11, s) => p11.C_WrapKey(s, KW, a, t.handle));
    const value = await attack.attacker('D(B,b2)', async (p11, s) => {
      await p11.C_DecryptInit(s, KW, bDecrypt);
      return p11.C_Decrypt(s, b2);
    });
    return recovered(t, value);
  },
};

export const A14: Scenario = {
  id: 'A14',
  title: 'provenance laundering',
  sequence: 'GK(K, sensitive=false, wrap); GA(K, value)=k; SA(K, sensitive=true); victim W(K,T)=b; offline unwrap b with k',
  victim: 'T, wrapped by a victim who trusts a key because it now says CKA_SENSITIVE',
  recovers: "T's value",
  rule: 'a wrapping key is sensitive from birth (CKA_ALWAYS_SENSITIVE): a known key stays known',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'GK K readable, with wrap', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.attacker('GK K readable, with wrap', (p11, s) =>
      p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, off(CKA_SENSITIVE), on(CKA_EXTRACTABLE), on(CKA_WRAP))));
    const [value] = await attack.attacker('GA(K, value)', (p11, s) => p11.C_GetAttributeValue(s, k, [{ type: CKA_VALUE }]));
    await attack.attacker('SA(K, sensitive=true)', (p11, s) => p11.C_SetAttributeValue(s, k, [on(CKA_SENSITIVE)]));
    const b = await attack.victim('victim wraps T under the "sensitive" K', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    const known = value?.value as Uint8Array;
    return recovered(t, (await attack.offline('unwrap b with k', (crypto) => kwUnwrap(crypto, known, b))) ?? new Uint8Array());
  },
};

const PASSWORD = 'chosen by the attacker';
const SALT = new TextEncoder().encode('any salt will do');
const ITERATIONS = 1000;

export const A19: Scenario = {
  id: 'A19',
  title: 'password-derived wrapping key',
  sequence: 'GK(K, CKM_PKCS5_PBKD2 from its own password, wrap); W(K,T)=b; offline K = PBKDF2(password), unwrap b',
  victim: 'T',
  recovers: "T's value",
  rule: 'never-known means generated from the RNG (CKA_KEY_GEN_MECHANISM), not only CKA_LOCAL: whoever chose the password knows a PBKDF2 key',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'GK(K from a password, wrap)', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    // The token says CKA_LOCAL, ALWAYS_SENSITIVE and NEVER_EXTRACTABLE of this key, all true.
    const k = await attack.attacker('GK(K from a password, wrap)', (p11, s) => p11.C_GenerateKey(s, {
      mechanism: CKM_PKCS5_PBKD2,
      parameter: { saltSource: CKZ_SALT_SPECIFIED, saltSourceData: SALT, iterations: ITERATIONS, prf: CKP_PKCS5_PBKD2_HMAC_SHA256, password: PASSWORD },
    }, secret({ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 32 }, on(CKA_WRAP))));
    const b = await attack.attacker('W(K,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    const kek = await attack.offline('K = PBKDF2(password)', (crypto) => pbkdf2(crypto, PASSWORD, SALT, ITERATIONS, 32));
    return recovered(t, (await attack.offline('unwrap b with K', (crypto) => kwUnwrap(crypto, kek, b))) ?? new Uint8Array());
  },
};
