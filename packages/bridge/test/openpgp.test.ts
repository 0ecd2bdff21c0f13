import {
  CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ID, CKF_RW_SESSION, CKF_SERIAL_SESSION,
  CKF_USER_PIN_COUNT_LOW, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_USER_NOT_LOGGED_IN, CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER,
  CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_SENSITIVE, CKA_VALUE, CKD_NULL, CKK_GENERIC_SECRET, CKM_ECDH1_DERIVE,
  CKR_KEY_FUNCTION_NOT_PERMITTED,
} from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import { describe, expect, it } from 'vitest';
import { OpenPgpProvider, openUsbToken } from '../src/index.js';
import { EmulatedCcidDevice, OpenPgpCard } from '../src/emulator/index.js';

const code = (rv: number) => ({ code: rv });

async function attached(provisioned = true) {
  const card = new OpenPgpCard({ pin: '123456', adminPin: '12345678' });
  const point = provisioned ? await card.provision() : undefined;
  const provider = await openUsbToken(new EmulatedCcidDevice(card, { level: 'short' }));
  const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
  await p11.C_Initialize();
  const slot = await p11.attachToken(provider);
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
  return { card, point, provider, p11, slot, session };
}

async function find(p11: Cryptoki, session: number, objectClass: number): Promise<number[]> {
  await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: objectClass }, { type: CKA_ID, value: Uint8Array.of(1) }]);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  return found;
}

async function verify(point: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', point.slice(), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature.slice(), data.slice());
}

describe('OpenPGP card through the bridge', () => {
  it('describes the card from its AID and PW status', async () => {
    const { p11, slot, provider } = await attached();
    expect(provider).toBeInstanceOf(OpenPgpProvider);
    const info = await p11.C_GetTokenInfo(slot);
    expect(info).toMatchObject({ label: 'OpenPGP card', model: 'OpenPGP card 3.4', serialNumber: '01020304', manufacturerID: 'fffe' });
  });

  it('signs with PSO:CDS after VERIFY, one signature per PW1 (81), and the signature verifies with WebCrypto', async () => {
    const { p11, session, slot, point } = await attached();
    await expect(p11.C_Login(session, CKU_USER, '654321')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    expect((await p11.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
    await p11.C_Login(session, CKU_USER, '123456');
    const [key] = await find(p11, session, CKO_PRIVATE_KEY);
    const [pub] = await find(p11, session, CKO_PUBLIC_KEY);
    const [ecPoint] = await p11.C_GetAttributeValue(session, pub!, [{ type: CKA_EC_POINT }]);
    expect((ecPoint!.value as Uint8Array).slice(2)).toEqual(point);
    expect((await p11.C_GetAttributeValue(session, key!, [{ type: CKA_ALWAYS_AUTHENTICATE }]))[0]!.value).toBe(true);
    const data = new TextEncoder().encode('OpenPGP card signature');
    for (let i = 0; i < 2; i++) {
      await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key!);
      await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, '123456');
      const signature = await p11.C_Sign(session, data);
      expect(await verify(point!, signature, data)).toBe(true);
    }
  });

  it('authenticates with INTERNAL AUTHENTICATE (no re-login) and agrees keys with PSO:DECIPHER', async () => {
    const card = new OpenPgpCard({ pin: '123456', adminPin: '12345678' });
    await card.provision();
    const autPoint = await card.provisionKey('aut');
    const decPoint = await card.provisionKey('dec');
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card)));
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(session, CKU_USER, '123456');
    const byId = async (id: number) => {
      await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(id) }]);
      const [handle] = await p11.C_FindObjects(session);
      await p11.C_FindObjectsFinal(session);
      return handle!;
    };
    const aut = await byId(3);
    const data = new TextEncoder().encode('challenge from a server');
    for (let i = 0; i < 2; i++) {
      await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, aut);
      expect(await verify(autPoint, await p11.C_Sign(session, data), data)).toBe(true);
    }
    const dec = await byId(2);
    await expect(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, dec)).rejects.toMatchObject(code(CKR_KEY_FUNCTION_NOT_PERMITTED));
    const peer = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const peerPoint = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const cardKey = await crypto.subtle.importKey('raw', decPoint.slice(), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const expected = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: cardKey }, peer.privateKey, 256));
    const derived = await p11.C_DeriveKey(session, { mechanism: CKM_ECDH1_DERIVE, parameter: { kdf: CKD_NULL, publicData: peerPoint } }, dec,
      [{ type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }]);
    expect((await p11.C_GetAttributeValue(session, derived, [{ type: CKA_VALUE }]))[0]!.value).toEqual(expected);
  });

  it('the card itself refuses a second signature on one VERIFY', async () => {
    const { provider } = await attached();
    await provider.login('context', '123456');
    await provider.sign('sig', { mechanism: CKM_ECDSA_SHA256 }, Uint8Array.of(1));
    await expect(provider.sign('sig', { mechanism: CKM_ECDSA_SHA256 }, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
  });

  it('C_SetPIN changes PW1 (CHANGE REFERENCE DATA)', async () => {
    const { p11, slot } = await attached();
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await expect(p11.C_SetPIN(rw, '000000', 'new-pin-1')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_SetPIN(rw, '123456', 'new-pin-1');
    await expect(p11.C_Login(rw, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_Login(rw, CKU_USER, 'new-pin-1');
  });

  it('blocks PW1 after three wrong tries', async () => {
    const { p11, session } = await attached();
    for (let i = 0; i < 2; i++) await expect(p11.C_Login(session, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await expect(p11.C_Login(session, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_LOCKED));
    await expect(p11.C_Login(session, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_PIN_LOCKED));
  });

  it('a blank card lists no key until the SO (PW3) generates one', async () => {
    const { p11, slot, session } = await attached(false);
    const p256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    const generate = () => p11.C_GenerateKeyPair(rw, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: p256 }], [{ type: CKA_ID, value: Uint8Array.of(1) }]);
    await p11.C_CloseSession(session);
    await expect(generate()).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    await expect(p11.C_Login(rw, CKU_SO, '87654321')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_Login(rw, CKU_SO, '12345678');
    const { publicKey } = await generate();
    const point = ((await p11.C_GetAttributeValue(rw, publicKey, [{ type: CKA_EC_POINT }]))[0]!.value as Uint8Array).slice(2);
    await p11.C_Logout(rw);
    await p11.C_Login(rw, CKU_USER, '123456');
    const [key] = await find(p11, rw, CKO_PRIVATE_KEY);
    await p11.C_SignInit(rw, { mechanism: CKM_ECDSA_SHA256 }, key!);
    await p11.C_Login(rw, CKU_CONTEXT_SPECIFIC, '123456');
    const data = Uint8Array.of(1, 2, 3);
    expect(await verify(point, await p11.C_Sign(rw, data), data)).toBe(true);
  });

  it('lists nothing on a blank card', async () => {
    const { p11, session } = await attached(false);
    await p11.C_Login(session, CKU_USER, '123456');
    expect(await find(p11, session, CKO_PRIVATE_KEY)).toEqual([]);
    expect(await find(p11, session, CKO_PUBLIC_KEY)).toEqual([]);
  });
});
