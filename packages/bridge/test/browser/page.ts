/**
 * The bridge in a real page: the emulated CCID reader and PIV card injected as the USBDevice, and
 * the WebAuthn PRF unlock against Chromium's virtual authenticator (set up by the test over CDP).
 */
import {
  CKA_CLASS, CKA_EC_POINT, CKA_ID, CKA_VALUE, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_ECDSA_SHA256,
  CKO_CERTIFICATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKU_CONTEXT_SPECIFIC, CKU_SO, CKU_USER, Cryptoki, Pkcs11Error,
  CKA_EC_PARAMS, CKA_PRIVATE, CKA_SIGN, CKA_TOKEN, CKA_VERIFY, CKF_USER_PIN_COUNT_LOW, CKM_EC_KEY_PAIR_GEN, MemoryStore,
} from '@vhsm/token';
import { EmulatedCcidDevice, PivCard } from '../../src/emulator/index.js';
import { enrollPrf, hardwareSupport, openUsbToken, prfEnrollmentOf, prfFactor, prfPin, prfSecret } from '../../src/index.js';

/** DER OID of P-256, as CKA_EC_PARAMS carries it. */
const P256 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);

async function findOne(p11: Cryptoki, session: number, objectClass: number, id: number): Promise<number> {
  await p11.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: objectClass }, { type: CKA_ID, value: Uint8Array.of(id) }]);
  const [handle] = await p11.C_FindObjects(session);
  await p11.C_FindObjectsFinal(session);
  if (handle === undefined) throw new Error(`no object of class ${objectClass} with id ${id}`);
  return handle;
}

async function signAndVerify(p11: Cryptoki, session: number, id: number, contextPin?: string): Promise<boolean> {
  const data = new TextEncoder().encode(`signed in the browser with id ${id}`);
  await p11.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, await findOne(p11, session, CKO_PRIVATE_KEY, id));
  if (contextPin) await p11.C_Login(session, CKU_CONTEXT_SPECIFIC, contextPin);
  const signature = await p11.C_Sign(session, data);
  const [point] = await p11.C_GetAttributeValue(session, await findOne(p11, session, CKO_PUBLIC_KEY, id), [{ type: CKA_EC_POINT }]);
  const key = await crypto.subtle.importKey('raw', (point!.value as Uint8Array).slice(2), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature.slice(), data);
}

async function cardFlow() {
  const card = new PivCard({ pin: '123456' });
  const certificate = await card.provision(0x9a, 'browser PIV auth');
  await card.provision(0x9c, 'browser PIV sign');
  const device = new EmulatedCcidDevice(card, { level: 'short' });
  const p11 = new Cryptoki({ pbkdf2Iterations: 1 });
  await p11.C_Initialize();
  const slot = await p11.attachToken(await openUsbToken(device));
  const session = await p11.C_OpenSession(slot, CKF_SERIAL_SESSION);
  await p11.C_Login(session, CKU_USER, '123456');
  const [value] = await p11.C_GetAttributeValue(session, await findOne(p11, session, CKO_CERTIFICATE, 1), [{ type: CKA_VALUE }]);
  const sameCertificate = (value!.value as Uint8Array).every((b, i) => b === certificate[i]) && (value!.value as Uint8Array).length === certificate.length;
  const verified9a = await signAndVerify(p11, session, 1);
  const verified9c = await signAndVerify(p11, session, 2, '123456');
  device.disconnect();
  await new Promise((r) => setTimeout(r, 0));
  return { slot, sameCertificate, verified9a, verified9c, slotsAfterUnplug: await p11.C_GetSlotList() };
}

/** The code of a Pkcs11Error's CK_RV by name, or what else was thrown. */
async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'accepted';
  } catch (e) {
    return e instanceof Pkcs11Error ? e.message.split(':')[0]! : 'not a Pkcs11Error';
  }
}

async function prfFlow() {
  const enrollment = await enrollPrf({ user: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'alice', displayName: 'Alice' } });
  const first = await prfSecret(enrollment);
  const again = await prfSecret(enrollment);
  const otherSalt = await prfSecret({ ...enrollment, salt: crypto.getRandomValues(new Uint8Array(32)) });
  // A token with a user PIN and a signing key; the security key enrolled beside the PIN.
  const store = new MemoryStore();
  const p11 = new Cryptoki({ store, pbkdf2Iterations: 1000 });
  await p11.C_Initialize();
  await p11.C_InitToken(0, 'so-pin-1234', 'prf token');
  const session = await p11.C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await p11.C_Login(session, CKU_SO, 'so-pin-1234');
  await p11.C_InitPIN(session, 'user-pin-1');
  await p11.C_Logout(session);
  await p11.C_Login(session, CKU_USER, 'user-pin-1');
  await p11.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
    [{ type: CKA_TOKEN, value: true }, { type: CKA_EC_PARAMS, value: P256 }, { type: CKA_ID, value: Uint8Array.of(7) }, { type: CKA_VERIFY, value: true }],
    [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_ID, value: Uint8Array.of(7) }, { type: CKA_SIGN, value: true }]);
  await p11.enrollUserFactor(session, prfFactor(enrollment, first));
  await p11.C_Logout(session);
  await p11.C_CloseSession(session);
  // A reload: a new engine over the same records, which knows the credential only from the token.
  const reloaded = new Cryptoki({ store, pbkdf2Iterations: 1000 });
  await reloaded.C_Initialize();
  const [listed] = await reloaded.listUserFactors(0);
  const stored = prfEnrollmentOf(listed!);
  const s = await reloaded.C_OpenSession(0, CKF_SERIAL_SESSION);
  const wrongSecretRefused = await refusal(reloaded.C_Login(s, CKU_USER, prfPin(stored, otherSalt)));
  const countedLow = ((await reloaded.C_GetTokenInfo(0)).flags & CKF_USER_PIN_COUNT_LOW) !== 0;
  await reloaded.C_Login(s, CKU_USER, prfPin(stored, await prfSecret(stored)));
  const state = (await reloaded.C_GetSessionInfo(s)).state;
  const signedWithKey = await signAndVerify(reloaded, s, 7);
  await reloaded.C_Logout(s);
  // The PIN still opens it, and the SO's reset of the user PIN drops the factor.
  await reloaded.C_Login(s, CKU_USER, 'user-pin-1');
  await reloaded.C_Logout(s);
  await reloaded.C_CloseSession(s);
  const so = await reloaded.C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await reloaded.C_Login(so, CKU_SO, 'so-pin-1234');
  await reloaded.C_InitPIN(so, 'user-pin-2');
  await reloaded.C_Logout(so);
  const afterReset = await refusal(reloaded.C_Login(so, CKU_USER, prfPin(stored, await prfSecret(stored))));
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return {
    length: first.length, repeatable: hex(first) === hex(again), saltMatters: hex(first) !== hex(otherSalt),
    wrongSecretRefused, countedLow, state, signedWithKey, afterReset, factorsAfterReset: (await reloaded.listUserFactors(0)).length,
  };
}

Object.assign(globalThis, { vhsmBridge: { cardFlow, prfFlow, support: hardwareSupport } });
document.title = 'ready';
