/**
 * The oracle: OpenSC (pkcs11-tool over pcscd) talks to our PIV emulator through vsmartcard's vpcd
 * and must list its objects and make signatures that verify. Needs scripts/pcscd-setup.sh.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenPgpCard, PivCard, VPCD_PORT, VpcdSession } from '../src/emulator/index.js';
import { parseCertificate } from '../src/piv.js';

const run = promisify(execFile);
// Each pkcs11-tool run binds both emulated cards through pcscd: seconds, not milliseconds.
vi.setConfig({ testTimeout: 60_000 });
const MODULE = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';
const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';

let pcscd: ChildProcess | undefined;
let socket: net.Socket | undefined;
let pgpSocket: net.Socket | undefined;
let card: PivCard;
let pgpPoint: Uint8Array;
let pgpAuthPoint: Uint8Array;
let pgpDecryptionPoint: Uint8Array;
const certs: Record<string, Uint8Array> = {};
const dir = mkdtempSync(join(tmpdir(), 'vhsm-opensc-'));

async function tool(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('pkcs11-tool', ['--module', MODULE, ...args], { timeout: 20_000 });
  return stdout + stderr;
}

async function pivTool(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('yubico-piv-tool', ['--reader', 'Virtual PCD 00 00', ...args], { timeout: 20_000 });
  return stdout + stderr;
}

/** vpcd's readers listen on consecutive ports: "Virtual PCD 00 00" on VPCD_PORT, "00 01" on the next. */
async function connectVpcd(deadline: number, port = VPCD_PORT): Promise<net.Socket> {
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function publicKey(der: Uint8Array): Promise<{ key: CryptoKey; algorithm: AlgorithmIdentifier | EcdsaParams }> {
  const info = parseCertificate(der).key!;
  if (info.type === 'ec') {
    const key = await crypto.subtle.importKey('raw', info.point.slice(), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return { key, algorithm: { name: 'ECDSA', hash: 'SHA-256' } };
  }
  const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  const key = await crypto.subtle.importKey('jwk', { kty: 'RSA', n: b64url(info.modulus), e: b64url(info.exponent) },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']);
  return { key, algorithm: 'RSASSA-PKCS1-v1_5' };
}

beforeAll(async () => {
  for (const needed of [MODULE, '/usr/sbin/pcscd', '/usr/lib/pcsc/drivers/serial/libifdvpcd.so', '/usr/bin/yubico-piv-tool']) {
    if (!existsSync(needed)) throw new Error(`${needed} is missing: run packages/bridge/scripts/pcscd-setup.sh`);
  }
  card = new PivCard({ pin: '123456' });
  certs['01'] = await card.provision(0x9a, 'vhsm oracle auth');
  certs['02'] = await card.provision(0x9c, 'vhsm oracle sign');
  certs['04'] = await card.provision(0x9e, 'vhsm oracle card auth', 'rsa2048');
  if (!existsSync(PCSCD_SOCKET)) {
    pcscd = spawn('/usr/sbin/pcscd', ['--foreground'], { stdio: 'ignore' });
  }
  socket = await connectVpcd(Date.now() + 15_000);
  const session = new VpcdSession(card, { write: (bytes) => socket!.write(bytes) });
  socket.on('data', (chunk: Buffer) => void session.receive(new Uint8Array(chunk)));
  const pgp = new OpenPgpCard({ pin: '123456', adminPin: '12345678' });
  pgpPoint = await pgp.provision();
  pgpAuthPoint = await pgp.provisionKey('aut');
  pgpDecryptionPoint = await pgp.provisionKey('dec');
  pgpSocket = await connectVpcd(Date.now() + 15_000, VPCD_PORT + 1);
  const pgpSession = new VpcdSession(pgp, { write: (bytes) => pgpSocket!.write(bytes) });
  pgpSocket.on('data', (chunk: Buffer) => void pgpSession.receive(new Uint8Array(chunk)));
  // pcscd polls the virtual reader: wait until OpenSC sees the token.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const slots = await tool('--list-token-slots').catch(() => '');
    if (/Virtual PCD 00 00\s+token label/.test(slots) && /OpenPGP card \(User PIN \(sig\)\)/.test(slots)) break;
    if (Date.now() > deadline) throw new Error(`OpenSC never saw the emulated card:\n${slots}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 60_000);

afterAll(() => {
  socket?.destroy();
  pgpSocket?.destroy();
  pcscd?.kill();
});

// First, while the card's PIN is not verified yet (pcscd keeps the card powered between tools).
describe('yubico-piv-tool agrees with the PIV emulator', () => {
  it('reports version, serial, both slots with their subjects, and the PIN tries', async () => {
    const status = await pivTool('--action', 'status');
    expect(status).toMatch(/Serial Number:\s+12345678/);
    expect(status).toMatch(/Slot 9a:\s+Algorithm:\s+ECCP256\s+Subject DN:\s+CN=vhsm oracle auth/);
    expect(status).toMatch(/Slot 9c:\s+Algorithm:\s+ECCP256\s+Subject DN:\s+CN=vhsm oracle sign/);
    expect(status).toMatch(/Slot 9e:\s+Algorithm:\s+RSA2048\s+Subject DN:\s+CN=vhsm oracle card auth/);
    expect(status).toMatch(/PIN tries left:\s+3/);
  });

  it.each(['9a', '9c', '9e'])('test-signature with slot %s verifies against the certificate it read', async (slot) => {
    const pem = join(dir, `cert-${slot}.pem`);
    await pivTool('--action', 'read-certificate', '--slot', slot, '--output', pem);
    const out = await pivTool('--action', 'verify-pin', '--pin', '123456', '--action', 'test-signature', '--slot', slot, '--input', pem);
    expect(out).toMatch(slot === '9e' ? /Successful RSA verification/ : /Successful ECDSA verification/);
  });
});

describe('OpenSC agrees with the PIV emulator (pcscd + vpcd)', () => {
  it('lists the certificates and keys with the OpenSC ids and labels', async () => {
    const listing = await tool('--login', '--pin', '123456', '--list-objects');
    expect(listing).toMatch(/Certificate Object; type = X\.509 cert\s+label:\s+Certificate for PIV Authentication[\s\S]*?ID:\s+01/);
    expect(listing).toMatch(/Certificate for Digital Signature[\s\S]*?ID:\s+02/);
    expect(listing).toMatch(/Private Key Object; EC[\s\S]*?label:\s+PIV AUTH key[\s\S]*?ID:\s+01/);
    expect(listing).toMatch(/SIGN key[\s\S]*?ID:\s+02[\s\S]*?Access:[^\n]*always authenticate/);
  });

  it('reads back the very certificate the card holds', async () => {
    const out = join(dir, 'cert.der');
    await tool('--read-object', '--type', 'cert', '--id', '01', '--output-file', out);
    expect(new Uint8Array(readFileSync(out))).toEqual(certs['01']);
  });

  it.each([['01', 'ECDSA-SHA256'], ['02', 'ECDSA-SHA256'], ['04', 'SHA256-RSA-PKCS']])('signs with key %s (%s) and the signature verifies with WebCrypto', async (id, mechanism) => {
    const input = join(dir, `in-${id}`);
    const output = join(dir, `sig-${id}`);
    const data = new TextEncoder().encode(`oracle data for ${id}`);
    writeFileSync(input, data);
    await tool('--login', '--pin', '123456', '--sign', '--id', id, '--mechanism', mechanism, '--input-file', input, '--output-file', output);
    const signature = new Uint8Array(readFileSync(output));
    expect(signature.length).toBe(id === '04' ? 256 : 64);
    const { key, algorithm } = await publicKey(certs[id]!);
    expect(await crypto.subtle.verify(algorithm, key, signature, data)).toBe(true);
    expect(await crypto.subtle.verify(algorithm, key, signature, Uint8Array.of(0))).toBe(false);
  });

  it('a wrong PIN is refused by the card as OpenSC sees it', async () => {
    await expect(tool('--login', '--pin', '999999', '--list-objects')).rejects.toThrow(/CKR_PIN_INCORRECT/);
    // The right PIN afterwards resets the counter.
    expect(await tool('--login', '--pin', '123456', '--list-objects')).toMatch(/PIV AUTH key/);
  });
});

describe('OpenSC agrees with the OpenPGP card emulator', () => {
  const token = ['--token-label', 'OpenPGP card (User PIN (sig))'];

  it('reads the card as OpenPGP 3.4 and lists the signature key with its public point', async () => {
    const slots = await tool('--list-token-slots');
    expect(slots).toMatch(/OpenPGP card \(User PIN \(sig\)\)[\s\S]*?hardware version\s+:\s+3\.4[\s\S]*?serial num\s+:\s+fffe01020304/);
    const listing = await tool(...token, '--login', '--pin', '123456', '--list-objects');
    expect(listing).toMatch(/Private Key Object; EC\s+label:\s+Signature key\s+ID:\s+01/);
    const hexPoint = [...pgpPoint].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(listing).toContain(`EC_POINT:   0441${hexPoint}`);
  });

  it('signs with PSO:CDS (ECDSA-SHA256) and the signature verifies with WebCrypto', async () => {
    const input = join(dir, 'in-pgp');
    const output = join(dir, 'sig-pgp');
    const data = new TextEncoder().encode('oracle data for the OpenPGP card');
    writeFileSync(input, data);
    await tool(...token, '--login', '--pin', '123456', '--sign', '--id', '01', '--mechanism', 'ECDSA-SHA256', '--input-file', input, '--output-file', output);
    const signature = new Uint8Array(readFileSync(output));
    const key = await crypto.subtle.importKey('raw', pgpPoint.slice(), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data)).toBe(true);
  });

  const userToken = ['--token-label', 'OpenPGP card (User PIN)'];

  it('lists the decryption and authentication keys and signs with the authentication key (INTERNAL AUTHENTICATE)', async () => {
    const listing = await tool(...userToken, '--login', '--pin', '123456', '--list-objects');
    expect(listing).toMatch(/Private Key Object; EC\s+label:\s+Encryption key\s+ID:\s+02\s+Usage:\s+derive/);
    expect(listing).toMatch(/Private Key Object; EC\s+label:\s+Authentication key\s+ID:\s+03\s+Usage:\s+sign/);
    const input = join(dir, 'in-pgp-aut');
    const output = join(dir, 'sig-pgp-aut');
    const data = new TextEncoder().encode('a server challenge');
    writeFileSync(input, data);
    await tool(...userToken, '--login', '--pin', '123456', '--sign', '--id', '03', '--mechanism', 'ECDSA-SHA256', '--input-file', input, '--output-file', output);
    const key = await crypto.subtle.importKey('raw', pgpAuthPoint.slice(), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, new Uint8Array(readFileSync(output)), data)).toBe(true);
  });

  it('derives the ECDH secret with the decryption key (PSO:DECIPHER) that WebCrypto computes', async () => {
    const peer = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const input = join(dir, 'peer.der');
    const output = join(dir, 'z-pgp');
    writeFileSync(input, new Uint8Array(await crypto.subtle.exportKey('spki', peer.publicKey)));
    await tool(...userToken, '--login', '--pin', '123456', '--derive', '--id', '02', '--mechanism', 'ECDH1-DERIVE', '--input-file', input, '--output-file', output);
    const cardKey = await crypto.subtle.importKey('raw', pgpDecryptionPoint.slice(), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const expected = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: cardKey }, peer.privateKey, 256));
    expect(new Uint8Array(readFileSync(output))).toEqual(expected);
  });
});
