import {
  CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_EC_POINT, CKA_ID, CKA_LABEL, CKA_VALUE, CKF_SERIAL_SESSION,
  CKF_USER_PIN_COUNT_LOW, CKM_ECDSA, CKM_ECDSA_SHA256, CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
  CKR_DEVICE_REMOVED, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_USER_NOT_LOGGED_IN,
  CKU_CONTEXT_SPECIFIC, CKU_USER,
} from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import { describe, expect, it } from 'vitest';
import { openUsbToken, PivProvider } from '../src/index.js';
import { DEFAULT_MANAGEMENT_KEY, EmulatedCcidDevice, PivCard, selfSignedCertificate } from '../src/emulator/index.js';

const code = (rv: number) => ({ code: rv });

async function attached(level: 'short' | 'extended' = 'extended') {
  const card = new PivCard({ pin: '123456' });
  const certs = { a: await card.provision(0x9a, 'vhsm PIV auth'), c: await card.provision(0x9c, 'vhsm PIV sign') };
  const device = new EmulatedCcidDevice(card, { level, timeExtensions: 1 });
  const provider = await openUsbToken(device);
  const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
  await p11.C_Initialize();
  const slot = await p11.attachToken(provider);
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
  return { card, certs, device, provider, p11, slot, session };
}

async function findOne(p11: Cryptoki, session: number, template: { type: number; value: number | Uint8Array }[]): Promise<number> {
  await p11.C_FindObjectsInit(session, template);
  const found = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  expect(found.length).toBe(1);
  return found[0]!;
}

/** Verify an r||s signature with WebCrypto, using the public key object of the same CKA_ID. */
async function verifies(p11: Cryptoki, session: number, id: number, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const pub = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_ID, value: Uint8Array.of(id) }]);
  const [point] = await p11.C_GetAttributeValue(session, pub, [{ type: CKA_EC_POINT }]);
  const raw = (point!.value as Uint8Array).slice(2); // DER OCTET STRING header 04 41
  const key = await crypto.subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature.slice(), data.slice());
}

describe.each(['extended', 'short'] as const)('PIV card through the bridge (%s APDU reader)', (level) => {
  it('logs in, finds the certificates, signs with 9A and 9C, and the signatures verify with WebCrypto', async () => {
    const { p11, slot, session, certs } = await attached(level);
    const info = await p11.C_GetTokenInfo(slot);
    expect(info.serialNumber).toBe('12345678');
    expect(info.flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
    await expect(p11.C_Login(session, CKU_USER, '654321')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    expect((await p11.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
    await p11.C_Login(session, CKU_USER, '123456');
    expect((await p11.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_COUNT_LOW).toBe(0);

    const cert = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: Uint8Array.of(1) }]);
    const [value, label] = await p11.C_GetAttributeValue(session, cert, [{ type: CKA_VALUE }, { type: CKA_LABEL }]);
    expect(value!.value).toEqual(certs.a);
    expect(label!.value).toBe('Certificate for PIV Authentication');

    const data = new TextEncoder().encode('sign me on the card');
    const key9a = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(1) }]);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key9a);
    const sig9a = await p11.C_Sign(session, data);
    expect(sig9a.length).toBe(64);
    expect(await verifies(p11, session, 1, data, sig9a)).toBe(true);
    expect(await verifies(p11, session, 1, Uint8Array.of(1), sig9a)).toBe(false);

    // CKM_ECDSA: the caller hashes.
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA }, key9a);
    const sigRaw = await p11.C_Sign(session, new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
    expect(await verifies(p11, session, 1, data, sigRaw)).toBe(true);

    const key9c = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(2) }]);
    const [always] = await p11.C_GetAttributeValue(session, key9c, [{ type: CKA_ALWAYS_AUTHENTICATE }]);
    expect(always!.value).toBe(true);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key9c);
    await expect(p11.C_Sign(session, data)).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key9c);
    await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, '123456');
    const sig9c = await p11.C_Sign(session, data);
    expect(await verifies(p11, session, 2, data, sig9c)).toBe(true);
  });
});

describe('PIV PIN and card state', () => {
  it('rejects PINs of the wrong length without spending a try, and reports a blocked PIN', async () => {
    const { p11, session, provider } = await attached();
    await expect(p11.C_Login(session, CKU_USER, '12345')).rejects.toMatchObject(code(CKR_PIN_LEN_RANGE));
    expect((await provider.pinState()).retriesLeft).toBe(3);
    for (let i = 0; i < 2; i++) await expect(p11.C_Login(session, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await expect(p11.C_Login(session, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_LOCKED));
    await expect(p11.C_Login(session, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_PIN_LOCKED));
  });

  it('the card refuses to sign before VERIFY even if asked directly', async () => {
    const { provider } = await attached();
    await expect(provider.sign('9a', { mechanism: CKM_ECDSA_SHA256 }, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
  });

  it('generates a key on the card and stores its certificate after management-key authentication', async () => {
    const { p11, session, provider } = await attached();
    expect(provider).toBeInstanceOf(PivProvider);
    const piv = provider as PivProvider;
    await expect(piv.generateKeyPair('9e')).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    await expect(piv.authenticateManagementKey(new Uint8Array(16))).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await piv.authenticateManagementKey(DEFAULT_MANAGEMENT_KEY);
    const pub = await piv.generateKeyPair('9e');
    const point = pub.attributes.find((a) => a.type === CKA_EC_POINT)!.value as Uint8Array;
    expect(point.length).toBe(67);
    // A certificate for the new key (signed here by a stand-in key: the card only stores it).
    const stand = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const der = await selfSignedCertificate(stand, 'x'.repeat(300), Uint8Array.of(9));
    await piv.writeCertificate('9e', der);
    // 9E is usable without the PIN, and its certificate is now listed.
    const cert = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: Uint8Array.of(4) }]);
    expect((await p11.C_GetAttributeValue(session, cert, [{ type: CKA_VALUE }]))[0]!.value).toEqual(der);
    const key = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(4) }]);
    await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key);
    const signature = await p11.C_Sign(session, Uint8Array.of(1, 2));
    const verifyKey = await crypto.subtle.importKey('raw', point.slice(2), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, signature.slice(), Uint8Array.of(1, 2))).toBe(true);
  });
});

describe('removal', () => {
  it('unplugging the reader removes the slot; its sessions answer CKR_DEVICE_REMOVED', async () => {
    const { p11, slot, session, device } = await attached();
    device.disconnect();
    await new Promise((r) => setTimeout(r, 0));
    expect(await p11.C_GetSlotList()).not.toContain(slot);
    await expect(p11.C_Login(session, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_DEVICE_REMOVED));
    await p11.C_CloseSession(session);
  });

  it('pulling the card out of the reader (slot-change notice) removes the slot', async () => {
    const { p11, slot, device } = await attached();
    device.remove();
    await new Promise((r) => setTimeout(r, 0));
    expect(await p11.C_GetSlotList()).not.toContain(slot);
  });

  it('a transfer that finds the device gone removes the slot even without a notice', async () => {
    const { p11, slot, session, provider } = await attached();
    // Stop the interrupt watcher's view: only the failed transfer tells.
    provider.reader.device.transferOut = async () => {
      throw Object.assign(new Error('gone'), { name: 'NotFoundError' });
    };
    await expect(p11.C_Login(session, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_DEVICE_REMOVED));
    expect(await p11.C_GetSlotList()).not.toContain(slot);
  });
});
