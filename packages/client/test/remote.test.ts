import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Cryptoki } from '@vhsm/token';
import {
  batch, CKA_DECRYPT, CKA_ENCRYPT, CKA_VALUE_LEN, CKM_AES_GCM, CKM_AES_KEY_GEN, CKM_SHA256, CKR_ARGUMENTS_BAD,
  CKA_CLASS, CKA_ID, CKA_LABEL, CKA_TOKEN, CKA_VALUE, CKO_DATA, CKO_SECRET_KEY, CKR_CRYPTOKI_NOT_INITIALIZED,
  CKR_FUNCTION_NOT_SUPPORTED, CKR_PIN_INCORRECT, CKU_USER, FUNCTION_NAMES, Pkcs11Error, connect, findByUri,
  formatUri, parseUri, REDACTED,
} from '../src/index.js';
import type { CryptokiApiV3 } from '../src/index.js';
import { RW, USER_PIN, connectTo, initToken, login, newHost } from './helpers.js';

describe('remote Cryptoki', () => {
  it('has every C_ function and rebuilds failures as Pkcs11Error with code, method and message', async () => {
    const connection = await connectTo(newHost());
    for (const fn of FUNCTION_NAMES) expect(typeof connection.pkcs11[fn]).toBe('function');
    const error = await connection.pkcs11.C_GetSlotList(true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Pkcs11Error);
    expect(error).toMatchObject({ code: CKR_CRYPTOKI_NOT_INITIALIZED, method: 'C_GetSlotList' });
    expect((error as Pkcs11Error).message.startsWith('CKR_CRYPTOKI_NOT_INITIALIZED')).toBe(true);
    await connection.close();
  });

  it('returns typed results and sends only the viewed bytes of a subarray', async () => {
    const connection = await connectTo(newHost());
    await initToken(connection);
    const session = await login(connection);
    const big = new Uint8Array(1 << 20);
    big.set([1, 2, 3], 500);
    const handle = await connection.pkcs11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_DATA }, { type: CKA_VALUE, value: big.subarray(500, 503) }, { type: CKA_LABEL, value: 'd' },
    ]);
    const [value, label] = await connection.pkcs11.C_GetAttributeValue(session, handle, [{ type: CKA_VALUE }, { type: CKA_LABEL }]);
    expect(value?.value).toEqual(new Uint8Array([1, 2, 3]));
    expect(label?.value).toBe('d');
    await connection.close();
  });

  it('rejects calls after close() and ends the application\'s sessions in the worker', async () => {
    const host = newHost();
    const a = await connectTo(host);
    await initToken(a);
    await login(a);
    const b = await connectTo(host);
    await b.pkcs11.C_Initialize();
    expect((await b.pkcs11.C_GetTokenInfo(0)).sessionCount).toBe(1);
    await a.close();
    expect((await b.pkcs11.C_GetTokenInfo(0)).sessionCount).toBe(0);
    await expect(a.pkcs11.C_GetInfo()).rejects.toMatchObject({ code: CKR_CRYPTOKI_NOT_INITIALIZED });
    await b.close();
  });

  it('refuses vault mode until the vault exists', async () => {
    await expect(connect({ vault: 'https://vault.example' })).rejects.toMatchObject({ code: CKR_FUNCTION_NOT_SUPPORTED });
  });
});

describe('batch()', () => {
  const gcm = { mechanism: CKM_AES_GCM, parameter: { iv: new Uint8Array(12) } };
  const aes = (p11: CryptokiApiV3, session: number) => p11.C_GenerateKey(session, { mechanism: CKM_AES_KEY_GEN }, [
    { type: CKA_VALUE_LEN, value: 16 }, { type: CKA_ENCRYPT, value: true }, { type: CKA_DECRYPT, value: true },
    // A public object (no user login on the local token): so neither sensitive nor unextractable.
    { type: 0x2 /* CKA_PRIVATE */, value: false }, { type: 0x103 /* CKA_SENSITIVE */, value: false }, { type: 0x162 /* CKA_EXTRACTABLE */, value: true },
  ]);

  it('sends Init and the operation as one message and resolves with both results', async () => {
    const connection = await connectTo(newHost());
    await initToken(connection);
    const session = await login(connection);
    const p11 = connection.pkcs11;
    const key = await aes(p11, session);
    const [init, ct] = await batch(p11, [['C_EncryptInit', session, gcm, key], ['C_Encrypt', session, new Uint8Array([1, 2, 3])]]);
    expect(init).toBeUndefined();
    const [, plain] = await batch(p11, [['C_DecryptInit', session, gcm, key], ['C_Decrypt', session, ct]]);
    expect(plain).toEqual(new Uint8Array([1, 2, 3]));
    await connection.close();
  });

  it('rejects with the first failure and its index, over the worker and over a local Cryptoki alike', async () => {
    const connection = await connectTo(newHost());
    await initToken(connection);
    const remoteSession = await login(connection);
    const local = new Cryptoki({ pbkdf2Iterations: 1000 });
    await local.C_Initialize();
    await local.C_InitToken(0, 'so-pin-1', 'local');
    const localSession = await local.C_OpenSession(0, RW);
    for (const [p11, session] of [[connection.pkcs11, remoteSession], [local, localSession]] as const) {
      const key = await aes(p11, session);
      const error = await batch(p11, [
        ['C_EncryptInit', session, gcm, key], ['C_Encrypt', session, 'not bytes' as unknown as Uint8Array], ['C_GenerateRandom', session, 4],
      ]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Pkcs11Error);
      expect(error).toMatchObject({ code: CKR_ARGUMENTS_BAD, method: 'C_Encrypt', index: 1 });
      // The failed C_Encrypt ended the operation: the session takes a new one.
      await expect(batch(p11, [['C_EncryptInit', session, gcm, key], ['C_Encrypt', session, new Uint8Array(1)]])).resolves.toHaveLength(2);
    }
    await connection.close();
    await local.C_Finalize();
  });

  it('transfers the buffers it is told to; the facade transfers only its own copies', async () => {
    const connection = await connectTo(newHost());
    await initToken(connection);
    const session = await login(connection);
    const p11 = connection.pkcs11;
    const data = new Uint8Array(64 * 1024).fill(9);
    const [, digest] = await batch(p11, [['C_DigestInit', session, { mechanism: CKM_SHA256 }], ['C_Digest', session, data]], { transfer: [data.buffer] });
    expect(data.byteLength).toBe(0);
    const input = new Uint8Array(64 * 1024).fill(9);
    expect(new Uint8Array(await connection.subtle.digest('SHA-256', input))).toEqual(digest);
    expect(input.byteLength).toBe(64 * 1024);
    await connection.close();
  });

  it('calls made in one task leave in one message', async () => {
    const { port1, port2 } = new MessageChannel();
    const host = newHost();
    host.serve(port1 as unknown as MessagePort);
    const frames: unknown[] = [];
    const post = port2.postMessage.bind(port2);
    port2.postMessage = (message: unknown, transfer?: readonly Transferable[]) => {
      frames.push(message);
      post(message, transfer as never);
    };
    const connection = await connect({ worker: port2 as unknown as Worker });
    await connection.pkcs11.C_Initialize();
    frames.length = 0;
    const infos = await Promise.all([connection.pkcs11.C_GetInfo(), connection.pkcs11.C_GetInterfaceList(), connection.pkcs11.C_GetInfo()]);
    expect(infos).toHaveLength(3);
    expect(frames).toHaveLength(1);
    expect((frames[0] as { fn: string }[]).map((r) => r.fn)).toEqual(['C_GetInfo', 'C_GetInterfaceList', 'C_GetInfo']);
    await connection.close();
    port2.close();
  });
});

describe('trace', () => {
  it('records every call with its CK_RV and duration, PINs and key bytes redacted', async () => {
    const connection = await connectTo(newHost(), { trace: true });
    await initToken(connection);
    const session = await connection.pkcs11.C_OpenSession(0, RW);
    await connection.pkcs11.C_Login(session, CKU_USER, 'wrong-pin-1').catch(() => undefined);
    await connection.pkcs11.C_Login(session, CKU_USER, USER_PIN);
    const secret = new Uint8Array(16).fill(0xab);
    await connection.pkcs11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: 0x100 /* CKA_KEY_TYPE */, value: 0x1f /* CKK_AES */ },
      { type: CKA_VALUE, value: secret }, { type: CKA_TOKEN, value: false },
    ]);
    const records = connection.trace.records;
    expect(records.map((r) => r.fn)).toContain('C_InitToken');
    const logins = records.filter((r) => r.fn === 'C_Login' && r.args[1] === CKU_USER);
    expect(logins.map((r) => r.rv)).toEqual(['CKR_PIN_INCORRECT', 'CKR_OK']);
    expect(logins[0]?.code).toBe(CKR_PIN_INCORRECT);
    expect(logins[1]?.args[2]).toBe(REDACTED);
    for (const r of records) expect(r.duration).toBeGreaterThanOrEqual(0);
    const text = JSON.stringify(records);
    for (const pin of ['wrong-pin-1', USER_PIN, 'so-pin-5678']) expect(text).not.toContain(pin);
    expect(text).not.toContain('abababab');
    const create = records.find((r) => r.fn === 'C_CreateObject');
    expect(JSON.stringify(create?.args)).toContain(REDACTED);

    connection.trace.disable();
    connection.trace.clear();
    await connection.pkcs11.C_GetInfo();
    expect(connection.trace.records).toHaveLength(0);
    await connection.close();
  });
});

describe('PKCS#11 URIs', () => {
  it('parses and formats RFC 7512 examples', () => {
    const uri = parseUri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%D2;serial=?pin-value=the-pin');
    expect(uri).toMatchObject({
      token: 'The Software PKCS#11 Softtoken', manufacturer: 'Snake Oil, Inc.', model: '1.0', object: 'my-certificate', type: 'cert',
      serial: '', query: [['pin-value', 'the-pin']],
    });
    expect(uri.id).toEqual(new Uint8Array([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbe, 0x2d, 0xd2]));
    expect(parseUri(formatUri(uri))).toEqual(uri);
    expect(formatUri({ object: 'a b;c', id: new Uint8Array([1, 255]) })).toBe('pkcs11:object=a%20b%3bc;id=%01%ff');
    expect(parseUri('pkcs11:object=%E2%82%AC').object).toBe('€');
  });

  it('rejects malformed URIs with CKR_ARGUMENTS_BAD', () => {
    for (const bad of ['http://x', 'pkcs11:object', 'pkcs11:id=%zz', 'pkcs11:type=car', 'pkcs11:object=a;object=b', 'pkcs11:slot-id=x']) {
      expect(() => parseUri(bad), bad).toThrowError(/CKR_ARGUMENTS_BAD/);
    }
  });

  it('finds the objects a URI names on the matching token only', async () => {
    const connection = await connectTo(newHost());
    await initToken(connection);
    const session = await login(connection);
    const p11 = connection.pkcs11;
    const make = (label: string, id: number) => p11.C_CreateObject(session, [
      { type: CKA_CLASS, value: CKO_SECRET_KEY }, { type: 0x100 /* CKA_KEY_TYPE */, value: 0x1f /* CKK_AES */ },
      { type: CKA_VALUE, value: new Uint8Array(16).fill(id) }, { type: CKA_LABEL, value: label }, { type: CKA_ID, value: new Uint8Array([id]) },
    ]);
    const a = await make('alpha', 1);
    await make('beta', 2);
    expect(await findByUri(p11, session, 'pkcs11:token=client%20test;object=alpha;type=secret-key')).toEqual([a]);
    expect(await findByUri(p11, session, 'pkcs11:id=%01')).toEqual([a]);
    expect(await findByUri(p11, session, 'pkcs11:token=other;object=alpha')).toEqual([]);
    expect(await findByUri(p11, session, 'pkcs11:type=secret-key')).toHaveLength(2);
    expect(await findByUri(p11, session, 'pkcs11:type=data')).toEqual([]);
    await connection.close();
  });
});
