/**
 * The Chromium bench page: the packaged worker (connect(), shared mode, tokens in IndexedDB) driven
 * from the page, each run timed here so Playwright's own round trips stay out of the figures.
 * With `?first-signature` in the URL the page goes from connect() to a signature as soon as it
 * loads, as an application would on its first page load.
 */
import {
  CKA_APPLICATION, CKA_CLASS, CKA_DECRYPT, CKA_EC_PARAMS, CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE,
  CKA_LABEL, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY,
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKF_TOKEN_INITIALIZED, CKK_AES, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA_SHA256, CKO_DATA, CKO_PRIVATE_KEY, CKO_SECRET_KEY, CKR_USER_ALREADY_LOGGED_IN, CKU_SO, CKU_USER,
  connect, isPkcs11Error,
} from '@vhsm/client';
import type { CryptokiApiV3, Template, VhsmConnection } from '@vhsm/client';

const SO_PIN = 'bench-so-pin';
const USER_PIN = 'bench-user-pin';
const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const SLOT = 0;
const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
const SIGNING_KEY = 'first-signature';

export type CreateKind = 'aes-keygen' | 'data-object' | 'raw-put';

export interface LoginRun {
  /** C_Login alone (one PBKDF2 at the engine's default count). */
  login: number;
  /** C_Login, then C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal over every object. */
  loginFind: number;
}

export interface ColdLogin {
  /** connect(), C_Initialize and C_OpenSession. */
  connect: number;
  login: number;
  /** The first find over every object. */
  find: number;
  total: number;
}

export interface FirstSignature {
  /** From navigation start (performance.timeOrigin) to the signature. */
  navigationToSignature: number;
  /** From the call to connect() to the signature. */
  connectToSignature: number;
  /** When the page's module began to run, from navigation start. */
  scriptStart: number;
  steps: { connect: number; provision: number; login: number; key: number; sign: number };
  /** The token had to be initialized (fresh profile). */
  provisioned: boolean;
  /** The signing key had to be generated (no key pair on the token yet). */
  generated: boolean;
  /** The worker still held this application's login (C_Login answered CKR_USER_ALREADY_LOGGED_IN). */
  alreadyLoggedIn: boolean;
}

let vhsm: VhsmConnection | undefined;
let sessions: number[] = [];
let created: number[] = [];

function p11(): CryptokiApiV3 {
  if (!vhsm) throw new Error('open() first');
  return vhsm.pkcs11;
}

async function provision(cryptoki: CryptokiApiV3): Promise<void> {
  await cryptoki.C_InitToken(SLOT, SO_PIN, 'bench');
  const so = await cryptoki.C_OpenSession(SLOT, RW);
  await cryptoki.C_Login(so, CKU_SO, SO_PIN);
  await cryptoki.C_InitPIN(so, USER_PIN);
  await cryptoki.C_CloseSession(so);
}

async function login(cryptoki: CryptokiApiV3, session: number): Promise<boolean> {
  try {
    await cryptoki.C_Login(session, CKU_USER, USER_PIN);
    return false;
  } catch (e) {
    if (isPkcs11Error(e) && e.code === CKR_USER_ALREADY_LOGGED_IN) return true;
    throw e;
  }
}

/** Connects, initializes the token if this profile has none, and logs in with `lanes` sessions. */
async function open(lanes: number): Promise<void> {
  vhsm = await connect();
  const cryptoki = vhsm.pkcs11;
  await cryptoki.C_Initialize();
  const info = await cryptoki.C_GetTokenInfo(SLOT);
  if ((info.flags & CKF_TOKEN_INITIALIZED) === 0) await provision(cryptoki);
  sessions = [];
  for (let i = 0; i < lanes; i++) sessions.push(await cryptoki.C_OpenSession(SLOT, RW));
  await login(cryptoki, sessions[0] as number);
}

/** `ops` calls issued by `inFlight` lanes, each awaiting its own calls on its own session. */
async function lanes(inFlight: number, ops: number, op: (session: number, index: number) => Promise<void>): Promise<number> {
  if (inFlight > sessions.length) throw new Error(`${inFlight} lanes but ${sessions.length} sessions`);
  let next = 0;
  const lane = async (session: number): Promise<void> => {
    for (let i = next++; i < ops; i = next++) await op(session, i);
  };
  const start = performance.now();
  await Promise.all(sessions.slice(0, inFlight).map(lane));
  return performance.now() - start;
}

const DATA_VALUE = crypto.getRandomValues(new Uint8Array(256));

function template(kind: CreateKind, index: number): Template {
  const label = `${kind}-${index}`;
  return kind === 'aes-keygen'
    ? [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
      { type: CKA_SENSITIVE, value: true }, { type: CKA_EXTRACTABLE, value: false },
      { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }, { type: CKA_LABEL, value: label },
    ]
    : [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
      { type: CKA_APPLICATION, value: 'vhsm-bench' }, { type: CKA_LABEL, value: label }, { type: CKA_VALUE, value: DATA_VALUE },
    ];
}

let floorDb: Promise<IDBDatabase> | undefined;

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** A scratch database of this origin for the floor: what one durable IndexedDB write costs by itself. */
function floor(): Promise<IDBDatabase> {
  floorDb ??= new Promise((resolve, reject) => {
    const open = indexedDB.open('vhsm-bench-floor', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('records', { keyPath: 'id' });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error ?? new Error('indexedDB.open failed'));
  });
  return floorDb;
}

const FLOOR_RECORD = crypto.getRandomValues(new Uint8Array(768));

/** One record of about a sealed object's size, in its own readwrite transaction as durable as the store's commits. */
async function rawPut(db: IDBDatabase, index: number): Promise<void> {
  const tx = db.transaction('records', 'readwrite', { durability: 'strict' });
  tx.objectStore('records').put({ id: index, slot: SLOT, data: FLOOR_RECORD });
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('transaction failed'));
  });
}

/** One timed run of token-object creation: the ms it took; the objects stay until destroyCreated(). */
async function createRun(kind: CreateKind, inFlight: number, ops: number): Promise<number> {
  if (kind === 'raw-put') {
    const db = await floor();
    const ms = await lanes(inFlight, ops, (_, i) => rawPut(db, i));
    await request(db.transaction('records', 'readwrite').objectStore('records').clear());
    return ms;
  }
  const cryptoki = p11();
  return lanes(inFlight, ops, async (session, i) => {
    const object = kind === 'aes-keygen'
      ? await cryptoki.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, template(kind, i))
      : await cryptoki.C_CreateObject(session, template(kind, i));
    created.push(object);
  });
}

/** Destroys what the creation runs made (outside the timed region), so every run meets the same token. */
async function destroyCreated(): Promise<void> {
  const cryptoki = p11();
  const objects = created;
  created = [];
  await lanes(sessions.length, objects.length, (session, i) => cryptoki.C_DestroyObject(session, objects[i] as number));
}

/** Adds `count` private AES-128 secret keys (token objects, unique label and id); the ms it took. */
async function fill(count: number, inFlight: number): Promise<number> {
  const cryptoki = p11();
  const value = crypto.getRandomValues(new Uint8Array(16));
  return lanes(inFlight, count, async (session, i) => {
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, i);
    await cryptoki.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: CKA_KEY_TYPE, value: CKK_AES }, { type: CKA_VALUE, value },
      { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SENSITIVE, value: true },
      { type: CKA_ENCRYPT, value: true }, { type: CKA_LABEL, value: `obj-${i}` }, { type: CKA_ID, value: id },
    ]);
  });
}

/** C_Logout (which seals every private object again), then C_Login and the first find over all `count`. */
async function loginRun(count: number): Promise<LoginRun> {
  const cryptoki = p11();
  const session = sessions[0] as number;
  await cryptoki.C_Logout(session);
  const start = performance.now();
  await cryptoki.C_Login(session, CKU_USER, USER_PIN);
  const loggedIn = performance.now();
  await cryptoki.C_FindObjectsInit(session, []);
  const found = await cryptoki.C_FindObjects(session, count + 1);
  await cryptoki.C_FindObjectsFinal(session);
  const end = performance.now();
  if (found.length !== count) throw new Error(`the find over all objects found ${found.length}, not ${count}`);
  return { login: loggedIn - start, loginFind: end - start };
}

/**
 * A login as the first thing a fresh browser does with a full token: connect() and C_Initialize
 * (the worker opens IndexedDB and reads every record), then C_Login and the first find over all.
 */
async function coldLogin(count: number): Promise<ColdLogin> {
  const start = performance.now();
  vhsm = await connect();
  const cryptoki = vhsm.pkcs11;
  await cryptoki.C_Initialize();
  const session = await cryptoki.C_OpenSession(SLOT, RW);
  sessions = [session];
  const connected = performance.now();
  if (await login(cryptoki, session)) throw new Error('a fresh browser found the user logged in');
  const loggedIn = performance.now();
  await cryptoki.C_FindObjectsInit(session, []);
  const found = await cryptoki.C_FindObjects(session, count + 1);
  await cryptoki.C_FindObjectsFinal(session);
  const end = performance.now();
  if (found.length !== count) throw new Error(`the find over all objects found ${found.length}, not ${count}`);
  return { connect: connected - start, login: loggedIn - connected, find: end - loggedIn, total: end - start };
}

/**
 * The floor under opening the token: the slot's object records read with one raw IndexedDB getAll
 * (the packaged worker's database, as @vhsm/store-idb lays it out), from the page's thread.
 */
async function rawRead(count: number): Promise<number> {
  const start = performance.now();
  const db = await request(indexedDB.open('vhsm'));
  const records = await request(db.transaction('objects', 'readonly').objectStore('objects').index('by-slot').getAll(SLOT));
  const end = performance.now();
  db.close();
  if (records.length !== count) throw new Error(`read ${records.length} records, not ${count}`);
  return end - start;
}

/**
 * The floor under the first find after login: `count` AES-GCM decryptions of a 256-byte blob in raw
 * crypto.subtle, 64 at a time, as the engine unseals objects' attributes (one decryption each).
 */
async function rawUnseal(count: number): Promise<number> {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const gcm = { name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)), additionalData: new Uint8Array(16) };
  const blob = await crypto.subtle.encrypt(gcm, key, crypto.getRandomValues(new Uint8Array(256)));
  const start = performance.now();
  for (let done = 0; done < count; done += 64) {
    await Promise.all(Array.from({ length: Math.min(64, count - done) }, () => crypto.subtle.decrypt(gcm, key, blob)));
  }
  return performance.now() - start;
}

/** One PBKDF2-SHA-256 derivation in raw crypto.subtle: the floor under any login at that count. */
async function pbkdf2(iterations: number): Promise<number> {
  const password = await crypto.subtle.importKey('raw', new TextEncoder().encode(USER_PIN), 'PBKDF2', false, ['deriveBits']);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const start = performance.now();
  await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, password, 256);
  return performance.now() - start;
}

async function firstSignature(scriptStart: number): Promise<FirstSignature> {
  const start = performance.now();
  const connection = await connect();
  const cryptoki = connection.pkcs11;
  await cryptoki.C_Initialize();
  const connected = performance.now();
  const info = await cryptoki.C_GetTokenInfo(SLOT);
  const provisioned = (info.flags & CKF_TOKEN_INITIALIZED) === 0;
  if (provisioned) await provision(cryptoki);
  const ready = performance.now();
  const session = await cryptoki.C_OpenSession(SLOT, RW);
  const alreadyLoggedIn = await login(cryptoki, session);
  const loggedIn = performance.now();
  await cryptoki.C_FindObjectsInit(session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, { type: CKA_LABEL, value: SIGNING_KEY }]);
  let [key] = await cryptoki.C_FindObjects(session, 1);
  await cryptoki.C_FindObjectsFinal(session);
  const generated = key === undefined;
  if (key === undefined) {
    const pair = await cryptoki.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_TOKEN, value: true }, { type: CKA_VERIFY, value: true }, { type: CKA_LABEL, value: SIGNING_KEY }],
      [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SENSITIVE, value: true }, { type: CKA_SIGN, value: true }, { type: CKA_LABEL, value: SIGNING_KEY }]);
    key = pair.privateKey;
  }
  const keyed = performance.now();
  await cryptoki.C_SignInit(session, { mechanism: CKM_ECDSA_SHA256 }, key);
  const signature = await cryptoki.C_Sign(session, new TextEncoder().encode('first signature'));
  const signed = performance.now();
  if (signature.length !== 64) throw new Error(`an ECDSA P-256 signature of ${signature.length} bytes`);
  return {
    navigationToSignature: signed,
    connectToSignature: signed - start,
    scriptStart,
    steps: { connect: connected - start, provision: ready - connected, login: loggedIn - ready, key: keyed - loggedIn, sign: signed - keyed },
    provisioned,
    generated,
    alreadyLoggedIn,
  };
}

const bench = { open, createRun, destroyCreated, fill, loginRun, coldLogin, rawRead, rawUnseal, pbkdf2 };

declare global {
  interface Window {
    chromiumBench: typeof bench;
    /** Set once the `?first-signature` run ends: its figures, or what went wrong. */
    firstSignature?: FirstSignature | { error: string };
  }
}

window.chromiumBench = bench;
if (new URLSearchParams(location.search).has('first-signature')) {
  const scriptStart = performance.now();
  firstSignature(scriptStart).then(
    (result) => (window.firstSignature = result),
    (e: unknown) => (window.firstSignature = { error: e instanceof Error ? e.message : String(e) }),
  );
}
