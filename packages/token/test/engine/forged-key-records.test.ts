/**
 * A script that can write the records and use the device key DK (not export it) must not be able to
 * put a token key of its own in front of the engine. Regressions for a review's findings: PIN records
 * re-sealed under another policy, and a forged login factor opening an attacker's TK.
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_ALWAYS_SENSITIVE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_PRIVATE, CKA_SENSITIVE,
  CKA_TOKEN, CKA_VALUE_LEN, CKA_WRAP, CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP, CKR_DEVICE_ERROR,
  CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_USER_NOT_LOGGED_IN, CKS_RW_USER_FUNCTIONS, CKU_SO, CKU_USER, MemoryStore,
} from '@vhsm/token';
import type { ObjectRecord, TokenRecord } from '@vhsm/token';
import { encodeAttributes, Sealer } from '../../src/sealing.js';
import { publicAttributesAad } from '../../src/token.js';
import { factorAad, factorPin } from '../../src/factors.js';
import { pinAad } from '../../src/token.js';
import type { PinOwner } from '../../src/token.js';
import { RW, SO_PIN, USER_PIN, expectRv, newCryptoki, readyToken, userSession } from './helpers.js';

const sealer = new Sealer(globalThis.crypto);

describe('records forged with the device key', () => {
  test('PIN records re-sealed under the spec policy, with the policy flipped, open no token', async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await readyToken({ store, policy: 'strict' });
    const record = (await store.loadToken(slot))!;
    const reseal = async (owner: PinOwner) => {
      const pin = record[owner]!;
      const inner = await sealer.openBytes(record.deviceKey, { iv: pin.iv, data: pin.sealedTokenKey }, pinAad(record.tokenId, owner, 'strict'));
      const outer = await sealer.sealBytes(record.deviceKey, inner, pinAad(record.tokenId, owner, 'spec'));
      return { ...pin, iv: outer.iv, sealedTokenKey: outer.data };
    };
    const user = await reseal('user');
    const so = await reseal('so');
    await store.updateToken(slot, (t) => t && { ...t, policy: 'spec', user, so });
    await expectRv(p11.C_Login(session, CKU_USER, USER_PIN), CKR_DEVICE_ERROR);
  });

  test('a factor wrapping a token key of the attacker\'s neither logs in nor replaces the live one', async () => {
    const store = new MemoryStore();
    const victim = await userSession({ store, policy: 'strict' });
    const record = (await store.loadToken(victim.slot))!;
    // The attacker's own TK′ and secret, wrapped as the engine would wrap a real factor.
    const id = new Uint8Array([1, 2, 3]);
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const salt = crypto.getRandomValues(new Uint8Array(32));
    const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
    const kek = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt, info: new TextEncoder().encode(`vhsm/1|factor-kek|${record.tokenId}`) },
      base, { name: 'AES-KW', length: 256 }, false, ['wrapKey', 'unwrapKey']);
    const attackerTk = await sealer.newTokenKey();
    const sealed = await sealer.sealTokenKey(attackerTk, kek, record.deviceKey, factorAad(record.tokenId, record.policy, id));
    await store.updateToken(victim.slot, (t) => t && { ...t, factors: [{ id, salt, iv: sealed.iv, sealedTokenKey: sealed.data }] });

    // Another application on the same engine (the victim's stays logged in) tries the forged factor.
    const attacker = newCryptoki({ engine: victim.p11.engine });
    await attacker.C_Initialize();
    const s = await attacker.C_OpenSession(victim.slot, RW);
    await expectRv(attacker.C_Login(s, CKU_USER, factorPin(id, secret)), CKR_DEVICE_ERROR);
    // And a fresh engine over the records refuses it too.
    const fresh = newCryptoki({ store });
    await fresh.C_Initialize();
    const s2 = await fresh.C_OpenSession(victim.slot, RW);
    await expectRv(fresh.C_Login(s2, CKU_USER, factorPin(id, secret)), CKR_DEVICE_ERROR);
    expect((await victim.p11.C_GetSessionInfo(victim.session)).state).toBe(CKS_RW_USER_FUNCTIONS);
  });

  test('a public key record re-tagged with DK as a never-known wrapping key does not wrap', async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await userSession({ store, policy: 'strict' });
    const target = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_EXTRACTABLE, value: true },
    ]);
    const known = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false },
      { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }, { type: CKA_ENCRYPT, value: true },
    ]);
    const record = (await store.loadToken(slot)) as TokenRecord;
    const stored = (await store.loadObjects(slot)).find((o) => !o.private && o.material) as ObjectRecord;
    const forged = new Map(stored.attributes);
    for (const [type, value] of [[CKA_ENCRYPT, false], [CKA_WRAP, true], [CKA_SENSITIVE, true], [CKA_EXTRACTABLE, false],
      [CKA_ALWAYS_SENSITIVE, true], [CKA_NEVER_EXTRACTABLE, true]] as const) forged.set(type, value);
    const attributes = [...forged];
    const attributesTag = await sealer.tag(record.deviceKey, encodeAttributes(attributes), publicAttributesAad(record.tokenId, stored.id));
    await store.commit({ slot, putObjects: [{ ...stored, attributes, attributesTag, version: stored.version + 1 }] });
    await expectRv(p11.C_WrapKey(session, { mechanism: CKM_AES_KEY_WRAP }, known, target), CKR_KEY_FUNCTION_NOT_PERMITTED);
  });

  test('a factor enrolled while the SO resets the user PIN from another engine is refused, not kept', async () => {
    const store = new MemoryStore();
    const { p11, slot, session } = await userSession({ store, policy: 'strict' });
    const other = newCryptoki({ store });
    await other.C_Initialize();
    const so = await other.C_OpenSession(slot, RW);
    await other.C_Login(so, CKU_SO, SO_PIN);
    const update = store.updateToken.bind(store);
    let reset = false;
    store.updateToken = async (s, change) => {
      // Just before the enrolment writes its factor, the SO's C_InitPIN lands.
      if (!reset && change(await store.loadToken(s))?.factors?.length) {
        reset = true;
        await other.C_InitPIN(so, 'new-user-pin');
      }
      return update(s, change);
    };
    await expectRv(p11.enrollUserFactor(session, { id: new Uint8Array([5]), secret: new Uint8Array(32).fill(3) }), CKR_USER_NOT_LOGGED_IN);
    expect(reset).toBe(true);
    expect((await store.loadToken(slot))?.factors ?? []).toEqual([]);
  });
});
