import {
  CKA_CLASS, CKA_EC_POINT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE, CKA_VALUE,
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_COUNT_LOW, CKK_GENERIC_SECRET, CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA_SHA256, CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKR_DEVICE_REMOVED, CKR_MECHANISM_INVALID,
  CKR_MECHANISM_PARAM_INVALID, CKR_PIN_INCORRECT, CKR_TEMPLATE_INCOMPLETE, CKU_USER,
} from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import { describe, expect, it } from 'vitest';
import { CKM_VHSM_FIDO_HMAC_SECRET, Ctap2Client, CtapHidDevice, openHidToken } from '../src/index.js';
import { EmulatedFidoDevice } from '../src/emulator/index.js';

const code = (rv: number) => ({ code: rv });
const rpId = 'vault.vhsm.example';

async function attached() {
  const device = new EmulatedFidoDevice();
  // The owner set the key's PIN beforehand (any FIDO client can).
  await new Ctap2Client(await CtapHidDevice.open(device)).setPin('4321');
  const provider = await openHidToken(device);
  const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
  await p11.C_Initialize();
  const slot = await p11.attachToken(provider);
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  return { device, provider, p11, slot, session };
}

describe('FIDO2 key as a token provider', () => {
  it('describes the key from getInfo and its PIN retries', async () => {
    const { p11, slot, session } = await attached();
    const info = await p11.C_GetTokenInfo(slot);
    expect(info).toMatchObject({ label: 'FIDO2 security key', model: 'FIDO_2_1', minPinLen: 4, maxPinLen: 63 });
    await expect(p11.C_Login(session, CKU_USER, '0000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    expect((await p11.C_GetTokenInfo(slot)).flags & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
  });

  it('makes a credential with C_GenerateKeyPair and derives its hmac-secret with C_DeriveKey', async () => {
    const { device, p11, session } = await attached();
    await p11.C_Login(session, CKU_USER, '4321');
    await expect(p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [], [])).rejects.toMatchObject(code(CKR_TEMPLATE_INCOMPLETE));
    const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN }, [], [{ type: CKA_LABEL, value: rpId }]);
    const [id] = await p11.C_GetAttributeValue(session, privateKey, [{ type: CKA_ID }]);
    const credentialId = id!.value as Uint8Array;
    expect(credentialId.length).toBe(32);
    expect(((await p11.C_GetAttributeValue(session, publicKey, [{ type: CKA_EC_POINT }]))[0]!.value as Uint8Array).length).toBe(67);

    const salt = crypto.getRandomValues(new Uint8Array(32));
    const template = [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }];
    const secret = await p11.C_DeriveKey(session, { mechanism: CKM_VHSM_FIDO_HMAC_SECRET, parameter: salt }, privateKey, template);
    const value = (await p11.C_GetAttributeValue(session, secret, [{ type: CKA_VALUE }]))[0]!.value;
    // Logged in with the PIN, so the authenticator used its user-verified credential key.
    expect(value).toEqual(await device.ctap2.expectedHmacSecret(credentialId, salt, true));
    const again = await p11.C_DeriveKey(session, { mechanism: CKM_VHSM_FIDO_HMAC_SECRET, parameter: salt }, privateKey, template);
    expect((await p11.C_GetAttributeValue(session, again, [{ type: CKA_VALUE }]))[0]!.value).toEqual(value);

    await expect(p11.C_DeriveKey(session, { mechanism: CKM_VHSM_FIDO_HMAC_SECRET, parameter: salt.subarray(1) }, privateKey, template))
      .rejects.toMatchObject(code(CKR_MECHANISM_PARAM_INVALID));
    // No signing mechanism is offered: FIDO cannot sign caller data.
    await expect(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey)).rejects.toMatchObject(code(CKR_MECHANISM_INVALID));
  });

  it('credentials made elsewhere can be registered; unplugging removes the slot', async () => {
    const device = new EmulatedFidoDevice();
    const made = await new Ctap2Client(await CtapHidDevice.open(device)).makeCredential({ rpId, userId: Uint8Array.of(9), userName: 'carol' });
    const provider = await openHidToken(device);
    provider.addCredential({ credentialId: made.credentialId, rpId, publicKey: made.publicKey });
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(provider);
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    // No PIN on this key: its credentials are public objects.
    await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }]);
    const [key] = await p11.C_FindObjects(session);
    await p11.C_FindObjectsFinal(session);
    const salt = new Uint8Array(32).fill(1);
    // Nobody can log in to this key, so the derived key must be a public session object to be seen.
    const secret = await p11.C_DeriveKey(session, { mechanism: CKM_VHSM_FIDO_HMAC_SECRET, parameter: salt }, key!,
      [{ type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_PRIVATE, value: false }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }]);
    expect((await p11.C_GetAttributeValue(session, secret, [{ type: CKA_VALUE }]))[0]!.value).toEqual(await device.ctap2.expectedHmacSecret(made.credentialId, salt, false));
    provider.markRemoved();
    expect(await p11.C_GetSlotList()).not.toContain(slot);
    await expect(p11.C_DeriveKey(session, { mechanism: CKM_VHSM_FIDO_HMAC_SECRET, parameter: salt }, key!, [{ type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }]))
      .rejects.toMatchObject(code(CKR_DEVICE_REMOVED));
  });
});
