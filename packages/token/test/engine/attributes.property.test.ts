/**
 * Property tests of the attribute table (fast-check): random templates for C_CreateObject,
 * C_SetAttributeValue and C_CopyObject. Each call either fails with a precise CK_RV and changes
 * nothing, or makes an object whose attributes obey the table (attributes/table.ts).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  attributeKind, ckrName, isPkcs11Error, CKA_ALLOWED_MECHANISMS, CKA_ALWAYS_SENSITIVE, CKA_APPLICATION,
  CKA_CERTIFICATE_TYPE, CKA_CHECK_VALUE, CKA_CLASS, CKA_COPYABLE, CKA_DECRYPT, CKA_DERIVE,
  CKA_DESTROYABLE, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL,
  CKA_LOCAL, CKA_MODIFIABLE, CKA_MODULUS, CKA_NEVER_EXTRACTABLE, CKA_OBJECT_ID, CKA_PRIVATE,
  CKA_SENSITIVE, CKA_SIGN, CKA_START_DATE, CKA_SUBJECT, CKA_TOKEN, CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP,
  CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKC_X_509,
  CKK_AES, CKK_GENERIC_SECRET, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_SHA256, CKO_CERTIFICATE, CKO_DATA, CKO_SECRET_KEY,
  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT, Cryptoki,
} from '@vhsm/token';
import type { Attribute, AttributeValue, Template } from '@vhsm/token';
import { F } from '../../src/attributes/table.js';
import { rulesFor } from '../../src/attributes/rules.js';
import { findAll, userSession } from './helpers.js';

const POOL = [
  CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_LABEL, CKA_COPYABLE, CKA_DESTROYABLE, CKA_UNIQUE_ID,
  CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE, CKA_ID, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT,
  CKA_SIGN, CKA_VERIFY, CKA_WRAP, CKA_UNWRAP, CKA_DERIVE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
  CKA_NEVER_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_VALUE_LEN, CKA_TRUSTED, CKA_WRAP_WITH_TRUSTED, CKA_KEY_TYPE,
  CKA_START_DATE, CKA_MODULUS, CKA_SUBJECT, CKA_ALLOWED_MECHANISMS, CKA_CHECK_VALUE, CKA_CERTIFICATE_TYPE,
  CKA_WRAP_TEMPLATE,
];

/** Caller mistakes the table can answer; anything else (GENERAL_ERROR…) is a bug. */
const EXPECTED_FAILURES = new Set([
  CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
  CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
]);

function valueOf(type: number): fc.Arbitrary<AttributeValue> {
  const small = fc.constantFrom(0, 1, 16, 32, CKO_DATA, CKO_SECRET_KEY, CKK_AES, CKK_GENERIC_SECRET, CKC_X_509);
  switch (attributeKind(type)) {
    case 'bool': return fc.boolean();
    case 'ulong': return small;
    case 'string': return fc.constantFrom('', 'a', 'label', 'ünïcode');
    case 'date': return fc.constantFrom('', '20240131').map((s) => new TextEncoder().encode(s));
    case 'mechanisms': return fc.constantFrom([], [CKM_AES_GCM], [CKM_AES_GCM, CKM_SHA256]);
    case 'attributes': return fc.constantFrom([], [{ type: CKA_EXTRACTABLE, value: true }]) as fc.Arbitrary<AttributeValue>;
    case 'bytes': return fc.constantFrom(0, 1, 16, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
  }
}

/** Mostly well-typed values, sometimes a value of the wrong kind. */
const attribute: fc.Arbitrary<Attribute> = fc.constantFrom(...POOL).chain((type) =>
  fc.oneof({ weight: 9, arbitrary: valueOf(type) }, { weight: 1, arbitrary: fc.constantFrom<AttributeValue>(7, true, 'x', new Uint8Array([1])) })
    .map((value) => ({ type, value })));
const template = fc.array(attribute, { minLength: 0, maxLength: 5 });

type Snapshot = Map<number, { value?: unknown; rv?: string }>;

async function snapshot(p11: Cryptoki, session: number, object: number): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const type of POOL) {
    try {
      const [a] = await p11.C_GetAttributeValue(session, object, [{ type }]);
      out.set(type, { value: a?.value });
    } catch (e) {
      out.set(type, { rv: isPkcs11Error(e) ? ckrName(e.code) : String(e) });
    }
  }
  return out;
}

/** Run a call; on failure, check it is a caller-caused CK_RV and return it. */
async function attempt<T>(call: Promise<T>): Promise<{ ok: T } | { rv: number }> {
  try {
    return { ok: await call };
  } catch (e) {
    expect(isPkcs11Error(e), String(e)).toBe(true);
    const code = (e as { code: number }).code;
    expect(EXPECTED_FAILURES.has(code), `unexpected ${ckrName(code)}: ${(e as Error).message}`).toBe(true);
    return { rv: code };
  }
}

const bases: Record<string, Template> = {
  data: [{ type: CKA_CLASS, value: CKO_DATA }],
  aes: [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: new Uint8Array(16).fill(3) }],
  sensitiveAes: [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: new Uint8Array(16).fill(4) }, { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_COPYABLE, value: false }],
  frozenAes: [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: new Uint8Array(16).fill(5) }, { type: CKA_MODIFIABLE, value: false }],
  cert: [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 }, { type: CKA_SUBJECT, value: new Uint8Array([1]) }, { type: CKA_VALUE, value: new Uint8Array([0x30, 0]) }],
};
const baseName = fc.constantFrom(...Object.keys(bases));

function rules(snap: Snapshot) {
  return rulesFor(snap.get(CKA_CLASS)?.value as number, snap.get(CKA_KEY_TYPE)?.value as number | undefined);
}

/** Template values that must read back (secret values are checked by readability instead). */
function expectApplied(snap: Snapshot, t: Template): void {
  const r = rules(snap);
  for (const { type, value } of t) {
    if ((r.get(type)?.flags ?? 0) & F.SECRET) continue;
    // Strings may be given as UTF-8 bytes; they read back as strings.
    const expected = attributeKind(type) === 'string' && value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
    expect(snap.get(type)?.value, `0x${type.toString(16)}`).toEqual(expected);
  }
}

/** What the table promises of any key object. */
function expectKeyInvariants(snap: Snapshot): void {
  if (snap.get(CKA_CLASS)?.value !== CKO_SECRET_KEY) return;
  const sensitive = snap.get(CKA_SENSITIVE)?.value === true || snap.get(CKA_EXTRACTABLE)?.value === false;
  expect(snap.get(CKA_VALUE)?.rv).toBe(sensitive ? 'CKR_ATTRIBUTE_SENSITIVE' : undefined);
  if (snap.get(CKA_ALWAYS_SENSITIVE)?.value === true) expect(snap.get(CKA_SENSITIVE)?.value).toBe(true);
  if (snap.get(CKA_NEVER_EXTRACTABLE)?.value === true) expect(snap.get(CKA_EXTRACTABLE)?.value).toBe(false);
}

describe('attribute table properties', () => {
  let p11: Cryptoki;
  let session: number;
  beforeAll(async () => {
    ({ p11, session } = await userSession());
  });

  test('C_CreateObject: a precise CK_RV and no object, or an object that carries the template', async () => {
    await fc.assert(fc.asyncProperty(baseName, template, async (name, extra) => {
      const base = bases[name] as Template;
      const before = (await findAll(p11, session)).length;
      const result = await attempt(p11.C_CreateObject(session, [...base, ...extra]));
      if ('rv' in result) {
        expect((await findAll(p11, session)).length).toBe(before);
        return;
      }
      const snap = await snapshot(p11, session, result.ok);
      const r = rules(snap);
      for (const { type } of extra) {
        const flags = r.get(type)?.flags;
        expect(flags, `0x${type.toString(16)} is not an attribute of ${name}`).toBeDefined();
        expect((flags as number) & (F.COMPUTED | F.FORBIDDEN_ON_CREATE), `0x${type.toString(16)} may not be given`).toBe(0);
      }
      expectApplied(snap, [...base, ...extra]);
      if (name !== 'data' && name !== 'cert') {
        expect(snap.get(CKA_LOCAL)?.value).toBe(false);
        expect(snap.get(CKA_ALWAYS_SENSITIVE)?.value).toBe(false);
        expect(snap.get(CKA_NEVER_EXTRACTABLE)?.value).toBe(false);
      }
      expectKeyInvariants(snap);
    }), { numRuns: 150 });
  });

  test('C_GenerateKey: a precise CK_RV and no key, or a key with the template and the computed provenance', async () => {
    const length = fc.constantFrom<Attribute>({ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_VALUE_LEN, value: 32 });
    await fc.assert(fc.asyncProperty(length, template, async (len, extra) => {
      const before = (await findAll(p11, session)).length;
      const result = await attempt(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [len, ...extra]));
      if ('rv' in result) {
        expect((await findAll(p11, session)).length).toBe(before);
        return;
      }
      const snap = await snapshot(p11, session, result.ok);
      const r = rules(snap);
      for (const { type } of extra) {
        const flags = r.get(type)?.flags;
        expect(flags, `0x${type.toString(16)} is not an attribute of an AES key`).toBeDefined();
        expect((flags as number) & (F.COMPUTED | F.FORBIDDEN_ON_GENERATE), `0x${type.toString(16)} may not be given`).toBe(0);
      }
      expectApplied(snap, [len, ...extra]);
      expect(snap.get(CKA_CLASS)?.value).toBe(CKO_SECRET_KEY);
      expect(snap.get(CKA_KEY_TYPE)?.value).toBe(CKK_AES);
      expect(snap.get(CKA_LOCAL)?.value).toBe(true);
      expect(snap.get(CKA_KEY_GEN_MECHANISM)?.value).toBe(CKM_AES_KEY_GEN);
      expect(snap.get(CKA_ALWAYS_SENSITIVE)?.value).toBe(snap.get(CKA_SENSITIVE)?.value);
      expect(snap.get(CKA_NEVER_EXTRACTABLE)?.value).toBe(!snap.get(CKA_EXTRACTABLE)?.value);
      expectKeyInvariants(snap);
    }), { numRuns: 150 });
  });

  test('C_SetAttributeValue: a precise CK_RV and nothing changed, or exactly the template applied within the rules', async () => {
    await fc.assert(fc.asyncProperty(baseName, template, async (name, change) => {
      const object = await p11.C_CreateObject(session, bases[name] as Template);
      const before = await snapshot(p11, session, object);
      const result = await attempt(p11.C_SetAttributeValue(session, object, change));
      const after = await snapshot(p11, session, object);
      if ('rv' in result) {
        expect(after).toEqual(before);
        return;
      }
      const r = rules(before);
      const changed = new Set<number>();
      for (const { type, value } of change) {
        const flags = r.get(type)?.flags as number;
        expect(flags, `0x${type.toString(16)}`).toBeDefined();
        if (!isDeepEqual(before.get(type)?.value, value)) {
          changed.add(type);
          expect(flags & F.MODIFIABLE, `0x${type.toString(16)} is not modifiable`).not.toBe(0);
        }
      }
      expect(before.get(CKA_MODIFIABLE)?.value === false && changed.size > 0).toBe(false);
      expectApplied(after, change);
      // Only-to-true / only-to-false, and history never improves.
      for (const [type, from] of [[CKA_SENSITIVE, true], [CKA_WRAP_WITH_TRUSTED, true], [CKA_EXTRACTABLE, false], [CKA_COPYABLE, false]] as const) {
        if (before.get(type)?.value === from) expect(after.get(type)?.value).toBe(from);
      }
      for (const type of POOL) {
        if (changed.has(type) || type === CKA_VALUE) continue;
        expect(after.get(type), `0x${type.toString(16)} changed without being asked`).toEqual(before.get(type));
      }
      expectKeyInvariants(after);
    }), { numRuns: 150 });
  });

  test('C_CopyObject: a precise CK_RV and no new object, or a copy with the template applied', async () => {
    await fc.assert(fc.asyncProperty(baseName, template, async (name, change) => {
      const source = await p11.C_CreateObject(session, bases[name] as Template);
      const before = await snapshot(p11, session, source);
      const count = (await findAll(p11, session)).length;
      const result = await attempt(p11.C_CopyObject(session, source, change));
      expect(await snapshot(p11, session, source)).toEqual(before);
      if ('rv' in result) {
        expect((await findAll(p11, session)).length).toBe(count);
        return;
      }
      expect(before.get(CKA_COPYABLE)?.value).not.toBe(false);
      const copy = await snapshot(p11, session, result.ok);
      const r = rules(before);
      for (const { type, value } of change) {
        const flags = r.get(type)?.flags as number;
        expect(flags, `0x${type.toString(16)}`).toBeDefined();
        if (!isDeepEqual(before.get(type)?.value, value)) {
          expect(flags & (F.MODIFIABLE | F.COPY_MODIFIABLE), `0x${type.toString(16)} cannot change in a copy`).not.toBe(0);
          expect(before.get(CKA_MODIFIABLE)?.value, 'a copy of a non-modifiable object changed').not.toBe(false);
        }
      }
      expectApplied(copy, change);
      for (const type of [CKA_CLASS, CKA_KEY_TYPE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_KEY_GEN_MECHANISM]) {
        expect(copy.get(type), `0x${type.toString(16)}`).toEqual(before.get(type));
      }
      expect(copy.get(CKA_UNIQUE_ID)?.value).not.toEqual(before.get(CKA_UNIQUE_ID)?.value);
      expectKeyInvariants(copy);
    }), { numRuns: 150 });
  });
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    expect(a).toEqual(b);
    return true;
  } catch {
    return false;
  }
}
