// A first walk through vhsm in Node: make a token, log in, make keys, encrypt and sign, and check
// the results with Node's own WebCrypto. Run it with `pnpm example`.
import {
  Cryptoki, CKA_DECRYPT, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_LABEL,
  CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKF_RW_SESSION,
  CKF_SERIAL_SESSION, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, CKU_SO,
  CKU_USER, Pkcs11Error,
} from '@vhsm/token';

const log = (...args) => console.log('  ', ...args);
const hex = (b) => Buffer.from(b).toString('hex');
const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);

// Lower PBKDF2 cost than the default 600 000 so the example starts instantly.
const p11 = new Cryptoki({ pbkdf2Iterations: 10_000 });
await p11.C_Initialize();
const [slot] = await p11.C_GetSlotList(true);

console.log('1. Initialize the token and set PINs');
await p11.C_InitToken(slot, 'so-pin-1234', 'quickstart');
let session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
await p11.C_Login(session, CKU_SO, 'so-pin-1234');
await p11.C_InitPIN(session, 'user-pin-1234');
await p11.C_Logout(session);
await p11.C_Login(session, CKU_USER, 'user-pin-1234');
const info = await p11.C_GetTokenInfo(slot);
log(`token "${info.label}", serial ${info.serialNumber}, flags 0x${info.flags.toString(16)}`);

console.log('2. A secret AES-256 key that never leaves the token');
const aes = await p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
  { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_LABEL, value: 'data key' },
  { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
  { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false },
]);
const iv = crypto.getRandomValues(new Uint8Array(12));
await p11.C_EncryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, aes);
const ciphertext = await p11.C_Encrypt(session, new TextEncoder().encode('attack at dawn'));
log('AES-GCM ciphertext||tag', hex(ciphertext));
await p11.C_DecryptInit(session, { mechanism: CKM_AES_GCM, parameter: { iv } }, aes);
log('decrypted:', new TextDecoder().decode(await p11.C_Decrypt(session, ciphertext)));
try {
  await p11.C_GetAttributeValue(session, aes, [{ type: CKA_VALUE }]);
} catch (e) {
  if (!(e instanceof Pkcs11Error)) throw e;
  log('reading its value is refused:', e.message);
}

console.log('3. An ECDSA P-256 key pair; the signature verifies with Node\'s WebCrypto');
const { publicKey, privateKey } = await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
  [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_VERIFY, value: true }],
  [{ type: CKA_SIGN, value: true }, { type: CKA_SENSITIVE, value: true }]);
const message = new TextEncoder().encode('signed by a virtual HSM');
await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, privateKey);
const signature = await p11.C_Sign(session, message);
const [{ value: point }] = await p11.C_GetAttributeValue(session, publicKey, [{ type: CKA_EC_POINT }]);
// CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (04||x||y).
const raw = point.subarray(point.length - 65);
const verifier = await crypto.subtle.importKey('raw', raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifier, signature, message);
log('signature (r||s)', hex(signature));
log('verified by crypto.subtle:', ok);

await p11.C_Logout(session);
await p11.C_CloseSession(session);
await p11.C_Finalize();
if (!ok) process.exit(1);
