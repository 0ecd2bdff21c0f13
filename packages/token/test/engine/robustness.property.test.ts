/**
 * Every error a caller can cause is a precise CK_RV (DESIGN.md, "Quality bars"): random mechanisms,
 * keys, parameters and data through every key-using function never end in CKR_GENERAL_ERROR or
 * CKR_FUNCTION_FAILED, nor in anything that is not a Pkcs11Error.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ckrName, isPkcs11Error, CKA_CLASS, CKA_DERIVE, CKA_KEY_TYPE, CKA_VALUE_LEN, CKD_NULL, CKF_HKDF_SALT_DATA,
  CKG_MGF1_SHA256, CKK_AES, CKK_GENERIC_SECRET, CKO_SECRET_KEY, CKM_SHA256, CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR,
  CKA_EC_PARAMS, CKM_EC_EDWARDS_KEY_PAIR_GEN,
} from '@vhsm/token';
import { Cryptoki } from '@vhsm/token';
import type { Mechanism, Template } from '@vhsm/token';
import { ED25519_PARAMS, generateAes, generateEc, generateRsa, userSession } from './helpers.js';

const PARAMETERS: unknown[] = [
  undefined, new Uint8Array(0), new Uint8Array(12), new Uint8Array(16), new Uint8Array(7), 'text', 42, null, [],
  { iv: new Uint8Array(12) }, { iv: new Uint8Array(0) }, { iv: new Uint8Array(12), tagBits: 64 },
  { counterBits: 32, cb: new Uint8Array(16) }, { counterBits: 200, cb: new Uint8Array(16) },
  { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 }, { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 },
  { hashAlg: 0x7777, mgf: 1, saltLen: -1 }, { kdf: CKD_NULL, publicData: new Uint8Array(65).fill(4) },
  { kdf: CKD_NULL, publicData: new Uint8Array(3) },
  { extract: true, expand: true, prfHashMechanism: CKM_SHA256, saltType: CKF_HKDF_SALT_DATA, salt: new Uint8Array(4) },
  { phFlag: false }, { phFlag: true, contextData: new Uint8Array(3) },
];
const DATA = [new Uint8Array(0), new Uint8Array(1), new Uint8Array(16), new Uint8Array(33), new Uint8Array(300)];

describe('robustness', () => {
  let p11: Cryptoki;
  let session: number;
  let keys: number[];
  let mechanisms: number[];
  beforeAll(async () => {
    ({ p11, session } = await userSession());
    mechanisms = await p11.C_GetMechanismList(0);
    const ec = await generateEc(p11, session, [], [{ type: CKA_DERIVE, value: true }]);
    const rsa = await generateRsa(p11, session, [], [], 1024);
    const ed = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: ED25519_PARAMS }], []);
    const generic = await p11.C_GenerateKey(session, { mechanism: 0x350 /* CKM_GENERIC_SECRET_KEY_GEN */ }, [{ type: CKA_VALUE_LEN, value: 32 }, { type: CKA_DERIVE, value: true }]);
    keys = [await generateAes(p11, session, [{ type: CKA_DERIVE, value: true }]), await generateAes(p11, session, [], 16), generic,
      ec.publicKey, ec.privateKey, rsa.publicKey, rsa.privateKey, ed.publicKey, ed.privateKey];
  });

  const derived: Template = [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_VALUE_LEN, value: 16 }];
  const unwrapAs: Template = [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }];

  test('no call ends in CKR_GENERAL_ERROR or CKR_FUNCTION_FAILED', async () => {
    const call = fc.record({
      fn: fc.constantFrom('encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap', 'derive', 'digest', 'encryptParts', 'generate'),
      mechanism: fc.nat(), parameter: fc.nat(), key: fc.nat(), other: fc.nat(), data: fc.nat(),
    });
    await fc.assert(fc.asyncProperty(call, async (c) => {
      const m: Mechanism = { mechanism: mechanisms[c.mechanism % mechanisms.length] as number, parameter: PARAMETERS[c.parameter % PARAMETERS.length] as never };
      const key = keys[c.key % keys.length] as number;
      const other = keys[c.other % keys.length] as number;
      const data = DATA[c.data % DATA.length] as Uint8Array;
      const run = async () => {
        switch (c.fn) {
          case 'encrypt': await p11.C_EncryptInit(session, m, key); return p11.C_Encrypt(session, data);
          case 'decrypt': await p11.C_DecryptInit(session, m, key); return p11.C_Decrypt(session, data);
          case 'encryptParts': await p11.C_EncryptInit(session, m, key); await p11.C_EncryptUpdate(session, data); return p11.C_EncryptFinal(session);
          case 'sign': await p11.C_SignInit(session, m, key); return p11.C_Sign(session, data);
          case 'verify': await p11.C_VerifyInit(session, m, key); return p11.C_Verify(session, data, data);
          case 'wrap': return p11.C_WrapKey(session, m, key, other);
          case 'unwrap': return p11.C_UnwrapKey(session, m, key, data, unwrapAs);
          case 'derive': return p11.C_DeriveKey(session, m, key, derived);
          case 'digest': await p11.C_DigestInit(session, m); return p11.C_Digest(session, data);
          default: return p11.C_GenerateKey(session, m, [{ type: CKA_VALUE_LEN, value: 16 }]);
        }
      };
      try {
        await run();
      } catch (e) {
        expect(isPkcs11Error(e), String(e)).toBe(true);
        const code = (e as { code: number }).code;
        const where = `${c.fn} 0x${m.mechanism.toString(16)} ${ckrName(code)}: ${(e as Error).message}`;
        expect(code === CKR_GENERAL_ERROR || code === CKR_FUNCTION_FAILED, where).toBe(false);
      } finally {
        // Leave no operation behind for the next run.
        await p11.C_SessionCancel(session, 0xffffffff);
      }
    }), { numRuns: 400 });
  });

  test('every C_ function answers malformed arguments with a precise Pkcs11Error', async () => {
    const { p11: app, session: s } = await userSession();
    const names = Object.getOwnPropertyNames(Cryptoki.prototype).filter((n) => n.startsWith('C_') && n !== 'C_Initialize' && n !== 'C_Finalize');
    expect(names.length).toBeGreaterThan(60);
    const garbage: unknown[] = [null, undefined, 'x', -1, 1.5, {}, [], [null], [{ type: 'a' }], { mechanism: null },
      { __proto__: { mechanism: 0x1085 } }, new Uint8Array(3), 2 ** 60, Number.NaN];
    const api = app as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const name of names) {
      for (const g of garbage) {
        for (const args of [[g], [s, g], [s, g, g], [s, { mechanism: 0x1087 }, g], [s, g, g, g, g]]) {
          try {
            await api[name]?.(...args);
          } catch (e) {
            expect(isPkcs11Error(e), `${name}: ${String(e)}`).toBe(true);
            const code = (e as { code: number }).code;
            expect(code === CKR_GENERAL_ERROR || code === CKR_FUNCTION_FAILED, `${name}(${String(g)}): ${(e as Error).message}`).toBe(false);
          }
        }
      }
    }
  });
});
