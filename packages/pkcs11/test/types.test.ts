import { describe, expectTypeOf, it } from 'vitest';
import {
  CKA_ALLOWED_MECHANISMS, CKA_CLASS, CKA_EC_POINT, CKA_LABEL, CKA_START_DATE, CKA_TOKEN,
  CKA_WRAP_TEMPLATE, CKM_AES_GCM, CKO_SECRET_KEY,
} from '../src/index.js';
import type {
  AttributeValue, AttributeValueFor, CryptokiApi, CryptokiApiV3, KeyPair, StrictTemplate, Template,
} from '../src/index.js';

// Compile-time checks: `pnpm typecheck` fails if these types drift.
describe('attribute value types', () => {
  it('follow the attribute kind', () => {
    expectTypeOf<AttributeValueFor<typeof CKA_LABEL>>().toEqualTypeOf<string>();
    expectTypeOf<AttributeValueFor<typeof CKA_TOKEN>>().toEqualTypeOf<boolean>();
    expectTypeOf<AttributeValueFor<typeof CKA_CLASS>>().toEqualTypeOf<number>();
    expectTypeOf<AttributeValueFor<typeof CKA_EC_POINT>>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<AttributeValueFor<typeof CKA_START_DATE>>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<AttributeValueFor<typeof CKA_ALLOWED_MECHANISMS>>().toEqualTypeOf<number[]>();
    expectTypeOf<AttributeValueFor<number>>().toEqualTypeOf<AttributeValue>();
    expectTypeOf<AttributeValueFor<0x80000001>>().toEqualTypeOf<AttributeValue>();
  });

  it('make StrictTemplate reject mismatched values and stay a Template', () => {
    const strict: StrictTemplate = [
      { type: CKA_CLASS, value: CKO_SECRET_KEY },
      { type: CKA_LABEL, value: 'key' },
      { type: CKA_TOKEN, value: true },
      { type: CKA_WRAP_TEMPLATE, value: [{ type: CKA_TOKEN, value: false }] },
      { type: CKA_EC_POINT },
    ];
    // @ts-expect-error a label is a string
    const wrongLabel: StrictTemplate = [{ type: CKA_LABEL, value: new Uint8Array() }];
    // @ts-expect-error CKA_TOKEN is a CK_BBOOL
    const wrongToken: StrictTemplate = [{ type: CKA_TOKEN, value: 1 }];
    expectTypeOf(strict).toExtend<Template>();
    expectTypeOf([wrongLabel, wrongToken]).toBeArray();
  });

  it('keep plain templates easy to write', () => {
    const types: number[] = [CKA_LABEL, CKA_TOKEN];
    const template: Template = types.map((type) => ({ type }));
    expectTypeOf(template).toEqualTypeOf<Template>();
  });
});

describe('CryptokiApi', () => {
  it('has the contract signatures', () => {
    expectTypeOf<CryptokiApi['C_GetSlotList']>().toEqualTypeOf<(tokenPresent?: boolean) => Promise<number[]>>();
    expectTypeOf<CryptokiApi['C_FindObjects']>().toEqualTypeOf<(session: number, max?: number) => Promise<number[]>>();
    expectTypeOf<ReturnType<CryptokiApi['C_Verify']>>().toEqualTypeOf<Promise<boolean>>();
    expectTypeOf<ReturnType<CryptokiApi['C_GenerateKeyPair']>>().toEqualTypeOf<Promise<KeyPair>>();
    expectTypeOf<ReturnType<CryptokiApi['C_WrapKey']>>().toEqualTypeOf<Promise<Uint8Array>>();
    expectTypeOf<Parameters<CryptokiApi['C_Login']>>().toEqualTypeOf<[session: number, userType: number, pin?: string | undefined]>();
    expectTypeOf<Parameters<CryptokiApi['C_EncryptInit']>[1]>().toExtend<{ mechanism: number }>();
    expectTypeOf({ mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }).toExtend<
      Parameters<CryptokiApi['C_EncryptInit']>[1]
    >();
    expectTypeOf<CryptokiApiV3>().toExtend<CryptokiApi>();
  });
});
