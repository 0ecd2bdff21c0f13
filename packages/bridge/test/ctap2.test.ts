import { CKR_ARGUMENTS_BAD, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_USER_NOT_LOGGED_IN } from '@vhsm/pkcs11';
import { describe, expect, it } from 'vitest';
import { CtapHidDevice } from '../src/index.js';
import { Ctap2Client, parseAuthData, PERMISSION_GET_ASSERTION, PERMISSION_MAKE_CREDENTIAL } from '../src/index.js';
import { EmulatedFidoDevice } from '../src/emulator/index.js';
import { decrypt, encrypt, sharedSecret } from '../src/pin-protocol.js';
import { derSignatureToRaw } from '../src/tlv.js';

const code = (rv: number) => ({ code: rv });
const rpId = 'vhsm.example';

async function client() {
  const device = new EmulatedFidoDevice();
  return { device, ctap: new Ctap2Client(await CtapHidDevice.open(device)) };
}

describe('PIN/UV auth protocol 2', () => {
  it('both sides of an ECDH agree; encryption round-trips whole blocks without padding', async () => {
    const a = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const b = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const pa = new Uint8Array(await crypto.subtle.exportKey('raw', a.publicKey));
    const pb = new Uint8Array(await crypto.subtle.exportKey('raw', b.publicKey));
    const [sa, sb] = [await sharedSecret(a.privateKey, pb), await sharedSecret(b.privateKey, pa)];
    const plaintext = crypto.getRandomValues(new Uint8Array(64));
    const sealed = await encrypt(sa, plaintext);
    expect(sealed.length).toBe(16 + 64);
    expect(await decrypt(sb, sealed)).toEqual(plaintext);
    expect(await decrypt(sb, sealed.subarray(0, 40))).toBeUndefined();
  });
});

describe('CTAP2 over CTAPHID with the emulated authenticator', () => {
  it('sets a PIN, counts wrong PINs, and hands out a PIN/UV auth token for the right one', async () => {
    const { device, ctap } = await client();
    await expect(ctap.pinToken('123456', PERMISSION_GET_ASSERTION)).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    await expect(ctap.setPin('123')).rejects.toMatchObject(code(CKR_PIN_LEN_RANGE));
    await ctap.setPin('123456');
    expect((await ctap.hid.getInfo()).options.clientPin).toBe(true);
    expect(await ctap.pinRetries()).toBe(8);
    await expect(ctap.pinToken('654321', PERMISSION_GET_ASSERTION)).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    expect(await ctap.pinRetries()).toBe(7);
    await ctap.pinToken('123456', PERMISSION_GET_ASSERTION);
    expect(device.ctap2.pinRetries).toBe(8);
  });

  it('makes an ES256 credential with hmac-secret; assertions verify and hmac-secret is the credential\'s PRF', async () => {
    const { device, ctap } = await client();
    const credential = await ctap.makeCredential({ rpId, userId: Uint8Array.of(1, 2, 3), userName: 'alice' });
    expect(credential.publicKey.length).toBe(65);
    expect(parseAuthData(credential.authData).flags & 0xc1).toBe(0xc1);

    const clientDataHash = crypto.getRandomValues(new Uint8Array(32));
    const salt = crypto.getRandomValues(new Uint8Array(32));
    const assertion = await ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, salt });
    const key = await crypto.subtle.importKey('raw', credential.publicKey.slice(), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const signed = Uint8Array.from([...assertion.authData, ...clientDataHash]);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, derSignatureToRaw(assertion.signature, 32).slice(), signed)).toBe(true);

    expect(assertion.hmacSecret).toEqual(await device.ctap2.expectedHmacSecret(credential.credentialId, salt, false));
    const again = await ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, salt });
    expect(again.hmacSecret).toEqual(assertion.hmacSecret);
    expect(parseAuthData(again.authData).signCount).toBeGreaterThan(parseAuthData(assertion.authData).signCount);
    const other = await ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, salt: crypto.getRandomValues(new Uint8Array(32)) });
    expect(other.hmacSecret).not.toEqual(assertion.hmacSecret);
    await expect(ctap.getAssertion({ rpId: 'other.example', credentialId: credential.credentialId, clientDataHash })).rejects.toMatchObject(code(CKR_ARGUMENTS_BAD));
  });

  it('with a PIN, credentials need a token, and user verification selects the other hmac-secret', async () => {
    const { device, ctap } = await client();
    await ctap.setPin('123456');
    await expect(ctap.makeCredential({ rpId, userId: Uint8Array.of(1), userName: 'bob' })).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    const mc = await ctap.pinToken('123456', PERMISSION_MAKE_CREDENTIAL, rpId);
    const credential = await ctap.makeCredential({ rpId, userId: Uint8Array.of(1), userName: 'bob', pinToken: mc });
    expect(parseAuthData(credential.authData).flags & 0x04).toBe(0x04);
    // A token for makeCredential does not authorize assertions.
    const clientDataHash = new Uint8Array(32);
    const salt = new Uint8Array(32).fill(7);
    await expect(ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, pinToken: mc })).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    const ga = await ctap.pinToken('123456', PERMISSION_GET_ASSERTION, rpId);
    const verified = await ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, salt, pinToken: ga });
    const unverified = await ctap.getAssertion({ rpId, credentialId: credential.credentialId, clientDataHash, salt });
    expect(verified.hmacSecret).toEqual(await device.ctap2.expectedHmacSecret(credential.credentialId, salt, true));
    expect(unverified.hmacSecret).toEqual(await device.ctap2.expectedHmacSecret(credential.credentialId, salt, false));
    expect(verified.hmacSecret).not.toEqual(unverified.hmacSecret);
  });
});
