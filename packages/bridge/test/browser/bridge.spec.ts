/**
 * The bridge in Chromium: the emulated card behind an injected USBDevice, and the WebAuthn PRF
 * unlock with the CDP virtual authenticator (ctap2, PRF on). Run: npx playwright test -c packages/bridge
 */
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { CKS_RO_USER_FUNCTIONS } from '@vhsm/pkcs11';
import { build } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
let server: Server;
let origin: string;

test.beforeAll(async () => {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: here,
    resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
    build: { outDir: out, emptyOutDir: true, target: 'es2022', minify: false, lib: { entry: { page: join(here, 'page.ts') }, formats: ['es'] } },
  });
  const types: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html' };
  server = createServer((request, response) => {
    const name = (request.url ?? '/').split('?')[0] === '/' ? 'index.html' : (request.url ?? '').slice(1).split('?')[0]!;
    const file = name === 'index.html' ? join(here, 'index.html') : join(out, name.replace(/\.\./g, ''));
    response.setHeader('content-type', types[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).on('error', () => response.writeHead(404).end()).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // WebAuthn needs a secure context and a registrable domain: http://localhost is both.
  origin = `http://localhost:${(server.address() as AddressInfo).port}`;
});

test.afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('PIV card through an injected USBDevice: login, certificate, 9A and 9C signatures verify, unplug removes the slot', async ({ page }) => {
  await page.goto(`${origin}/`);
  await expect(page).toHaveTitle('ready');
  const result = await page.evaluate(() => (globalThis as unknown as { vhsmBridge: { cardFlow(): Promise<unknown> } }).vhsmBridge.cardFlow());
  expect(result).toEqual({ slot: 1, sameCertificate: true, verified9a: true, verified9c: true, slotsAfterUnplug: [0] });
});

test('WebAuthn PRF unlock with the virtual authenticator: the PRF output opens a real token beside its PIN, after a reload', async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'usb', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, hasPrf: true, automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${origin}/`);
  await expect(page).toHaveTitle('ready');
  const result = await page.evaluate(() => (globalThis as unknown as { vhsmBridge: { prfFlow(): Promise<unknown> } }).vhsmBridge.prfFlow());
  expect(result).toEqual({
    length: 32, repeatable: true, saltMatters: true, wrongSecretRefused: 'CKR_PIN_INCORRECT', countedLow: true,
    state: CKS_RO_USER_FUNCTIONS, signedWithKey: true, afterReset: 'CKR_PIN_INCORRECT', factorsAfterReset: 0,
  });
});

test('an ordinary page of stock Chromium: WebUSB and WebHID exist, smart cards and FIDO over HID are not offered', async ({ page }) => {
  await page.goto(`${origin}/`);
  await expect(page).toHaveTitle('ready');
  const support = await page.evaluate(() => (globalThis as unknown as { vhsmBridge: { support(): Promise<unknown> } }).vhsmBridge.support());
  expect(support).toMatchObject({ webUsb: true, webHid: true, isolated: false, electron: false, smartCards: false, fidoHid: false });
});
