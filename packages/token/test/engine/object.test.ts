/**
 * Object management (PKCS#11 v3.0 §4, §5.7) in the style of SoftHSM2's ObjectTests: defaults per
 * class, computed attributes, sensitive values, read-only rules, the access matrix, find, copy,
 * destroy, and "a failed call changes nothing".
 */
import { describe, expect, test } from 'vitest';
import {
  CKA_ALWAYS_SENSITIVE, CKA_APPLICATION, CKA_CERTIFICATE_CATEGORY, CKA_CERTIFICATE_TYPE, CKA_CLASS,
  CKA_COPYABLE, CKA_DECRYPT, CKA_DERIVE, CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT,
  CKA_EXTRACTABLE, CKA_ID, CKA_KEY_GEN_MECHANISM, CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_MODIFIABLE,
  CKA_MODULUS, CKA_NEVER_EXTRACTABLE, CKA_OBJECT_ID, CKA_PRIVATE, CKA_PRIVATE_EXPONENT, CKA_SENSITIVE,
  CKA_SIGN, CKA_SUBJECT, CKA_TOKEN, CKA_TRUSTED, CKA_UNIQUE_ID, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN,
  CKA_VERIFY, CKA_WRAP, CKA_WRAP_TEMPLATE, CKA_WRAP_WITH_TRUSTED, CKA_ALLOWED_MECHANISMS, CKA_START_DATE, CKA_ISSUER,
  CKA_SERIAL_NUMBER, CKC_X_509, CKC_WTLS, CKK_AES, CKK_EC, CKK_GENERIC_SECRET, CKM_AES_GCM,
  CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN, CKO_CERTIFICATE, CKO_DATA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  CKO_SECRET_KEY, CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_SENSITIVE,
  CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_OBJECT_HANDLE_INVALID, CKR_OK,
  CKR_SESSION_READ_ONLY, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT, CKR_USER_NOT_LOGGED_IN,
  CKR_ARGUMENTS_BAD, CKR_OPERATION_NOT_INITIALIZED, CKS_RO_PUBLIC_SESSION, CKS_RO_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION,
  CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS, CKU_SO, CK_UNAVAILABLE_INFORMATION, Cryptoki,
  CKA_MODULUS_BITS,
} from '@vhsm/token';
import type { Attribute, Template } from '@vhsm/token';
import { accessCheck } from '../../src/access.js';
import {
  P256_PARAMS, RO, RW, SO_PIN, attr, bytes, expectRv, findAll, generateAes, generateEc,
  generateRsa, newCryptoki, userSession,
} from './helpers.js';

const AES_VALUE = new Uint8Array(16).map((_, i) => i + 1);
const aesTemplate = (extra: Template = []): Template => [
  { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value: AES_VALUE },
  ...extra,
];
const dataTemplate = (extra: Template = []): Template => [{ type: CKA_CLASS, value: CKO_DATA }, ...extra];
/** A made-up DER certificate: the token stores certificates as opaque bytes. */
const CERT = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
const certTemplate = (extra: Template = []): Template => [
  { type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_CERTIFICATE_TYPE, value: CKC_X_509 },
  { type: CKA_SUBJECT, value: bytes('CN=test') }, { type: CKA_VALUE, value: CERT }, { type: CKA_PRIVATE, value: false },
  ...extra,
];

async function values(p11: Cryptoki, session: number, object: number, types: number[]): Promise<unknown[]> {
  return (await p11.C_GetAttributeValue(session, object, types.map((type) => ({ type })))).map((a) => a.value);
}

describe('default attributes', () => {
  test('data object', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate());
    expect(await values(p11, session, o, [CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE, CKA_LABEL, CKA_APPLICATION, CKA_OBJECT_ID, CKA_VALUE]))
      .toEqual([false, true, true, true, true, '', '', new Uint8Array(), new Uint8Array()]);
    expect(typeof await attr(p11, session, o, CKA_UNIQUE_ID)).toBe('string');
  });

  test('X.509 certificate', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, certTemplate());
    expect(await values(p11, session, o, [CKA_CERTIFICATE_TYPE, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY, CKA_ID, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_VALUE, CKA_START_DATE]))
      .toEqual([CKC_X_509, false, 0, new Uint8Array(), new Uint8Array(), new Uint8Array(), CERT, new Uint8Array()]);
  });

  test('secret key made by C_CreateObject', async () => {
    const { p11, session } = await userSession();
    const k = await p11.C_CreateObject(session, aesTemplate());
    expect(await values(p11, session, k, [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_SIGN, CKA_VERIFY, CKA_WRAP, CKA_UNWRAP, CKA_DERIVE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_VALUE_LEN, CKA_WRAP_WITH_TRUSTED, CKA_TRUSTED, CKA_ALLOWED_MECHANISMS]))
      .toEqual([false, true, true, true, true, true, true, true, false, false, CK_UNAVAILABLE_INFORMATION, false, false, 16, false, false, []]);
  });

  test('secret key made by C_GenerateKey', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session);
    expect(await values(p11, session, k, [CKA_CLASS, CKA_KEY_TYPE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_VALUE_LEN, CKA_PRIVATE, CKA_TOKEN]))
      .toEqual([CKO_SECRET_KEY, CKK_AES, true, CKM_AES_KEY_GEN, 32, true, false]);
  });

  test('key pair made by C_GenerateKeyPair', async () => {
    const { p11, session } = await userSession();
    const { publicKey, privateKey } = await generateEc(p11, session);
    expect(await values(p11, session, publicKey, [CKA_CLASS, CKA_KEY_TYPE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_VERIFY, CKA_ENCRYPT, CKA_EC_PARAMS]))
      .toEqual([CKO_PUBLIC_KEY, CKK_EC, true, CKM_EC_KEY_PAIR_GEN, true, true, P256_PARAMS]);
    expect((await attr(p11, session, publicKey, CKA_EC_POINT) as Uint8Array).length).toBe(67);
    expect(await values(p11, session, privateKey, [CKA_CLASS, CKA_KEY_TYPE, CKA_LOCAL, CKA_SIGN, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_EC_PARAMS]))
      .toEqual([CKO_PRIVATE_KEY, CKK_EC, true, true, false, true, false, false, P256_PARAMS]);
  });

  test('CKA_UNIQUE_ID differs between objects and cannot be given', async () => {
    const { p11, session } = await userSession();
    const a = await p11.C_CreateObject(session, dataTemplate());
    const b = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_TOKEN, value: true }]));
    expect(await attr(p11, session, a, CKA_UNIQUE_ID)).not.toBe(await attr(p11, session, b, CKA_UNIQUE_ID));
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_UNIQUE_ID, value: 'mine' }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(session, a, [{ type: CKA_UNIQUE_ID, value: 'mine' }]), CKR_ATTRIBUTE_READ_ONLY);
  });
});

describe('CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE', () => {
  test('generate: computed from CKA_SENSITIVE and CKA_EXTRACTABLE', async () => {
    const { p11, session } = await userSession();
    const locked = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]);
    expect(await values(p11, session, locked, [CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE])).toEqual([true, true]);
    const open = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }]);
    expect(await values(p11, session, open, [CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE])).toEqual([false, false]);
    const { privateKey } = await generateEc(p11, session, [], [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]);
    expect(await values(p11, session, privateKey, [CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE])).toEqual([true, true]);
  });

  test('create: always false, whatever the template says', async () => {
    const { p11, session } = await userSession();
    const k = await p11.C_CreateObject(session, aesTemplate([{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]));
    expect(await values(p11, session, k, [CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_LOCAL])).toEqual([false, false, false]);
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_ALWAYS_SENSITIVE, value: true }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_NEVER_EXTRACTABLE, value: true }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_LOCAL, value: true }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_KEY_GEN_MECHANISM, value: CKM_AES_KEY_GEN }])), CKR_ATTRIBUTE_READ_ONLY);
  });

  test('set: history is kept — making a key sensitive later does not make it ALWAYS_SENSITIVE', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session);
    await p11.C_SetAttributeValue(session, k, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]);
    expect(await values(p11, session, k, [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE])).toEqual([true, false, false, false]);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_ALWAYS_SENSITIVE, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
  });

  test('copy: the copy keeps the original history', async () => {
    const { p11, session } = await userSession();
    const locked = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }]);
    const copy = await p11.C_CopyObject(session, locked, [{ type: CKA_LABEL, value: 'copy' }]);
    expect(await values(p11, session, copy, [CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_LOCAL, CKA_KEY_GEN_MECHANISM])).toEqual([true, true, true, CKM_AES_KEY_GEN]);
    const open = await generateAes(p11, session);
    const hardened = await p11.C_CopyObject(session, open, [{ type: CKA_SENSITIVE, value: true }]);
    expect(await values(p11, session, hardened, [CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE])).toEqual([true, false]);
  });
});

describe('sensitive attributes', () => {
  test('a non-sensitive extractable secret key reveals CKA_VALUE', async () => {
    const { p11, session } = await userSession();
    const k = await p11.C_CreateObject(session, aesTemplate());
    expect(await attr(p11, session, k, CKA_VALUE)).toEqual(AES_VALUE);
  });

  test('CKA_SENSITIVE or CKA_EXTRACTABLE=false hides CKA_VALUE: CKR_ATTRIBUTE_SENSITIVE', async () => {
    const { p11, session } = await userSession();
    const sensitive = await p11.C_CreateObject(session, aesTemplate([{ type: CKA_SENSITIVE, value: true }]));
    await expectRv(p11.C_GetAttributeValue(session, sensitive, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
    // Other attributes asked together do not unlock it.
    await expectRv(p11.C_GetAttributeValue(session, sensitive, [{ type: CKA_LABEL }, { type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
    const unextractable = await p11.C_CreateObject(session, aesTemplate([{ type: CKA_EXTRACTABLE, value: false }]));
    await expectRv(p11.C_GetAttributeValue(session, unextractable, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
    const generated = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }]);
    await expectRv(p11.C_GetAttributeValue(session, generated, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
    // Making a key sensitive hides its value from then on.
    const later = await p11.C_CreateObject(session, aesTemplate());
    await p11.C_SetAttributeValue(session, later, [{ type: CKA_SENSITIVE, value: true }]);
    await expectRv(p11.C_GetAttributeValue(session, later, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
  });

  test('private key components of sensitive keys', async () => {
    const { p11, session } = await userSession();
    const ec = await generateEc(p11, session, [], [{ type: CKA_SENSITIVE, value: true }]);
    await expectRv(p11.C_GetAttributeValue(session, ec.privateKey, [{ type: CKA_VALUE }]), CKR_ATTRIBUTE_SENSITIVE);
    const rsa = await generateRsa(p11, session, [], [{ type: CKA_SENSITIVE, value: true }], 1024);
    await expectRv(p11.C_GetAttributeValue(session, rsa.privateKey, [{ type: CKA_PRIVATE_EXPONENT }]), CKR_ATTRIBUTE_SENSITIVE);
    expect((await attr(p11, session, rsa.privateKey, CKA_MODULUS) as Uint8Array).length).toBe(128);
    expect((await attr(p11, session, rsa.publicKey, CKA_MODULUS) as Uint8Array).length).toBe(128);
  });
});

describe('attribute validity', () => {
  test('CKR_ATTRIBUTE_TYPE_INVALID: an attribute the class does not have', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session);
    await expectRv(p11.C_GetAttributeValue(session, k, [{ type: CKA_MODULUS }]), CKR_ATTRIBUTE_TYPE_INVALID);
    await expectRv(p11.C_GetAttributeValue(session, k, [{ type: 0x7ffffff0 }]), CKR_ATTRIBUTE_TYPE_INVALID);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_APPLICATION, value: 'x' }]), CKR_ATTRIBUTE_TYPE_INVALID);
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_ENCRYPT, value: true }])), CKR_ATTRIBUTE_TYPE_INVALID);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_MODULUS_BITS, value: 1024 }]), CKR_ATTRIBUTE_TYPE_INVALID);
  });

  test('CKR_ATTRIBUTE_VALUE_INVALID: a value of the wrong kind', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_TOKEN, value: 1 }])), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_VALUE, value: 'text' }])), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_CreateObject(session, [{ type: CKA_CLASS, value: 0x1234 }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_LABEL }])), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_CreateObject(session, certTemplate([{ type: CKA_START_DATE, value: bytes('2024-01-01') }])), CKR_ATTRIBUTE_VALUE_INVALID);
    // A malformed nested template is a bad attribute value, not a bad argument.
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_WRAP_TEMPLATE, value: 7 }])), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_WRAP_TEMPLATE, value: [{ type: 'x' }] as never }])), CKR_ATTRIBUTE_VALUE_INVALID);
  });

  test('CKR_TEMPLATE_INCOMPLETE and CKR_TEMPLATE_INCONSISTENT', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, [{ type: CKA_LABEL, value: 'x' }]), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_VALUE, value: AES_VALUE }]), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }]), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_LABEL, value: 'a' }, { type: CKA_LABEL, value: 'b' }])), CKR_TEMPLATE_INCONSISTENT);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_CLASS, value: CKO_DATA }]), CKR_TEMPLATE_INCONSISTENT);
    await expectRv(p11.C_CreateObject(session, 'not a template' as never), CKR_ARGUMENTS_BAD);
  });

  test('CKR_ATTRIBUTE_READ_ONLY: what a template may not give or change', async () => {
    const { p11, session } = await userSession();
    // Forbidden on create (CKA_VALUE_LEN of a secret key is computed from CKA_VALUE).
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_VALUE_LEN, value: 16 }])), CKR_ATTRIBUTE_READ_ONLY);
    // Forbidden on generate.
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 16 }, { type: CKA_VALUE, value: AES_VALUE }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(generateEc(p11, session, [{ type: CKA_EC_POINT, value: new Uint8Array(67) }]), CKR_ATTRIBUTE_READ_ONLY);
    const k = await generateAes(p11, session);
    const d = await p11.C_CreateObject(session, dataTemplate());
    // Not modifiable after creation.
    for (const [object, a] of [
      [k, { type: CKA_CLASS, value: CKO_DATA }], [k, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }],
      [k, { type: CKA_TOKEN, value: true }], [k, { type: CKA_PRIVATE, value: false }], [k, { type: CKA_MODIFIABLE, value: false }],
      [k, { type: CKA_VALUE_LEN, value: 16 }], [k, { type: CKA_LOCAL, value: false }], [k, { type: CKA_ALLOWED_MECHANISMS, value: [CKM_AES_GCM] }],
      [d, { type: CKA_TOKEN, value: true }],
    ] as [number, Attribute][]) {
      await expectRv(p11.C_SetAttributeValue(session, object, [a]), CKR_ATTRIBUTE_READ_ONLY);
    }
    // Restating a value is not a change.
    await p11.C_SetAttributeValue(session, k, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]);
  });

  test('only-to-true and only-to-false attributes', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_WRAP_WITH_TRUSTED, value: true }, { type: CKA_COPYABLE, value: false }]);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_SENSITIVE, value: false }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_EXTRACTABLE, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_WRAP_WITH_TRUSTED, value: false }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_COPYABLE, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    const open = await generateAes(p11, session);
    await p11.C_SetAttributeValue(session, open, [{ type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_WRAP_WITH_TRUSTED, value: true }, { type: CKA_COPYABLE, value: false }]);
    expect(await values(p11, session, open, [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_WRAP_WITH_TRUSTED, CKA_COPYABLE])).toEqual([true, false, true, false]);
    // Copies obey the same rules.
    const open2 = await generateAes(p11, session, [{ type: CKA_SENSITIVE, value: true }]);
    await expectRv(p11.C_CopyObject(session, open2, [{ type: CKA_SENSITIVE, value: false }]), CKR_ATTRIBUTE_READ_ONLY);
  });

  test('CKA_TRUSTED: only the SO may set it to true', async () => {
    const { p11, slot, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, aesTemplate([{ type: CKA_TRUSTED, value: true }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CreateObject(session, certTemplate([{ type: CKA_TRUSTED, value: true }])), CKR_ATTRIBUTE_READ_ONLY);
    const k = await p11.C_CreateObject(session, aesTemplate([{ type: CKA_TRUSTED, value: false }]));
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_TRUSTED, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    await p11.C_CloseAllSessions(slot);
    const so = await p11.C_OpenSession(slot, RW);
    await p11.C_Login(so, CKU_SO, SO_PIN);
    const cert = await p11.C_CreateObject(so, certTemplate([{ type: CKA_TRUSTED, value: true }, { type: CKA_TOKEN, value: true }]));
    const key = await p11.C_CreateObject(so, aesTemplate([{ type: CKA_TRUSTED, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_TOKEN, value: true }]));
    expect(await attr(p11, so, cert, CKA_TRUSTED)).toBe(true);
    expect(await attr(p11, so, key, CKA_TRUSTED)).toBe(true);
  });
});

describe('CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE', () => {
  test('CKR_ACTION_PROHIBITED', async () => {
    const { p11, session } = await userSession();
    const frozen = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_MODIFIABLE, value: false }, { type: CKA_LABEL, value: 'frozen' }]));
    await expectRv(p11.C_SetAttributeValue(session, frozen, [{ type: CKA_LABEL, value: 'x' }]), CKR_ACTION_PROHIBITED);
    expect(await attr(p11, session, frozen, CKA_LABEL)).toBe('frozen');
    const single = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_COPYABLE, value: false }]));
    await expectRv(p11.C_CopyObject(session, single, []), CKR_ACTION_PROHIBITED);
    const kept = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_DESTROYABLE, value: false }]));
    await expectRv(p11.C_DestroyObject(session, kept), CKR_ACTION_PROHIBITED);
    expect(await findAll(p11, session)).toContain(kept);
    // CKA_DESTROYABLE can be turned back on (it is modifiable), then the object can go.
    await p11.C_SetAttributeValue(session, kept, [{ type: CKA_DESTROYABLE, value: true }]);
    await p11.C_DestroyObject(session, kept);
  });

  test('a copy of a non-modifiable object keeps its values', async () => {
    // The spec lets a copy change only what "can ordinarily be modified"; SoftHSM2 refuses every
    // change in the copy of a CKA_MODIFIABLE=false object (P11Attribute::update), so usage flags
    // frozen on a key cannot come back through a copy.
    const { p11, session } = await userSession();
    const frozen = await generateAes(p11, session, [{ type: CKA_MODIFIABLE, value: false }, { type: CKA_DECRYPT, value: false }]);
    await expectRv(p11.C_CopyObject(session, frozen, [{ type: CKA_DECRYPT, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CopyObject(session, frozen, [{ type: CKA_MODIFIABLE, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CopyObject(session, frozen, [{ type: CKA_LABEL, value: 'renamed' }]), CKR_ATTRIBUTE_READ_ONLY);
    const copy = await p11.C_CopyObject(session, frozen, [{ type: CKA_DECRYPT, value: false }]);
    expect(await values(p11, session, copy, [CKA_MODIFIABLE, CKA_DECRYPT])).toEqual([false, false]);
  });

  test('a copy may drop CKA_MODIFIABLE and CKA_DESTROYABLE', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate());
    const c = await p11.C_CopyObject(session, o, [{ type: CKA_MODIFIABLE, value: false }, { type: CKA_DESTROYABLE, value: false }]);
    expect(await values(p11, session, c, [CKA_MODIFIABLE, CKA_DESTROYABLE])).toEqual([false, false]);
    await expectRv(p11.C_DestroyObject(session, c), CKR_ACTION_PROHIBITED);
  });
});

describe('access matrix', () => {
  // PKCS#11 v3.0 §5.6 / SoftHSM2 access.cpp: [state, token?, private?] → [read, write].
  const NL = CKR_USER_NOT_LOGGED_IN;
  const RO_ = CKR_SESSION_READ_ONLY;
  const rows: [string, number, boolean, boolean, number, number][] = [
    ['R/O public, public session object', CKS_RO_PUBLIC_SESSION, false, false, CKR_OK, CKR_OK],
    ['R/O public, private session object', CKS_RO_PUBLIC_SESSION, false, true, NL, NL],
    ['R/O public, public token object', CKS_RO_PUBLIC_SESSION, true, false, CKR_OK, RO_],
    ['R/O public, private token object', CKS_RO_PUBLIC_SESSION, true, true, NL, RO_], // read-only first, as SoftHSM2's haveWrite
    ['R/W public, public session object', CKS_RW_PUBLIC_SESSION, false, false, CKR_OK, CKR_OK],
    ['R/W public, private session object', CKS_RW_PUBLIC_SESSION, false, true, NL, NL],
    ['R/W public, public token object', CKS_RW_PUBLIC_SESSION, true, false, CKR_OK, CKR_OK],
    ['R/W public, private token object', CKS_RW_PUBLIC_SESSION, true, true, NL, NL],
    ['R/O user, public session object', CKS_RO_USER_FUNCTIONS, false, false, CKR_OK, CKR_OK],
    ['R/O user, private session object', CKS_RO_USER_FUNCTIONS, false, true, CKR_OK, CKR_OK],
    ['R/O user, public token object', CKS_RO_USER_FUNCTIONS, true, false, CKR_OK, RO_],
    ['R/O user, private token object', CKS_RO_USER_FUNCTIONS, true, true, CKR_OK, RO_],
    ['R/W user, public session object', CKS_RW_USER_FUNCTIONS, false, false, CKR_OK, CKR_OK],
    ['R/W user, private session object', CKS_RW_USER_FUNCTIONS, false, true, CKR_OK, CKR_OK],
    ['R/W user, public token object', CKS_RW_USER_FUNCTIONS, true, false, CKR_OK, CKR_OK],
    ['R/W user, private token object', CKS_RW_USER_FUNCTIONS, true, true, CKR_OK, CKR_OK],
    ['R/W SO, public session object', CKS_RW_SO_FUNCTIONS, false, false, CKR_OK, CKR_OK],
    ['R/W SO, private session object', CKS_RW_SO_FUNCTIONS, false, true, NL, NL],
    ['R/W SO, public token object', CKS_RW_SO_FUNCTIONS, true, false, CKR_OK, CKR_OK],
    ['R/W SO, private token object', CKS_RW_SO_FUNCTIONS, true, true, NL, NL],
  ];
  test.each(rows)('%s', (_name, state, token, isPrivate, read, write) => {
    expect(accessCheck(state, { token, private: isPrivate }, false)).toBe(read);
    expect(accessCheck(state, { token, private: isPrivate }, true)).toBe(write);
  });

  test('end to end: each session state against each kind of token object', async () => {
    const { p11, slot, session: rw } = await userSession();
    const publicToken = await p11.C_CreateObject(rw, dataTemplate([{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_LABEL, value: 'pub' }]));
    await p11.C_CreateObject(rw, dataTemplate([{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_LABEL, value: 'priv' }]));
    const ro = await p11.C_OpenSession(slot, RO);
    const labels = async (s: number) => Promise.all((await findAll(p11, s, [{ type: CKA_TOKEN, value: true }])).map((h) => attr(p11, s, h, CKA_LABEL)));
    // R/O user: sees both, writes neither.
    expect((await labels(ro)).sort()).toEqual(['priv', 'pub']);
    await expectRv(p11.C_SetAttributeValue(ro, publicToken, [{ type: CKA_LABEL, value: 'x' }]), CKR_SESSION_READ_ONLY);
    // R/O public and R/W public: the private object is invisible.
    await p11.C_Logout(rw);
    expect(await labels(ro)).toEqual(['pub']);
    expect(await labels(rw)).toEqual(['pub']);
    await p11.C_SetAttributeValue(rw, publicToken, [{ type: CKA_LABEL, value: 'pub' }]);
    // R/W SO: like public for objects.
    await p11.C_CloseSession(ro);
    await p11.C_Login(rw, CKU_SO, SO_PIN);
    expect(await labels(rw)).toEqual(['pub']);
    await p11.C_SetAttributeValue(rw, publicToken, [{ type: CKA_LABEL, value: 'pub' }]);
  });
});

describe('C_FindObjects', () => {
  async function population() {
    const t = await userSession();
    const { p11, session } = t;
    const handles = {
      data: await p11.C_CreateObject(session, dataTemplate([{ type: CKA_LABEL, value: 'alpha' }, { type: CKA_APPLICATION, value: 'app' }])),
      dataToken: await p11.C_CreateObject(session, dataTemplate([{ type: CKA_LABEL, value: 'beta' }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }])),
      aes: await generateAes(p11, session, [{ type: CKA_LABEL, value: 'alpha' }, { type: CKA_ID, value: new Uint8Array([1]) }, { type: CKA_TOKEN, value: true }]),
      cert: await p11.C_CreateObject(session, certTemplate([{ type: CKA_ID, value: new Uint8Array([2]) }])),
    };
    return { ...t, handles };
  }

  test('matches any attribute, and every attribute of the template', async () => {
    const { p11, session, handles } = await population();
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    expect(sorted(await findAll(p11, session))).toEqual(sorted(Object.values(handles)));
    expect(sorted(await findAll(p11, session, [{ type: CKA_LABEL, value: 'alpha' }]))).toEqual(sorted([handles.data, handles.aes]));
    expect(await findAll(p11, session, [{ type: CKA_LABEL, value: 'alpha' }, { type: CKA_CLASS, value: CKO_SECRET_KEY }])).toEqual([handles.aes]);
    expect(await findAll(p11, session, [{ type: CKA_ID, value: new Uint8Array([2]) }])).toEqual([handles.cert]);
    expect(await findAll(p11, session, [{ type: CKA_APPLICATION, value: 'app' }])).toEqual([handles.data]);
    expect(await findAll(p11, session, [{ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_LOCAL, value: true }])).toEqual([handles.aes]);
    expect(await findAll(p11, session, [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }])).toEqual([handles.dataToken]);
    const uid = await attr(p11, session, handles.cert, CKA_UNIQUE_ID);
    expect(await findAll(p11, session, [{ type: CKA_UNIQUE_ID, value: uid as string }])).toEqual([handles.cert]);
    // An attribute the object does not have never matches.
    expect(await findAll(p11, session, [{ type: CKA_MODULUS, value: new Uint8Array([1]) }])).toEqual([]);
    expect(await findAll(p11, session, [{ type: CKA_LABEL, value: 'gamma' }])).toEqual([]);
  });

  test('hands out results in chunks of max', async () => {
    const { p11, session, handles } = await population();
    await p11.C_FindObjectsInit(session, []);
    const first = await p11.C_FindObjects(session, 3);
    const second = await p11.C_FindObjects(session, 3);
    const third = await p11.C_FindObjects(session, 3);
    await p11.C_FindObjectsFinal(session);
    expect(first.length).toBe(3);
    expect([...first, ...second].sort()).toEqual(Object.values(handles).sort());
    expect(third).toEqual([]);
  });

  test('never shows private objects to a public session', async () => {
    const { p11, slot, session, handles } = await population();
    const app2 = new Cryptoki({ engine: p11.engine });
    await app2.C_Initialize();
    const s2 = await app2.C_OpenSession(slot, RW);
    const seen = await findAll(app2, s2);
    expect(await Promise.all(seen.map((h) => attr(app2, s2, h, CKA_LABEL)))).toEqual(['beta']);
    // Even asked by an exact attribute of the hidden object.
    expect(await findAll(app2, s2, [{ type: CKA_LABEL, value: 'alpha' }])).toEqual([]);
    await p11.C_Logout(session);
    expect((await findAll(p11, session)).sort()).toEqual([handles.dataToken, handles.cert].sort());
  });
});

describe('handles and slots', () => {
  test("a handle names an object of its session's token only", async () => {
    const p11 = newCryptoki({ slotCount: 2 });
    await p11.C_Initialize();
    await p11.C_InitToken(0, SO_PIN, 'zero');
    await p11.C_InitToken(1, SO_PIN, 'one');
    const s0 = await p11.C_OpenSession(0, RW);
    const s1 = await p11.C_OpenSession(1, RW);
    const o = await p11.C_CreateObject(s0, dataTemplate([{ type: CKA_PRIVATE, value: false }, { type: CKA_TOKEN, value: true }]));
    await expectRv(p11.C_GetAttributeValue(s1, o, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    await expectRv(p11.C_DestroyObject(s1, o), CKR_OBJECT_HANDLE_INVALID);
    expect(await findAll(p11, s1)).toEqual([]);
    expect(await findAll(p11, s0)).toEqual([o]);
  });

  test('a search template with a bad value starts no search', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_FindObjectsInit(session, [{ type: CKA_TOKEN, value: 'yes' }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(p11.C_FindObjects(session), CKR_OPERATION_NOT_INITIALIZED);
  });
});

describe('C_CopyObject', () => {
  test('makes a new object with the changes, keeps the original', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_LABEL, value: 'orig' }, { type: CKA_VALUE, value: bytes('payload') }]));
    const c = await p11.C_CopyObject(session, o, [{ type: CKA_LABEL, value: 'copy' }, { type: CKA_TOKEN, value: true }]);
    expect(c).not.toBe(o);
    expect(await values(p11, session, c, [CKA_LABEL, CKA_TOKEN, CKA_VALUE])).toEqual(['copy', true, bytes('payload')]);
    expect(await values(p11, session, o, [CKA_LABEL, CKA_TOKEN])).toEqual(['orig', false]);
    expect(await attr(p11, session, c, CKA_UNIQUE_ID)).not.toBe(await attr(p11, session, o, CKA_UNIQUE_ID));
  });

  test('a copied key still works and has the same value', async () => {
    const { p11, session } = await userSession();
    const k = await p11.C_CreateObject(session, aesTemplate());
    const c = await p11.C_CopyObject(session, k, [{ type: CKA_TOKEN, value: true }]);
    expect(await attr(p11, session, c, CKA_VALUE)).toEqual(AES_VALUE);
    const iv = new Uint8Array(12);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, k);
    const ct = await p11.C_Encrypt(session, bytes('same key'));
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, c);
    expect(await p11.C_Decrypt(session, ct)).toEqual(bytes('same key'));
  });

  test('a private token key copied into the session still works, and dies with the session', async () => {
    const { p11, slot, session } = await userSession();
    const k = await generateAes(p11, session, [{ type: CKA_TOKEN, value: true }, { type: CKA_SENSITIVE, value: true }]);
    const other = await p11.C_OpenSession(slot, RW);
    const c = await p11.C_CopyObject(other, k, [{ type: CKA_TOKEN, value: false }]);
    const iv = new Uint8Array(12);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, k);
    const ct = await p11.C_Encrypt(session, bytes('copy'));
    await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, c);
    expect(await p11.C_Decrypt(session, ct)).toEqual(bytes('copy'));
    await p11.C_CloseSession(other);
    await expectRv(p11.C_GetAttributeValue(session, c, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
  });

  test('copying a private object into a public one, or a private copy in a public session', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_PRIVATE, value: false }]));
    await p11.C_Logout(session);
    await expectRv(p11.C_CopyObject(session, o, [{ type: CKA_PRIVATE, value: true }]), CKR_USER_NOT_LOGGED_IN);
    await expectRv(p11.C_CopyObject(session, o + 1000, []), CKR_OBJECT_HANDLE_INVALID);
  });
});

describe('C_DestroyObject and C_GetObjectSize', () => {
  test('destroyed objects are gone for every session and handle', async () => {
    const { p11, slot, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_TOKEN, value: true }]));
    const ro = await p11.C_OpenSession(slot, RO);
    await p11.C_DestroyObject(session, o);
    await expectRv(p11.C_GetAttributeValue(ro, o, [{ type: CKA_LABEL }]), CKR_OBJECT_HANDLE_INVALID);
    await expectRv(p11.C_DestroyObject(session, o), CKR_OBJECT_HANDLE_INVALID);
    expect(await findAll(p11, ro)).toEqual([]);
  });

  test('a destroyed key ends the operations that use it', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, k);
    await p11.C_DestroyObject(session, k);
    await expectRv(p11.C_Encrypt(session, bytes('x')), CKR_OPERATION_NOT_INITIALIZED);
    await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, await generateAes(p11, session));
  });

  test('C_GetObjectSize grows with the object', async () => {
    const { p11, session } = await userSession();
    const small = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_VALUE, value: new Uint8Array(10) }]));
    const large = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_VALUE, value: new Uint8Array(1000) }]));
    const a = await p11.C_GetObjectSize(session, small);
    const b = await p11.C_GetObjectSize(session, large);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a + 900);
    await expectRv(p11.C_GetObjectSize(session, large + 1000), CKR_OBJECT_HANDLE_INVALID);
  });
});

describe('certificates', () => {
  test('required attributes and certificate types', async () => {
    const { p11, session } = await userSession();
    await expectRv(p11.C_CreateObject(session, certTemplate().filter((a) => a.type !== CKA_SUBJECT)), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, certTemplate().filter((a) => a.type !== CKA_VALUE)), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, certTemplate().filter((a) => a.type !== CKA_CERTIFICATE_TYPE)), CKR_TEMPLATE_INCOMPLETE);
    await expectRv(p11.C_CreateObject(session, certTemplate().map((a) => (a.type === CKA_CERTIFICATE_TYPE ? { type: a.type, value: CKC_WTLS } : a))), CKR_ATTRIBUTE_VALUE_INVALID);
  });

  test('CKA_VALUE and CKA_SUBJECT of a certificate cannot change; CKA_ID can', async () => {
    const { p11, session } = await userSession();
    const c = await p11.C_CreateObject(session, certTemplate());
    await expectRv(p11.C_SetAttributeValue(session, c, [{ type: CKA_VALUE, value: new Uint8Array([1]) }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_SetAttributeValue(session, c, [{ type: CKA_SUBJECT, value: bytes('CN=other') }]), CKR_ATTRIBUTE_READ_ONLY);
    await p11.C_SetAttributeValue(session, c, [{ type: CKA_ID, value: new Uint8Array([9]) }]);
    expect(await attr(p11, session, c, CKA_ID)).toEqual(new Uint8Array([9]));
  });
});

describe('a failed call changes nothing', () => {
  test('C_SetAttributeValue with one bad attribute changes none', async () => {
    const { p11, session } = await userSession();
    const k = await generateAes(p11, session, [{ type: CKA_LABEL, value: 'before' }, { type: CKA_TOKEN, value: true }]);
    await expectRv(p11.C_SetAttributeValue(session, k, [{ type: CKA_LABEL, value: 'after' }, { type: CKA_SENSITIVE, value: true }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }]), CKR_ATTRIBUTE_READ_ONLY);
    expect(await values(p11, session, k, [CKA_LABEL, CKA_SENSITIVE])).toEqual(['before', false]);
  });

  test('failed creates, copies and generations leave no object behind', async () => {
    const { p11, session } = await userSession();
    const o = await p11.C_CreateObject(session, dataTemplate([{ type: CKA_TOKEN, value: true }]));
    await expectRv(p11.C_CreateObject(session, dataTemplate([{ type: CKA_TOKEN, value: true }, { type: CKA_UNIQUE_ID, value: 'u' }])), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_CopyObject(session, o, [{ type: CKA_CLASS, value: CKO_SECRET_KEY }]), CKR_ATTRIBUTE_READ_ONLY);
    await expectRv(p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [{ type: CKA_VALUE_LEN, value: 17 }, { type: CKA_TOKEN, value: true }]), CKR_ATTRIBUTE_VALUE_INVALID);
    await expectRv(generateEc(p11, session, [{ type: CKA_TOKEN, value: true }], [{ type: CKA_TOKEN, value: true }, { type: CKA_LOCAL, value: true }]), CKR_ATTRIBUTE_READ_ONLY);
    expect(await findAll(p11, session)).toEqual([o]);
  });
});
