/**
 * The worker's message path driven by raw postMessage over a real MessageChannel (node:worker_threads
 * structured clone), as a hostile page would drive it.
 */
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CKA_CLASS, CKA_DECRYPT, CKA_ENCRYPT, CKA_TOKEN, CKA_VALUE_LEN, CKF_RW_SESSION, CKF_SERIAL_SESSION,
  CKM_AES_GCM, CKM_AES_KEY_GEN, CKO_DATA, CKR_ARGUMENTS_BAD, CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_DEVICE_MEMORY, CKR_FUNCTION_NOT_SUPPORTED, CKR_KEY_HANDLE_INVALID, CKR_OK,
  CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, CKU_SO, CKU_USER, ckrName,
} from '@vhsm/pkcs11';
import type { SerializedPkcs11Error } from '@vhsm/pkcs11';
import { CLIENT_LOCK_PREFIX, compact, Host, MAX_BATCH, SHARED_HOLD, webLockCoordinator } from '../src/index.js';
import type { Endpoint, Reply } from '../src/index.js';

const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;
const SO_PIN = 'so-pin-1234';
const USER_PIN = 'user-pin-1234';

/** The page end of one connection: raw messages in, replies out. */
class RawPage {
  readonly port: MessagePort;
  readonly replies: Reply[] = [];
  readonly #waiters: (() => void)[] = [];
  #id = 1;

  constructor(port: MessagePort) {
    this.port = port;
    // A frame is one reply or several that were ready together.
    port.on('message', (frame: Reply | Reply[]) => {
      for (const reply of Array.isArray(frame) ? frame : [frame]) this.replies.push(reply);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  post(message: unknown): void {
    this.port.postMessage(message);
  }

  /** The next reply with this id (null: a reply to a message without a usable id). */
  async reply(id: number | null): Promise<Reply> {
    for (;;) {
      const i = this.replies.findIndex((r) => r.id === id);
      if (i >= 0) return this.replies.splice(i, 1)[0] as Reply;
      await new Promise<void>((wake) => this.#waiters.push(wake));
    }
  }

  send(fn: string, ...args: unknown[]): Promise<Reply> {
    const id = this.#id++;
    this.post({ id, fn, args });
    return this.reply(id);
  }

  async call(fn: string, ...args: unknown[]): Promise<unknown> {
    const reply = await this.send(fn, ...args);
    if (!reply.ok) throw new Error(`${fn}: ${reply.error.message}`);
    return reply.value;
  }

  async fails(fn: string, ...args: unknown[]): Promise<SerializedPkcs11Error> {
    const reply = await this.send(fn, ...args);
    if (reply.ok) throw new Error(`${fn} succeeded`);
    return reply.error;
  }
}

const open: MessagePort[] = [];
afterEach(() => {
  for (const port of open.splice(0)) port.close();
});

function connect(host: Host): RawPage {
  const { port1, port2 } = new MessageChannel();
  open.push(port1, port2);
  host.serve(port1 as unknown as Endpoint);
  return new RawPage(port2);
}

function newHost(options: ConstructorParameters<typeof Host>[0] = {}): Host {
  return new Host({ pbkdf2Iterations: 1000, locks: undefined, ...options });
}

/** An initialized token with a user PIN, and a page logged in as the user with one R/W session. */
async function userPage(host: Host): Promise<{ page: RawPage; session: number }> {
  const page = connect(host);
  await page.call('C_Initialize');
  await page.call('C_InitToken', 0, SO_PIN, 'worker test');
  const so = (await page.call('C_OpenSession', 0, RW)) as number;
  await page.call('C_Login', so, CKU_SO, SO_PIN);
  await page.call('C_InitPIN', so, USER_PIN);
  await page.call('C_Logout', so);
  await page.call('C_CloseSession', so);
  const session = (await page.call('C_OpenSession', 0, RW)) as number;
  await page.call('C_Login', session, CKU_USER, USER_PIN);
  return { page, session };
}

async function aesKey(page: RawPage, session: number): Promise<number> {
  return (await page.call('C_GenerateKey', session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 32 }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
  ])) as number;
}

describe('worker connection', () => {
  it('runs C_ calls and returns typed results', async () => {
    const { page, session } = await userPage(newHost());
    const key = await aesKey(page, session);
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    await page.call('C_EncryptInit', session, gcm, key);
    const ct = (await page.call('C_Encrypt', session, new Uint8Array([1, 2, 3]))) as Uint8Array;
    expect(ct).toBeInstanceOf(Uint8Array);
    expect(ct.length).toBe(3 + 16);
    await page.call('C_DecryptInit', session, gcm, key);
    expect(await page.call('C_Decrypt', session, ct)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('carries failures as { name, code, method, message }', async () => {
    const page = connect(newHost());
    const error = await page.fails('C_GetSlotList', true);
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'method', 'name']);
    expect(error).toMatchObject({ name: 'Pkcs11Error', code: CKR_CRYPTOKI_NOT_INITIALIZED, method: 'C_GetSlotList' });
    expect(error.message.startsWith('CKR_CRYPTOKI_NOT_INITIALIZED')).toBe(true);
  });

  it('keeps the order of pipelined calls on one session, and runs sessions side by side', async () => {
    const { page, session } = await userPage(newHost());
    const key = await aesKey(page, session);
    const sessions = [session];
    for (let i = 0; i < 7; i++) sessions.push((await page.call('C_OpenSession', 0, RW)) as number);
    // Init and the operation posted back to back, without waiting: Encrypt must see its Init.
    const replies = sessions.flatMap((s, i) => {
      const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12).fill(i) } };
      return [page.send('C_EncryptInit', s, gcm, key), page.send('C_Encrypt', s, new Uint8Array(64).fill(i))];
    });
    const results = await Promise.all(replies);
    expect(results.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual(results.map(() => 'ok'));
    const first = results[1] as Extract<Reply, { ok: true }>;
    await page.call('C_DecryptInit', session, { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } }, key);
    expect(await page.call('C_Decrypt', session, first.value)).toEqual(new Uint8Array(64));
  });
});

describe('a hostile page', () => {
  const forged: [string, unknown, number, boolean][] = [
    ['a string', 'C_GetInfo', CKR_ARGUMENTS_BAD, false],
    ['null', null, CKR_ARGUMENTS_BAD, false],
    ['an array', [1, 'C_GetInfo', []], CKR_ARGUMENTS_BAD, false],
    ['a negative id', { id: -1, fn: 'C_GetInfo', args: [] }, CKR_ARGUMENTS_BAD, false],
    ['an unknown function', { id: 7, fn: 'constructor', args: [] }, CKR_FUNCTION_NOT_SUPPORTED, true],
    ['an inherited name', { id: 7, fn: '__proto__', args: [] }, CKR_FUNCTION_NOT_SUPPORTED, true],
    ['args that are not an array', { id: 7, fn: 'C_GetInfo', args: { length: 1 } }, CKR_ARGUMENTS_BAD, true],
    ['too many args', { id: 7, fn: 'C_GetInfo', args: Array.from({ length: 9 }, () => 0) }, CKR_ARGUMENTS_BAD, true],
    ['a Map', { id: 7, fn: 'C_CreateObject', args: [1, new Map()] }, CKR_ARGUMENTS_BAD, true],
    ['a Date', { id: 7, fn: 'C_CreateObject', args: [1, [{ type: 0, value: new Date() }]] }, CKR_ARGUMENTS_BAD, true],
    ['an Int16Array', { id: 7, fn: 'C_Encrypt', args: [1, new Int16Array(4)] }, CKR_ARGUMENTS_BAD, true],
    ['an ArrayBuffer', { id: 7, fn: 'C_Encrypt', args: [1, new ArrayBuffer(4)] }, CKR_ARGUMENTS_BAD, true],
    ['a bigint', { id: 7, fn: 'C_CloseSession', args: [1n] }, CKR_ARGUMENTS_BAD, true],
    ['a __proto__ key', { id: 7, fn: 'C_CreateObject', args: [1, [JSON.parse('{"__proto__":{"type":0},"type":0}')]] }, CKR_ARGUMENTS_BAD, true],
    ['a constructor key', { id: 7, fn: 'C_EncryptInit', args: [1, { mechanism: 1, constructor: 1 }, 1] }, CKR_ARGUMENTS_BAD, true],
    ['a huge string', { id: 7, fn: 'C_Login', args: [1, CKU_USER, 'x'.repeat(70_000)] }, CKR_ARGUMENTS_BAD, true],
    ['a deep nesting', { id: 7, fn: 'C_CreateObject', args: [1, nest(20)] }, CKR_ARGUMENTS_BAD, true],
    ['too many values', { id: 7, fn: 'C_CreateObject', args: [1, Array.from({ length: 3000 }, () => ({ type: 0 }))] }, CKR_ARGUMENTS_BAD, true],
    ['a sparse array of length 2^32-1', { id: 7, fn: 'C_CreateObject', args: [1, sparse()] }, CKR_ARGUMENTS_BAD, true],
  ];

  it.each(forged)('gets a CK_RV for %s and the worker keeps serving', async (_what, message, code, hasId) => {
    const page = connect(newHost());
    page.post(message);
    const reply = await page.reply(hasId ? 7 : null);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(ckrName(reply.error.code)).toBe(ckrName(code));
    expect(reply.error.name).toBe('Pkcs11Error');
    expect(reply.error.message.startsWith(ckrName(code))).toBe(true);
    expect(await page.send('C_GetInterfaceList')).toMatchObject({ ok: true });
  });

  it('cannot use another application\'s session or object handles', async () => {
    const host = newHost();
    const a = await userPage(host);
    const key = await aesKey(a.page, a.session);
    const b = connect(host);
    await b.call('C_Initialize');
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    expect((await b.fails('C_EncryptInit', a.session, gcm, key)).code).toBe(CKR_SESSION_HANDLE_INVALID);
    const own = (await b.call('C_OpenSession', 0, RW)) as number;
    expect((await b.fails('C_EncryptInit', own, gcm, key)).code).toBe(CKR_KEY_HANDLE_INVALID);
    // Login is per application: a's login does not log b in.
    expect((await b.fails('C_CreateObject', own, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_TOKEN, value: true }, { type: 0x2 /* CKA_PRIVATE */, value: true },
    ])).code).toBe(CKR_USER_NOT_LOGGED_IN);
  });

  it('refuses calls beyond the in-flight limit with CKR_DEVICE_MEMORY and then serves again', async () => {
    const page = connect(newHost({ maxInFlight: 2 }));
    // The first C_Initialize probes every mechanism; the calls behind it stay in flight meanwhile.
    const replies = await Promise.all(Array.from({ length: 6 }, () => page.send('C_Initialize')));
    const codes = replies.map((r) => (r.ok ? CKR_OK : r.error.code));
    expect(codes).toContain(CKR_DEVICE_MEMORY);
    expect(codes).toContain(CKR_OK);
    expect(await page.send('C_GetInterfaceList')).toMatchObject({ ok: true });
  });
});

describe('batches', () => {
  it('run their calls in order and answer once with every result', async () => {
    const { page, session } = await userPage(newHost());
    const key = await aesKey(page, session);
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    const [init, ct] = (await page.call('vhsm:batch', ['C_EncryptInit', [session, gcm, key]], ['C_Encrypt', [session, new Uint8Array([5, 6])]])) as [unknown, Uint8Array];
    expect(init).toBeUndefined();
    expect(ct.length).toBe(2 + 16);
    expect(await page.call('vhsm:batch', ['C_DecryptInit', [session, gcm, key]], ['C_Decrypt', [session, ct]])).toEqual([undefined, new Uint8Array([5, 6])]);
  });

  it('stop at the first failure, whose reply names the call by index', async () => {
    const { page, session } = await userPage(newHost());
    const key = await aesKey(page, session);
    const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
    const label = { type: 0x3 /* CKA_LABEL */, value: 'after the failure' };
    const reply = await page.send('vhsm:batch',
      ['C_EncryptInit', [session, gcm, key]], ['C_Encrypt', [session, 'not bytes']],
      ['C_CreateObject', [session, [{ type: CKA_CLASS, value: CKO_DATA }, label]]]);
    expect(reply).toMatchObject({ ok: false, index: 1, error: { code: CKR_ARGUMENTS_BAD, method: 'C_Encrypt' } });
    // The third call never ran.
    await page.call('C_FindObjectsInit', session, [label]);
    expect(await page.call('C_FindObjects', session, 10)).toEqual([]);
    await page.call('C_FindObjectsFinal', session);
  });

  const bad: [string, unknown, number][] = [
    ['not an array', { length: 1 }, CKR_ARGUMENTS_BAD],
    ['empty', [], CKR_ARGUMENTS_BAD],
    ['too many calls', Array.from({ length: MAX_BATCH + 1 }, () => ['C_GetInfo', []]), CKR_ARGUMENTS_BAD],
    ['a call that is not [fn, args]', [['C_GetInfo']], CKR_ARGUMENTS_BAD],
    ['a function off the allow-list', [['C_GetInfo', []], ['constructor', []]], CKR_FUNCTION_NOT_SUPPORTED],
    ['a nested batch', [['vhsm:batch', [['C_GetInfo', []]]]], CKR_FUNCTION_NOT_SUPPORTED],
    ['more values than one message may carry', [0, 1].map(() => ['C_CreateObject', [1, Array.from({ length: 2500 }, () => ({ type: 0 }))]]), CKR_ARGUMENTS_BAD],
  ];
  it.each(bad)('refuse %s before running anything', async (_what, calls, code) => {
    const page = connect(newHost());
    const reply = await (page.post({ id: 9, fn: 'vhsm:batch', args: calls }), page.reply(9));
    expect(reply).toMatchObject({ ok: false, error: { code, method: 'vhsm:batch' } });
    expect(reply.ok === false && reply.index).toBeUndefined();
    // Nothing ran: the application is still not initialized, and the worker still serves.
    expect((await page.fails('C_GetSlotList', true)).code).toBe(CKR_CRYPTOKI_NOT_INITIALIZED);
  });
});

describe('frames', () => {
  it('a frame of several requests gets each its own reply; a bad element is refused alone', async () => {
    const page = connect(newHost());
    page.post([{ id: 1, fn: 'C_GetInterfaceList', args: [] }, 42, [{ id: 3, fn: 'C_GetInfo', args: [] }], { id: 4, fn: 'C_GetSlotList', args: [true] }]);
    expect(await page.reply(1)).toMatchObject({ ok: true });
    expect(await page.reply(null)).toMatchObject({ ok: false, error: { code: CKR_ARGUMENTS_BAD } });
    expect(await page.reply(null)).toMatchObject({ ok: false, error: { code: CKR_ARGUMENTS_BAD } });
    expect(await page.reply(4)).toMatchObject({ ok: false, error: { code: CKR_CRYPTOKI_NOT_INITIALIZED } });
    expect(page.replies.find((r) => r.id === 3)).toBeUndefined();
  });

  it('a frame longer than the in-flight limit is refused whole', async () => {
    const page = connect(newHost({ maxInFlight: 4 }));
    page.post(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, fn: 'C_GetInfo', args: [] })));
    expect(await page.reply(null)).toMatchObject({ ok: false, error: { code: CKR_ARGUMENTS_BAD } });
    expect(await page.send('C_GetInterfaceList')).toMatchObject({ ok: true });
    expect(page.replies).toEqual([]);
  });

  it('replies ready while other calls run leave together', async () => {
    const frames: unknown[] = [];
    let deliver!: (data: unknown) => void;
    const endpoint: Endpoint = {
      postMessage: (frame) => frames.push(frame),
      addEventListener: (_type, listener) => (deliver = (data) => listener({ data } as MessageEvent)),
      removeEventListener: () => undefined,
    };
    const host = newHost();
    host.serve(endpoint);
    await userPage(host); // initializes the token
    deliver({ id: 1, fn: 'C_Initialize', args: [] });
    await expect.poll(() => frames.length).toBe(1);
    deliver({ id: 2, fn: 'C_OpenSession', args: [0, RW] });
    await expect.poll(() => frames.length).toBe(2);
    const session = (frames[1] as { value: number }).value;
    deliver(Array.from({ length: 8 }, (_, i) => ({ id: 10 + i, fn: 'C_GenerateRandom', args: [session, 4] })));
    const count = (): number => frames.slice(2).reduce<number>((n, f) => n + (Array.isArray(f) ? f.length : 1), 0);
    await expect.poll(count).toBe(8);
    expect(frames.length - 2).toBeLessThan(8);
  });
});

describe('compact', () => {
  it('reduces byte strings to their viewed bytes, allocating only where something changes', () => {
    const big = new Uint8Array(64).fill(7);
    const whole = new Uint8Array(4);
    const args = [1, { mechanism: 2, parameter: { iv: big.subarray(0, 12) } }, [{ type: 3, value: big.subarray(60) }], whole];
    const out = compact(args) as [number, { parameter: { iv: Uint8Array } }, { value: Uint8Array }[], Uint8Array];
    expect(out[1].parameter.iv.buffer.byteLength).toBe(12);
    expect(out[2][0]?.value.buffer.byteLength).toBe(4);
    expect(out[3]).toBe(whole);
    expect(args[1]).toEqual({ mechanism: 2, parameter: { iv: big.subarray(0, 12) } });
    const untouched = [1, { mechanism: 2 }, [{ type: 3, value: whole }]];
    expect(compact(untouched)).toBe(untouched);
  });
});

describe('application lifetime', () => {
  it('closes the application\'s sessions when the page says close', async () => {
    const host = newHost();
    const a = await userPage(host);
    const b = connect(host);
    await b.call('C_Initialize');
    expect(((await b.call('C_GetTokenInfo', 0)) as { sessionCount: number }).sessionCount).toBe(1);
    expect(await a.page.send('vhsm:close')).toMatchObject({ ok: true });
    expect(((await b.call('C_GetTokenInfo', 0)) as { sessionCount: number }).sessionCount).toBe(0);
    expect(host.connections.size).toBe(1);
  });

  it('closes the application when the page\'s Web Lock is released (tab closed)', async () => {
    let release!: () => void;
    const locks = {
      request: (name: string, callback: () => Promise<void>) => {
        expect(name.startsWith(CLIENT_LOCK_PREFIX)).toBe(true);
        return new Promise<void>((resolve) => (release = () => resolve(callback())));
      },
    } as unknown as LockManager;
    const host = newHost({ locks });
    const a = await userPage(host);
    expect((await a.page.send('vhsm:hello', `${CLIENT_LOCK_PREFIX}tab-1`))).toMatchObject({ ok: true, value: { protocol: 'vhsm/1' } });
    const b = connect(host);
    await b.call('C_Initialize');
    expect(((await b.call('C_GetTokenInfo', 0)) as { sessionCount: number }).sessionCount).toBe(1);
    release();
    await expect.poll(() => host.connections.size).toBe(1);
    expect(((await b.call('C_GetTokenInfo', 0)) as { sessionCount: number }).sessionCount).toBe(0);
  });

  it('refuses a lock name that is not a client lock', async () => {
    const page = connect(newHost());
    expect((await page.fails('vhsm:hello', 'vhsm-token')).code).toBe(CKR_ARGUMENTS_BAD);
  });
});

describe('dedicated-worker coordination', () => {
  it('runs writers under an exclusive Web Lock and other calls under a shared one', async () => {
    const modes: string[] = [];
    const locks = {
      request: (name: string, options: LockOptions, work: () => Promise<unknown>) => {
        modes.push(`${name}:${options.mode}`);
        return work();
      },
    } as unknown as LockManager;
    const host = new Host({ pbkdf2Iterations: 1000, locks: undefined }, webLockCoordinator(locks));
    const page = connect(host);
    await page.call('C_Initialize');
    await page.call('C_InitToken', 0, SO_PIN, 'locks');
    expect(modes).toEqual(['vhsm-token:shared', 'vhsm-token:exclusive']);
  });
});

describe('dedicated-worker coordination: shared holds', () => {
  it('lets readers share one hold of the lock, released once they drain and nothing follows', async () => {
    const log: string[] = [];
    const locks = {
      request: async (_name: string, options: LockOptions, work: () => Promise<unknown>) => {
        log.push(`${options.mode} granted`);
        try {
          return await work();
        } finally {
          log.push(`${options.mode} released`);
        }
      },
    } as unknown as LockManager;
    const coordinate = webLockCoordinator(locks);
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const readers = Array.from({ length: 8 }, (_, i) => coordinate('C_GetInfo', false, async () => {
      await gate;
      return i;
    }));
    await Promise.resolve();
    expect(log).toEqual(['shared granted']);
    finish();
    expect(await Promise.all(readers)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await expect.poll(() => log).toEqual(['shared granted', 'shared released']);
    expect(await coordinate('C_CreateObject', true, async () => 'written')).toBe('written');
    expect(await coordinate('C_GetInfo', false, async () => 'read')).toBe('read');
    // The next call, a round trip later, finds the hold still there (it lingers).
    expect(await coordinate('C_GetInfo', false, async () => 'again')).toBe('again');
    await expect.poll(() => log).toEqual(['shared granted', 'shared released', 'exclusive granted', 'exclusive released', 'shared granted', 'shared released']);
  });

  it('stops a hold taking newcomers after its call budget, so a queued writer is not starved', async () => {
    const modes: string[] = [];
    const locks = {
      request: (_name: string, options: LockOptions, work: () => Promise<unknown>) => {
        modes.push(options.mode ?? 'exclusive');
        return work();
      },
    } as unknown as LockManager;
    const coordinate = webLockCoordinator(locks);
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const calls = Array.from({ length: SHARED_HOLD.calls + 1 }, () => coordinate('C_GetInfo', false, () => gate));
    expect(modes).toEqual(['shared', 'shared']);
    finish();
    await Promise.all(calls);
  });
});

describe('transfer of results', () => {
  it('transfers large fresh outputs and copies the rest', async () => {
    const posted: { message: Reply; transfer: Transferable[] }[] = [];
    let deliver!: (data: unknown) => void;
    const endpoint: Endpoint = {
      // Each reply with its frame's transfer list.
      postMessage: (frame, transfer) => {
        for (const message of Array.isArray(frame) ? frame as Reply[] : [frame as Reply]) posted.push({ message, transfer });
      },
      addEventListener: (_type, listener) => (deliver = (data) => listener({ data } as MessageEvent)),
      removeEventListener: () => undefined,
    };
    const host = newHost();
    host.serve(endpoint);
    await userPage(host); // initializes the token
    deliver({ id: 1, fn: 'C_Initialize', args: [] });
    deliver({ id: 2, fn: 'C_OpenSession', args: [0, RW] });
    await expect.poll(() => posted.length).toBe(2);
    const own = (posted[1] as { message: { value: number } }).message.value;
    deliver({ id: 3, fn: 'C_GenerateRandom', args: [own, 8192] });
    deliver({ id: 4, fn: 'C_GenerateRandom', args: [own, 16] });
    await expect.poll(() => posted.length).toBe(4);
    const sent = (id: number) => posted.find((p) => p.message.id === id) as { message: { value: Uint8Array }; transfer: Transferable[] };
    expect(sent(3).transfer).toContain(sent(3).message.value.buffer);
    expect(sent(4).transfer).not.toContain(sent(4).message.value.buffer);
  });
});

function nest(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function sparse(): unknown[] {
  const a: unknown[] = [];
  a.length = 2 ** 32 - 1;
  return a;
}
