import {
  CKA_ALWAYS_AUTHENTICATE, CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ID, CKA_LABEL, CKA_SIGN, CKA_VALUE,
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_USER_PIN_COUNT_LOW, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256,
  CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED,
  CKR_DEVICE_REMOVED, CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_SESSION_READ_ONLY_EXISTS,
  CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_TEMPLATE_INCOMPLETE, CKR_USER_NOT_LOGGED_IN, CKS_RW_SO_FUNCTIONS,
  CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER, CKA_KEY_TYPE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT, CKK_RSA,
  CKM_RSA_PKCS, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_SHA256_RSA_PKCS, CKR_DATA_LEN_RANGE, CKR_KEY_TYPE_INCONSISTENT,
  CKA_EXTRACTABLE, CKA_SENSITIVE, CKA_TOKEN, CKA_VALUE_LEN, CKD_NULL, CKD_SHA1_KDF, CKK_AES, CKK_GENERIC_SECRET,
  CKM_ECDH1_DERIVE, CKO_SECRET_KEY, CKR_ACTION_PROHIBITED, CKR_ATTRIBUTE_SENSITIVE, CKR_KEY_FUNCTION_NOT_PERMITTED,
  CKR_MECHANISM_PARAM_INVALID, CKR_OBJECT_HANDLE_INVALID, CKR_TEMPLATE_INCONSISTENT, CKG_MGF1_SHA256, CKM_RSA_PKCS_OAEP,
  CKM_RSA_PKCS_PSS, CKM_SHA256, CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384, CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKZ_DATA_SPECIFIED, CKR_SESSION_READ_ONLY,
} from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import { describe, expect, it } from 'vitest';
import { openUsbToken } from '../src/index.js';
import { DEFAULT_MANAGEMENT_KEY, EmulatedCcidDevice, PivCard, selfSignedCertificate } from '../src/emulator/index.js';

const code = (rv: number) => ({ code: rv });
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

async function attached(level: 'short' | 'extended' | 'tpdu' = 'extended') {
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

describe.each(['extended', 'short', 'tpdu'] as const)('PIV card through the bridge (%s APDU reader)', (level) => {
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

describe.each(['extended', 'short', 'tpdu'] as const)('PIV RSA-2048 through the bridge (%s APDU reader)', (level) => {
  it('signs with PKCS#1 v1.5 (padding made on the host) and the signature verifies with WebCrypto', async () => {
    const card = new PivCard({ pin: '123456' });
    await card.provision(0x9e, 'vhsm PIV RSA card auth', 'rsa2048');
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card, { level })));
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    // 9E needs no PIN.
    const key = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(4) }]);
    const [keyType, modulus, exponent, bits] = await p11.C_GetAttributeValue(session, key,
      [{ type: CKA_KEY_TYPE }, { type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }, { type: CKA_MODULUS_BITS }]);
    expect(keyType!.value).toBe(CKK_RSA);
    expect(bits!.value).toBe(2048);
    const b64url = (v: unknown) => Buffer.from(v as Uint8Array).toString('base64url');
    const verifyKey = await crypto.subtle.importKey('jwk', { kty: 'RSA', n: b64url(modulus!.value), e: b64url(exponent!.value) },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
    const data = new TextEncoder().encode('RSA on the card');
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS }, key);
    const signature = await p11.C_Sign(session, data);
    expect(signature.length).toBe(256);
    expect(await crypto.subtle.verify('RSASSA-PKCS1-v1_5', verifyKey, signature.slice(), data)).toBe(true);
    // CKM_RSA_PKCS over the caller's DigestInfo gives the same (deterministic) signature.
    const digestInfo = Uint8Array.from([...Buffer.from('3031300d060960864801650304020105000420', 'hex'), ...new Uint8Array(await crypto.subtle.digest('SHA-256', data))]);
    await p11.C_SignInit(session, { mechanism: CKM_RSA_PKCS }, key);
    expect(await p11.C_Sign(session, digestInfo)).toEqual(signature);
    await p11.C_SignInit(session, { mechanism: CKM_RSA_PKCS }, key);
    await expect(p11.C_Sign(session, new Uint8Array(246))).rejects.toMatchObject(code(CKR_DATA_LEN_RANGE));
    await expect(p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key)).rejects.toMatchObject(code(CKR_KEY_TYPE_INCONSISTENT));
  });
});

describe('PIV RSA-PSS and decryption', () => {
  async function rsaCard() {
    const card = new PivCard({ pin: '123456' });
    await card.provision(0x9d, 'key management', 'rsa2048');
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card, { level: 'short' })));
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(session, CKU_USER, '123456');
    const key = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(3) }]);
    const [n, e] = await p11.C_GetAttributeValue(session, key, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    const jwk = { kty: 'RSA', n: Buffer.from(n!.value as Uint8Array).toString('base64url'), e: Buffer.from(e!.value as Uint8Array).toString('base64url') };
    return { p11, session, key, jwk, n: n!.value as Uint8Array, e: e!.value as Uint8Array };
  }

  it('decrypts OAEP (with a label) and PKCS#1 v1.5 with the 9D key; a bad block is CKR_ENCRYPTED_DATA_INVALID', async () => {
    const { p11, session, key, jwk, n, e } = await rsaCard();
    const oaepKey = await crypto.subtle.importKey('jwk', jwk, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt']);
    const label = new TextEncoder().encode('label');
    const message = new TextEncoder().encode('a secret for the card');
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP', label }, oaepKey, message));
    const oaep = { mechanism: CKM_RSA_PKCS_OAEP, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, source: CKZ_DATA_SPECIFIED, sourceData: label } };
    await p11.C_DecryptInit(session, oaep, key);
    expect(await p11.C_Decrypt(session, ciphertext)).toEqual(message);
    await p11.C_DecryptInit(session, { ...oaep, parameter: { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256 } }, key);
    await expect(p11.C_Decrypt(session, ciphertext)).rejects.toMatchObject(code(CKR_ENCRYPTED_DATA_INVALID));

    // PKCS#1 v1.5: WebCrypto cannot encrypt it, so the block is made and raised to e here.
    const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
    const encryptRaw = (block: Uint8Array) => {
      let result = 1n;
      const modulus = big(n);
      let base = big(block) % modulus;
      for (let x = big(e); x > 0n; x >>= 1n) {
        if (x & 1n) result = (result * base) % modulus;
        base = (base * base) % modulus;
      }
      return Uint8Array.from(Buffer.from(result.toString(16).padStart(512, '0'), 'hex'));
    };
    const ps = Uint8Array.from({ length: 256 - 3 - message.length }, (_, i) => (i % 255) + 1);
    await p11.C_DecryptInit(session, { mechanism: CKM_RSA_PKCS }, key);
    expect(await p11.C_Decrypt(session, encryptRaw(Uint8Array.from([0, 2, ...ps, 0, ...message])))).toEqual(message);
    await p11.C_DecryptInit(session, { mechanism: CKM_RSA_PKCS }, key);
    await expect(p11.C_Decrypt(session, encryptRaw(Uint8Array.from([0, 1, ...ps, 0, ...message])))).rejects.toMatchObject(code(CKR_ENCRYPTED_DATA_INVALID));
    await p11.C_DecryptInit(session, { mechanism: CKM_RSA_PKCS }, key);
    await expect(p11.C_Decrypt(session, new Uint8Array(100))).rejects.toMatchObject(code(CKR_ENCRYPTED_DATA_LEN_RANGE));
  });

  it('signs RSA-PSS (encoding made here) and WebCrypto verifies it', async () => {
    const card = new PivCard({ pin: '123456' });
    await card.provision(0x9a, 'auth', 'rsa2048');
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card)));
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(session, CKU_USER, '123456');
    const key = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(1) }]);
    const [n, e] = await p11.C_GetAttributeValue(session, key, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    const jwk = { kty: 'RSA', n: Buffer.from(n!.value as Uint8Array).toString('base64url'), e: Buffer.from(e!.value as Uint8Array).toString('base64url') };
    const verifyKey = await crypto.subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    const data = new TextEncoder().encode('PSS on the card');
    const params = { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, saltLen: 32 };
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: params }, key);
    const signature = await p11.C_Sign(session, data);
    expect(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, verifyKey, signature.slice(), data)).toBe(true);
    // CKM_RSA_PKCS_PSS: the caller hashes.
    await p11.C_SignInit(session, { mechanism: CKM_RSA_PKCS_PSS, parameter: params }, key);
    const onHash = await p11.C_Sign(session, new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
    expect(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, verifyKey, onHash.slice(), data)).toBe(true);
    await p11.C_SignInit(session, { mechanism: CKM_SHA256_RSA_PKCS_PSS, parameter: { ...params, hashAlg: CKM_SHA384 } }, key);
    await expect(p11.C_Sign(session, data)).rejects.toMatchObject(code(CKR_MECHANISM_PARAM_INVALID));
  });
});

describe('PIV key agreement', () => {
  it('ECDH with the 9D key gives the shared secret WebCrypto computes; derived keys are session objects', async () => {
    const card = new PivCard({ pin: '123456' });
    await card.provision(0x9a, 'auth');
    await card.provision(0x9d, 'key management');
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card)));
    const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await p11.C_Login(session, CKU_USER, '123456');
    const key9d = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(3) }]);
    const pub9d = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_ID, value: Uint8Array.of(3) }]);
    const cardPoint = ((await p11.C_GetAttributeValue(session, pub9d, [{ type: CKA_EC_POINT }]))[0]!.value as Uint8Array).slice(2);
    const peer = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const peerPoint = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const cardPublic = await crypto.subtle.importKey('raw', cardPoint, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const expected = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: cardPublic }, peer.privateKey, 256));
    const ecdh = (publicData: Uint8Array, kdf = CKD_NULL) => ({ mechanism: CKM_ECDH1_DERIVE, parameter: { kdf, publicData } });
    const readable = [{ type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_SENSITIVE, value: false }, { type: CKA_EXTRACTABLE, value: true }];

    const derived = await p11.C_DeriveKey(session, ecdh(peerPoint), key9d, readable);
    expect((await p11.C_GetAttributeValue(session, derived, [{ type: CKA_VALUE }]))[0]!.value).toEqual(expected);
    // The peer point wrapped in a DER OCTET STRING works the same.
    const wrapped = await p11.C_DeriveKey(session, ecdh(Uint8Array.of(0x04, 0x41, ...peerPoint)), key9d, readable);
    expect((await p11.C_GetAttributeValue(session, wrapped, [{ type: CKA_VALUE }]))[0]!.value).toEqual(expected);
    // By default the derived key is sensitive; an AES key takes CKA_VALUE_LEN bytes of the secret.
    const aes = await p11.C_DeriveKey(session, ecdh(peerPoint), key9d, [{ type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE_LEN, value: 16 }]);
    await expect(p11.C_GetAttributeValue(session, aes, [{ type: CKA_VALUE }])).rejects.toMatchObject(code(CKR_ATTRIBUTE_SENSITIVE));
    expect((await p11.C_GetAttributeValue(session, aes, [{ type: CKA_VALUE_LEN }]))[0]!.value).toBe(16);

    await expect(p11.C_DeriveKey(session, ecdh(peerPoint, CKD_SHA1_KDF), key9d, readable)).rejects.toMatchObject(code(CKR_MECHANISM_PARAM_INVALID));
    await expect(p11.C_DeriveKey(session, ecdh(peerPoint.subarray(1)), key9d, readable)).rejects.toMatchObject(code(CKR_MECHANISM_PARAM_INVALID));
    const key9a = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(1) }]);
    await expect(p11.C_DeriveKey(session, ecdh(peerPoint), key9a, readable)).rejects.toMatchObject(code(CKR_KEY_FUNCTION_NOT_PERMITTED));
    await expect(p11.C_DeriveKey(session, ecdh(peerPoint), key9d, [{ type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET }, { type: CKA_TOKEN, value: true }]))
      .rejects.toMatchObject(code(CKR_TEMPLATE_INCONSISTENT));

    await expect(p11.C_DestroyObject(session, key9d)).rejects.toMatchObject(code(CKR_ACTION_PROHIBITED));
    await p11.C_DestroyObject(session, derived);
    await expect(p11.C_GetAttributeValue(session, derived, [{ type: CKA_VALUE }])).rejects.toMatchObject(code(CKR_OBJECT_HANDLE_INVALID));
    // Closing the session ends its derived keys.
    await p11.C_CloseSession(session);
    const again = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
    await expect(p11.C_GetAttributeValue(again, wrapped, [{ type: CKA_VALUE_LEN }])).rejects.toMatchObject(code(CKR_OBJECT_HANDLE_INVALID));
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

  it('C_SetPIN changes the card PIN (CHANGE REFERENCE DATA) in a read/write session', async () => {
    const { p11, slot, session } = await attached();
    await expect(p11.C_SetPIN(session, '123456', '24681357')).rejects.toMatchObject(code(CKR_SESSION_READ_ONLY));
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await expect(p11.C_SetPIN(rw, '999999', '24681357')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await expect(p11.C_SetPIN(rw, '123456', '12345')).rejects.toMatchObject(code(CKR_PIN_LEN_RANGE));
    await p11.C_SetPIN(rw, '123456', '24681357');
    await expect(p11.C_Login(rw, CKU_USER, '123456')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_Login(rw, CKU_USER, '24681357');
  });

  it('the card refuses to sign before VERIFY even if asked directly', async () => {
    const { provider } = await attached();
    await expect(provider.sign('9a', { mechanism: CKM_ECDSA_SHA256 }, Uint8Array.of(1))).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
  });

  it('the SO (management key) generates a P-256 key in 9E and stores its certificate; the user signs with it in parts', async () => {
    const { p11, slot, session } = await attached();
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    const p256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
    const generate = (id: number | undefined, params = p256) => p11.C_GenerateKeyPair(rw, { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: params }, ...(id === undefined ? [] : [{ type: CKA_ID, value: Uint8Array.of(id) }])], [{ type: CKA_SIGN, value: true }]);
    // The card itself refuses GENERATE before the management key.
    await expect(generate(4)).rejects.toMatchObject(code(CKR_USER_NOT_LOGGED_IN));
    // A read-only session stands in the way of the SO, as on any token.
    await expect(p11.C_Login(rw, CKU_SO, hex(DEFAULT_MANAGEMENT_KEY))).rejects.toMatchObject(code(CKR_SESSION_READ_ONLY_EXISTS));
    await p11.C_CloseSession(session);
    await expect(p11.C_Login(rw, CKU_SO, 'not hex')).rejects.toMatchObject(code(CKR_PIN_LEN_RANGE));
    await expect(p11.C_Login(rw, CKU_SO, '00'.repeat(16))).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_Login(rw, CKU_SO, hex(DEFAULT_MANAGEMENT_KEY));
    expect((await p11.C_GetSessionInfo(rw)).state).toBe(CKS_RW_SO_FUNCTIONS);
    await expect(p11.C_OpenSession(slot, CKF_SERIAL_SESSION)).rejects.toMatchObject(code(CKR_SESSION_READ_WRITE_SO_EXISTS));
    await expect(generate(undefined)).rejects.toMatchObject(code(CKR_TEMPLATE_INCOMPLETE));
    await expect(generate(9)).rejects.toMatchObject(code(CKR_ATTRIBUTE_VALUE_INVALID));
    await expect(generate(4, Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22))).rejects.toMatchObject(code(CKR_CURVE_NOT_SUPPORTED));
    const pair = await generate(4);
    const [ecPoint] = await p11.C_GetAttributeValue(rw, pair.publicKey, [{ type: CKA_EC_POINT }]);
    const point = (ecPoint!.value as Uint8Array).slice(2);
    expect(point.length).toBe(65);
    // A certificate for the new key (signed here by a stand-in key: the card only stores it), long
    // enough to need GET RESPONSE when read back.
    const stand = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const der = await selfSignedCertificate(stand, 'x'.repeat(300), Uint8Array.of(9));
    await expect(p11.C_CreateObject(rw, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: Uint8Array.of(4) }, { type: CKA_VALUE, value: Uint8Array.of(1, 2) }]))
      .rejects.toMatchObject(code(CKR_ATTRIBUTE_VALUE_INVALID));
    const cert = await p11.C_CreateObject(rw, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, { type: CKA_ID, value: Uint8Array.of(4) }, { type: CKA_VALUE, value: der }]);
    expect((await p11.C_GetAttributeValue(rw, cert, [{ type: CKA_VALUE }]))[0]!.value).toEqual(der);
    await p11.C_Logout(rw);
    await p11.C_Login(rw, CKU_USER, '123456');
    const key = await findOne(p11, rw, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_ID, value: Uint8Array.of(4) }]);
    await p11.C_SignInit(rw, { mechanism: CKM_ECDSA_SHA256 }, key);
    await p11.C_SignUpdate(rw, Uint8Array.of(1, 2));
    await p11.C_SignUpdate(rw, Uint8Array.of(3));
    const signature = await p11.C_SignFinal(rw);
    const verifyKey = await crypto.subtle.importKey('raw', point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifyKey, signature.slice(), Uint8Array.of(1, 2, 3))).toBe(true);
  });

  it.each([['3des', 24], ['aes192', 24], ['aes256', 32]] as const)('the SO logs in with a %s management key', async (algorithm, length) => {
    // YubiKey's factory key (01..08 three times) for the 24-byte cases.
    const managementKey = Uint8Array.from({ length }, (_, i) => (i % 8) + 1);
    const card = new PivCard({ managementAlgorithm: algorithm, managementKey });
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const slot = await p11.attachToken(await openUsbToken(new EmulatedCcidDevice(card)));
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    const wrong = Uint8Array.from(managementKey, (b) => b ^ 0xff);
    await expect(p11.C_Login(rw, CKU_SO, hex(wrong))).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    await p11.C_Login(rw, CKU_SO, hex(managementKey));
    const p256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
    const { publicKey } = await p11.C_GenerateKeyPair(rw, { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: p256 }, { type: CKA_ID, value: Uint8Array.of(1) }], []);
    expect(((await p11.C_GetAttributeValue(rw, publicKey, [{ type: CKA_EC_POINT }]))[0]!.value as Uint8Array).length).toBe(67);
  });

  it('a key generated without a certificate is still found after reconnecting (YubiKey GET METADATA)', async () => {
    const card = new PivCard({ pin: '123456' });
    const device = new EmulatedCcidDevice(card);
    const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
    await p11.C_Initialize();
    const first = await p11.attachToken(await openUsbToken(device));
    const rw = await p11.C_OpenSession(first, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await p11.C_Login(rw, CKU_SO, hex(DEFAULT_MANAGEMENT_KEY));
    const p256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
    const { publicKey } = await p11.C_GenerateKeyPair(rw, { mechanism: CKM_EC_KEY_PAIR_GEN }, [{ type: CKA_EC_PARAMS, value: p256 }, { type: CKA_ID, value: Uint8Array.of(2) }], []);
    const point = (await p11.C_GetAttributeValue(rw, publicKey, [{ type: CKA_EC_POINT }]))[0]!.value;
    // A new connection knows nothing of the generation: the card's metadata tells.
    const second = await p11.attachToken(await openUsbToken(device));
    const session = await p11.C_OpenSession(second, CKF_SERIAL_SESSION);
    const found = await findOne(p11, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, { type: CKA_ID, value: Uint8Array.of(2) }]);
    expect((await p11.C_GetAttributeValue(session, found, [{ type: CKA_EC_POINT }]))[0]!.value).toEqual(point);
    // The PIN counters come from the metadata as well, whether the PIN is verified or not.
    await expect(p11.C_Login(session, CKU_USER, '000000')).rejects.toMatchObject(code(CKR_PIN_INCORRECT));
    expect((await p11.C_GetTokenInfo(second)).flags & CKF_USER_PIN_COUNT_LOW).not.toBe(0);
    await p11.C_Login(session, CKU_USER, '123456');
    expect((await p11.C_GetTokenInfo(second)).flags & CKF_USER_PIN_COUNT_LOW).toBe(0);
  });

  it('the SO generates an RSA-2048 key in 9D; the card refuses other sizes', async () => {
    const { p11, slot, session } = await attached();
    await p11.C_CloseSession(session);
    const rw = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    await p11.C_Login(rw, CKU_SO, hex(DEFAULT_MANAGEMENT_KEY));
    const generate = (bits: number) => p11.C_GenerateKeyPair(rw, { mechanism: CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: CKA_MODULUS_BITS, value: bits }, { type: CKA_ID, value: Uint8Array.of(3) }], []);
    await expect(generate(1024)).rejects.toMatchObject(code(CKR_ATTRIBUTE_VALUE_INVALID));
    const { publicKey } = await generate(2048);
    const [modulus, exponent] = await p11.C_GetAttributeValue(rw, publicKey, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
    expect((modulus!.value as Uint8Array).length).toBe(256);
    expect(exponent!.value).toEqual(Uint8Array.of(1, 0, 1));
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
