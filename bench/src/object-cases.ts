/**
 * Cases that depend on how many objects a token holds: C_FindObjects by CKA_LABEL and by CKA_ID,
 * and C_Login. The token is filled with private AES-128 secret keys (token objects), each with a
 * unique label and id, in stages (1 k, then up to 10 k, then up to 100 k).
 */
import {
  CKA_CLASS, CKA_ENCRYPT, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE, CKA_TOKEN,
  CKA_VALUE, CKK_AES, CKO_SECRET_KEY, CKU_USER,
} from '@vhsm/pkcs11';
import type { Attribute } from '@vhsm/pkcs11';
import { USER_PIN } from './backends.js';
import type { TokenHandle } from './backends.js';
import { randomBytes } from './crypto-cases.js';
import { summarize, timed } from './harness.js';
import type { Operation, Stats } from './harness.js';

const VALUE = randomBytes(16);

export function objectId(i: number): Uint8Array {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, i);
  return id;
}

/** Adds objects [from, to) to the token, `lanes` calls in flight. */
export async function populate(t0: TokenHandle, from: number, to: number): Promise<void> {
  let next = from;
  const lane = async (lane: number): Promise<void> => {
    const s = t0.sessions[lane] as number;
    for (let i = next++; i < to; i = next++) {
      await t0.p11.C_CreateObject(s, [
        { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES },
        { type: CKA_VALUE, value: VALUE }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
        { type: CKA_SENSITIVE, value: true }, { type: CKA_ENCRYPT, value: true },
        { type: CKA_LABEL, value: `obj-${i}` }, { type: CKA_ID, value: objectId(i) },
      ]);
    }
  };
  await Promise.all(t0.sessions.map((_, i) => lane(i)));
}

/** One find = Init + FindObjects + Final, for an object chosen across the whole token; exactly one must match. */
export function findOperation(t0: TokenHandle, count: number, by: 'label' | 'id'): Operation {
  return {
    async op(lane, index) {
      const s = t0.sessions[lane] as number;
      // A stride coprime with the count walks the whole token, not its first objects only.
      const i = (index * 7919 + 13) % count;
      const template: Attribute[] = [by === 'label' ? { type: CKA_LABEL, value: `obj-${i}` } : { type: CKA_ID, value: objectId(i) }];
      await t0.p11.C_FindObjectsInit(s, template);
      const found = await t0.p11.C_FindObjects(s, 2);
      await t0.p11.C_FindObjectsFinal(s);
      if (found.length !== 1) throw new Error(`${t0.name}: find by ${by} of object ${i} found ${found.length}`);
    },
  };
}

export interface LoginStats {
  login: Stats;
  /** C_Login then a first C_FindObjects over every object (what unseals them all). */
  loginAndFind: Stats;
}

/** Log out, then time C_Login and the first find over all objects, `runs` times. */
export async function measureLogin(t0: TokenHandle, count: number, runs: number): Promise<LoginStats> {
  const s = t0.sessions[0] as number;
  const login: number[] = [];
  const both: number[] = [];
  for (let r = 0; r < runs; r++) {
    await t0.p11.C_Logout(s);
    const tLogin = await timed(() => t0.p11.C_Login(s, CKU_USER, USER_PIN));
    let found = 0;
    const tFind = await timed(async () => {
      await t0.p11.C_FindObjectsInit(s, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]);
      found = (await t0.p11.C_FindObjects(s)).length;
      await t0.p11.C_FindObjectsFinal(s);
    });
    if (found < count) throw new Error(`${t0.name}: after login, found ${found} of ${count} objects`);
    login.push(tLogin);
    both.push(tLogin + tFind);
  }
  return { login: summarize(login, 1), loginAndFind: summarize(both, 1) };
}

/** The floor for any login: one PBKDF2-SHA-256 derivation at the same iteration count. */
export async function measurePbkdf2(subtle: SubtleCrypto, iterations: number, runs: number): Promise<Stats> {
  const base = await subtle.importKey('raw', new TextEncoder().encode(USER_PIN), 'PBKDF2', false, ['deriveBits']);
  const salt = randomBytes(16);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    times.push(await timed(() => subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256)));
  }
  return summarize(times, 1);
}
