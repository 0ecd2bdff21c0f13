import {
  CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_PRIVATE, CKA_SENSITIVE,
  CKA_SIGN, CKA_TOKEN, CKA_VALUE, CKF_DONT_BLOCK, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_SIGN,
  CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKK_EC, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256,
  CKM_SHA256_RSA_PKCS, CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKR_ATTRIBUTE_SENSITIVE, CKR_DEVICE_REMOVED,
  CKR_FUNCTION_NOT_SUPPORTED, CKR_MECHANISM_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED,
  CKR_PIN_INCORRECT, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_READ_ONLY_EXISTS, CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_SLOT_ID_INVALID,
  CKR_TOKEN_NOT_PRESENT, CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN, CKS_RW_SO_FUNCTIONS,
  CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER, Pkcs11Error,
} from '@vhsm/pkcs11';
import type { Mechanism } from '@vhsm/pkcs11';
import { describe, expect, it } from 'vitest';
import { Cryptoki } from '../../src/index.js';
import type { ProviderObject, TokenProvider } from '../../src/index.js';

/** A provider over plain data: what the engine must do with any device, without a device. */
class FakeProvider implements TokenProvider {
  readonly slotDescription = 'fake reader';
  tries = 3;
  verified = false;
  signed: { key: string; mechanism: Mechanism; data: Uint8Array }[] = [];
  #listeners = new Set<() => void>();
  readonly objectList: ProviderObject[] = [
    { ref: 'cert', attributes: [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: false }, { type: CKA_ID, value: Uint8Array.of(1) }, { type: CKA_VALUE, value: Uint8Array.of(0x30, 0) }] },
    { ref: 'key', attributes: keyAttributes(1, false) },
    { ref: 'key2', attributes: keyAttributes(2, true) },
  ];
  async tokenInfo() {
    return { label: 'Fake', manufacturerID: 'test', model: 'fake', serialNumber: '42', hardwareVersion: { major: 1, minor: 0 }, firmwareVersion: { major: 2, minor: 0 }, minPinLen: 6, maxPinLen: 8 };
  }
  async pinState() {
    return { retriesLeft: this.tries, maxRetries: 3 };
  }
  logins: string[] = [];
  async login(user: string, pin: string) {
    this.logins.push(user);
    if (pin !== '123456') {
      this.tries--;
      throw new Pkcs11Error(CKR_PIN_INCORRECT, 'fake');
    }
    this.tries = 3;
    this.verified = true;
  }
  failLogout = false;
  async logout() {
    if (this.failLogout) throw new Pkcs11Error(CKR_DEVICE_REMOVED, 'fake');
    this.verified = false;
  }
  async objects() {
    return this.objectList;
  }
  mechanisms() {
    return new Map([
      [CKM_ECDSA_SHA256, { minKeySize: 256, maxKeySize: 256, flags: CKF_SIGN }],
      [CKM_ECDSA, { minKeySize: 256, maxKeySize: 256, flags: CKF_SIGN }],
    ]);
  }
  async sign(key: string, mechanism: Mechanism, data: Uint8Array) {
    this.signed.push({ key, mechanism, data });
    return Uint8Array.of(7, 7);
  }
  on(_event: 'removed', listener: () => void) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  async close() {}
  unplug() {
    for (const l of this.#listeners) l();
  }
}

function keyAttributes(id: number, always: boolean) {
  return [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_KEY_TYPE, value: CKK_EC }, { type: CKA_TOKEN, value: true },
    { type: CKA_PRIVATE, value: true }, { type: CKA_ID, value: Uint8Array.of(id) }, { type: CKA_SIGN, value: true },
    { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false }, { type: CKA_ALWAYS_AUTHENTICATE, value: always },
  ];
}

async function setup() {
  const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
  await p11.C_Initialize();
  const provider = new FakeProvider();
  const slot = await p11.attachToken(provider);
  return { p11, provider, slot };
}

const code = (rv: number) => ({ code: rv });

describe('attached token provider', () => {
  it('adds a slot after the software ones, with token info and PIN flags from the device', async () => {
    const { p11, provider, slot } = await setup();
    expect(slot).toBe(1);
    expect(await p11.C_GetSlotList()).toEqual([0, 1]);
    expect((await p11.C_GetSlotInfo(slot)).slotDescription).toBe('fake reader');
    const info = await p11.C_GetTokenInfo(slot);
    expect(info).toMatchObject({ label: 'Fake', serialNumber: '42', minPinLen: 6, maxPinLen: 8 });
    expect(info.flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await expect(p11.C_Login(s, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await expect(p11.C_Login(s, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    const flags = (await p11.C_GetTokenInfo(slot)).flags;
    expect(flags & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
    expect(flags & CKF_USER_PIN_FINAL_TRY).not.toBe(0);
    expect(provider.tries).toBe(1);
    expect(await p11.C_GetMechanismList(slot)).toEqual([CKM_ECDSA_SHA256, CKM_ECDSA]);
  });

  it('hides private keys until login, signs through the provider, and keeps key values sensitive', async () => {
    const { p11, provider, slot } = await setup();
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_FindObjectsInit(s, []);
    expect((await p11.C_FindObjects(s)).length).toBe(1);
    await p11.C_FindObjectsFinal(s);
    await p11.C_Login(s, CKU_USER, '123456');
    await p11.C_FindObjectsInit(s, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(1) }]);
    const [key] = await p11.C_FindObjects(s);
    await p11.C_FindObjectsFinal(s);
    await expect(p11.C_GetAttributeValue(s, key!, [{ type: CKA_VALUE }])).rejects.toMatchObject(code(CKR_ATTRIBUTE_SENSITIVE));
    await expect(p11.C_SignInit(s, { mechanism: CKM_SHA256_RSA_PKCS }, key!)).rejects.toMatchObject(code(CKR_MECHANISM_INVALID));
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, key!);
    expect(await p11.C_Sign(s, Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(7, 7));
    expect(provider.signed[0]).toMatchObject({ key: 'key', mechanism: { mechanism: CKM_ECDSA_SHA256 } });
    // Functions the device slot does not offer say so, not "invalid handle".
    await expect(p11.C_DigestInit(s, { mechanism: CKM_ECDSA_SHA256 })).rejects.toMatchObject(code(CKR_FUNCTION_NOT_SUPPORTED));
    await p11.C_Logout(s);
    expect(provider.verified).toBe(false);
  });

  it('asks for context-specific login before each use of a CKA_ALWAYS_AUTHENTICATE key', async () => {
    const { p11, slot } = await setup();
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(s, CKU_USER, '123456');
    await p11.C_FindObjectsInit(s, [{ type: CKA_ID, value: Uint8Array.of(2) }]);
    const [key] = await p11.C_FindObjects(s);
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, key!);
    await expect(p11.C_Sign(s, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, key!);
    await p11.C_Login(s, CKU_CONTEXT_SPECIFIC, '123456');
    expect(await p11.C_Sign(s, Uint8Array.of(1))).toEqual(Uint8Array.of(7, 7));
  });

  it('on unplug: the slot leaves the list, sessions answer CKR_DEVICE_REMOVED, the token is not present', async () => {
    const { p11, provider, slot } = await setup();
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    provider.unplug();
    expect(await p11.C_GetSlotList()).toEqual([0]);
    await expect(p11.C_Login(s, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_DEVICE_REMOVED));
    await expect(p11.C_GetTokenInfo(slot)).rejects.toMatchObject(code(CKR_TOKEN_NOT_PRESENT));
    await expect(p11.C_OpenSession(slot, CKF_SERIAL_SESSION)).rejects.toMatchObject(code(CKR_TOKEN_NOT_PRESENT));
    await expect(p11.C_GetSlotInfo(slot)).rejects.toMatchObject(code(CKR_SLOT_ID_INVALID));
    await p11.C_CloseSession(s);
    await expect(p11.C_GetSlotInfo(slot + 1)).rejects.toMatchObject(code(CKR_SLOT_ID_INVALID));
  });

  it('reports attach and removal through C_WaitForSlotEvent(CKF_DONT_BLOCK), once per slot', async () => {
    const { p11, provider, slot } = await setup();
    expect(await p11.C_WaitForSlotEvent(CKF_DONT_BLOCK)).toBe(slot);
    expect(await p11.C_WaitForSlotEvent(CKF_DONT_BLOCK)).toBeNull();
    provider.unplug();
    expect(await p11.C_WaitForSlotEvent(CKF_DONT_BLOCK)).toBe(slot);
    expect(await p11.C_WaitForSlotEvent(CKF_DONT_BLOCK)).toBeNull();
  });

  it('multi-part signing hands the device the parts joined; a digest mechanism stays single-part', async () => {
    const { p11, provider, slot } = await setup();
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(s, CKU_USER, '123456');
    await p11.C_FindObjectsInit(s, [{ type: CKA_ID, value: Uint8Array.of(1) }, { type: CKA_CLASS, value: CKO_PRIVATE_KEY }]);
    const [key] = await p11.C_FindObjects(s);
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, key!);
    await p11.C_SignUpdate(s, Uint8Array.of(1, 2));
    await p11.C_SignUpdate(s, Uint8Array.of(3));
    expect(await p11.C_SignFinal(s)).toEqual(Uint8Array.of(7, 7));
    expect(provider.signed.at(-1)!.data).toEqual(Uint8Array.of(1, 2, 3));
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA_SHA256 }, key!);
    await p11.C_SignUpdate(s, Uint8Array.of(1));
    await expect(p11.C_Sign(s, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_OPERATION_ACTIVE));
    await expect(p11.C_SignFinal(s)).rejects.toMatchObject(code(CKR_OPERATION_NOT_INITIALIZED));
    await p11.C_SignInit(s, { mechanism: CKM_ECDSA }, key!);
    await expect(p11.C_SignUpdate(s, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_FUNCTION_NOT_SUPPORTED));
    expect(provider.signed.length).toBe(1);
  });

  it('the SO logs in on the device: read/write sessions only, private objects stay hidden', async () => {
    const { p11, provider, slot } = await setup();
    const ro = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await expect(p11.C_Login(rw, CKU_SO, '123456')).rejects.toMatchObject(code(CKR_SESSION_READ_ONLY_EXISTS));
    await p11.C_CloseSession(ro);
    await p11.C_Login(rw, CKU_SO, '123456');
    expect(provider.logins.at(-1)).toBe('so');
    expect((await p11.C_GetSessionInfo(rw)).state).toBe(CKS_RW_SO_FUNCTIONS);
    await expect(p11.C_OpenSession(slot, CKF_SERIAL_SESSION)).rejects.toMatchObject(code(CKR_SESSION_READ_WRITE_SO_EXISTS));
    await expect(p11.C_Login(rw, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_USER_ANOTHER_ALREADY_LOGGED_IN));
    await p11.C_FindObjectsInit(rw, []);
    expect((await p11.C_FindObjects(rw)).length).toBe(1);
    await p11.C_FindObjectsFinal(rw);
    // This provider can neither generate nor store objects.
    await expect(p11.C_GenerateKeyPair(rw, { mechanism: CKM_EC_KEY_PAIR_GEN }, [], [])).rejects.toMatchObject(code(CKR_MECHANISM_INVALID));
    await expect(p11.C_CreateObject(rw, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }])).rejects.toMatchObject(code(CKR_FUNCTION_NOT_SUPPORTED));
  });

  it('closing the last session succeeds even when the device cannot hear the logout', async () => {
    const { p11, provider, slot } = await setup();
    const s = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(s, CKU_USER, '123456');
    provider.failLogout = true;
    await p11.C_CloseSession(s);
    await expect(p11.C_GetSessionInfo(s)).rejects.toMatchObject(code(CKR_SESSION_HANDLE_INVALID));
    // The login ended here all the same: a new session starts logged out.
    const again = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await expect(p11.C_Logout(again)).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
  });
});
