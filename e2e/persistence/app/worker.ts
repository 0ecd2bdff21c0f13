/** Module worker: the engine over the IndexedDB store, driven by the test page's messages. */
import {
  CKA_DECRYPT, CKA_EC_PARAMS, CKA_ENCRYPT, CKA_LABEL, CKA_PRIVATE, CKA_SIGN, CKA_TOKEN, CKA_VALUE_LEN, CKA_VERIFY,
  CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN, CKR_USER_ALREADY_LOGGED_IN, CKU_USER,
  Cryptoki, isPkcs11Error,
} from '@vhsm/token';
import { createIdbStore, requestPersistentStorage } from '@vhsm/store-idb';
import type { WorkerReply, WorkerRequest } from './protocol.js';

interface WorkerScope {
  postMessage(message: WorkerReply): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const P256 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
let p11: Cryptoki | undefined;

function engine(): Cryptoki {
  if (!p11) throw new Error('start the engine first');
  return p11;
}

/** Rounds of a key pair, a secret key and a rename, each a commit, until the page goes away. */
async function burst(pin: string): Promise<never> {
  const cryptoki = engine();
  const session = await cryptoki.C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  try {
    await cryptoki.C_Login(session, CKU_USER, pin);
  } catch (e) {
    if (!isPkcs11Error(e) || e.code !== CKR_USER_ALREADY_LOGGED_IN) throw e;
  }
  for (let round = 0; ; round++) {
    await cryptoki.C_GenerateKeyPair(session, { mechanism: CKM_EC_KEY_PAIR_GEN },
      [{ type: CKA_EC_PARAMS, value: P256 }, { type: CKA_TOKEN, value: true }, { type: CKA_VERIFY, value: true }, { type: CKA_LABEL, value: `pair-${round}` }],
      [{ type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true }, { type: CKA_SIGN, value: true }, { type: CKA_LABEL, value: `pair-${round}` }]);
    const secret = await cryptoki.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
      { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }, { type: CKA_LABEL, value: `secret-${round}` },
    ]);
    await cryptoki.C_SetAttributeValue(session, secret, [{ type: CKA_LABEL, value: `secret-${round}-renamed` }]);
    scope.postMessage({ progress: round + 1 });
  }
}

/** `count` private AES token keys, one commit each, as an application would make them. */
async function fill(pin: string, count: number): Promise<number> {
  const cryptoki = engine();
  const started = performance.now();
  const session = await cryptoki.C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
  await cryptoki.C_Login(session, CKU_USER, pin);
  for (let i = 0; i < count; i++) {
    await cryptoki.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
      { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_TOKEN, value: true }, { type: CKA_PRIVATE, value: true },
      { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true }, { type: CKA_LABEL, value: `bench-${i}` },
    ]);
  }
  await cryptoki.C_CloseSession(session);
  return performance.now() - started;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'open': {
      const store = await createIdbStore();
      p11 = new Cryptoki({ store, ...request.options });
      await p11.C_Initialize();
      return undefined;
    }
    case 'call': {
      const cryptoki = engine() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const fn = cryptoki[request.method];
      if (!request.method.startsWith('C_') || typeof fn !== 'function') throw new Error(`no function ${request.method}`);
      return fn.apply(cryptoki, request.args);
    }
    case 'burst':
      return burst(request.pin);
    case 'fill':
      return fill(request.pin, request.count);
    case 'persist':
      return requestPersistentStorage();
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  handle(request).then(
    (result) => scope.postMessage({ id: request.id, result }),
    (e: unknown) => scope.postMessage({
      id: request.id,
      error: isPkcs11Error(e) ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) },
    }),
  );
};
