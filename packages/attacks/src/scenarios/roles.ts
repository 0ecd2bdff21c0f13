/** Attacks on a key's roles: wrap then decrypt (Clulow 2003) and its variants. */
import {
  CKA_DECRYPT, CKA_ENCRYPT, CKA_UNWRAP, CKA_WRAP, CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCONSISTENT,
} from '@vhsm/pkcs11';
import { kwUnwrap } from '../offline.js';
import type { Scenario } from '../types.js';
import { AES_KEY_GEN, KW, OAEP, RSA_GEN, RSA_PUBLIC, aes, aesObject, off, on, randomKey, recovered, secret, victimKey } from './common.js';

export const A1: Scenario = {
  id: 'A1',
  title: 'wrap/decrypt',
  sequence: 'GK(K, wrap+decrypt); W(K,T)=b; D(K,b)',
  victim: 'T, a sensitive extractable AES-256 key',
  recovers: "T's value",
  rule: 'conflicting roles: no key may both wrap and decrypt',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'GK K with wrap+decrypt', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.attacker('GK K with wrap+decrypt', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP), on(CKA_DECRYPT))));
    const b = await attack.attacker('W(K,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    const value = await attack.attacker('D(K,b)', async (p11, s) => {
      await p11.C_DecryptInit(s, KW, k);
      return p11.C_Decrypt(s, b);
    });
    return recovered(t, value);
  },
};

export const A1b: Scenario = {
  id: 'A1b',
  title: 'sequenced roles',
  sequence: 'GK(K, wrap); W(K,T)=b; SA(K, wrap=false); SA(K, decrypt=true); D(K,b)',
  victim: 'T',
  recovers: "T's value",
  rule: 'roles are fixed when the key is made: usage attributes are read-only',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'SA(K, wrap=false)', rv: CKR_ATTRIBUTE_READ_ONLY },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.attacker('GK K with wrap', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP))));
    const b = await attack.attacker('W(K,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    await attack.attacker('SA(K, wrap=false)', (p11, s) => p11.C_SetAttributeValue(s, k, [off(CKA_WRAP)]));
    await attack.attacker('SA(K, decrypt=true)', (p11, s) => p11.C_SetAttributeValue(s, k, [on(CKA_DECRYPT)]));
    const value = await attack.attacker('D(K,b)', async (p11, s) => {
      await p11.C_DecryptInit(s, KW, k);
      return p11.C_Decrypt(s, b);
    });
    return recovered(t, value);
  },
};

export const A2: Scenario = {
  id: 'A2',
  title: 'asymmetric wrap/decrypt',
  sequence: 'GKP(pub wrap, priv decrypt); W(pub,T)=b; D(priv,b)',
  victim: 'T',
  recovers: "T's value",
  rule: 'conflicting roles are checked across the two halves of a key pair',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'GKP pub wrap, priv decrypt', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const pair = await attack.attacker('GKP pub wrap, priv decrypt', (p11, s) =>
      p11.C_GenerateKeyPair(s, RSA_GEN, [...RSA_PUBLIC, on(CKA_WRAP)], secret(on(CKA_DECRYPT))));
    const b = await attack.attacker('W(pub,T)', (p11, s) => p11.C_WrapKey(s, OAEP, pair.publicKey, t.handle));
    const value = await attack.attacker('D(priv,b)', async (p11, s) => {
      await p11.C_DecryptInit(s, OAEP, pair.privateKey);
      return p11.C_Decrypt(s, b);
    });
    return recovered(t, value);
  },
};

export const A3: Scenario = {
  id: 'A3',
  title: 'encrypt/unwrap: plant a known key',
  sequence: 'GK(K, encrypt+unwrap); E(K,k3)=c; U(K,c,wrap)→K3; W(K3,T)=b; offline unwrap b with k3',
  victim: 'T',
  recovers: "T's value",
  rule: 'conflicting roles: no key may both encrypt and unwrap; unwrapped keys never wrap',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'GK K with encrypt+unwrap', rv: CKR_TEMPLATE_INCONSISTENT },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k3 = randomKey(attack);
    const k = await attack.attacker('GK K with encrypt+unwrap', (p11, s) =>
      p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_ENCRYPT), on(CKA_UNWRAP))));
    const c = await attack.attacker('E(K,k3)', async (p11, s) => {
      await p11.C_EncryptInit(s, KW, k);
      return p11.C_Encrypt(s, k3);
    });
    const planted = await attack.attacker('U(K,c) as a wrapping key K3', (p11, s) => p11.C_UnwrapKey(s, KW, k, c, aesObject(on(CKA_WRAP))));
    const b = await attack.attacker('W(K3,T)', (p11, s) => p11.C_WrapKey(s, KW, planted, t.handle));
    const value = await attack.offline('unwrap b with k3', (crypto) => kwUnwrap(crypto, k3, b));
    return recovered(t, value ?? new Uint8Array());
  },
};

export const A8: Scenario = {
  id: 'A8',
  title: 'copy with a new role',
  sequence: 'GK(K, wrap); W(K,T)=b; CP(K, decrypt=true)→K2; D(K2,b)',
  victim: 'T',
  recovers: "T's value",
  rule: 'usage attributes are read-only on copy; key-encryption keys are not copied',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'CP(K, decrypt=true)', rv: CKR_ATTRIBUTE_READ_ONLY },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.attacker('GK K with wrap', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP))));
    const b = await attack.attacker('W(K,T)', (p11, s) => p11.C_WrapKey(s, KW, k, t.handle));
    const copy = await attack.attacker('CP(K, decrypt=true)', (p11, s) => p11.C_CopyObject(s, k, [on(CKA_DECRYPT)]));
    const value = await attack.attacker('D(K2,b)', async (p11, s) => {
      await p11.C_DecryptInit(s, KW, copy);
      return p11.C_Decrypt(s, b);
    });
    return recovered(t, value);
  },
};
