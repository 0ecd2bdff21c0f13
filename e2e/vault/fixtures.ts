/**
 * Fixtures for the vault tests. Apps on `localhost` origins (one build of e2e/vault/app served on
 * several ports), the vault (apps/vault built with an allow-list naming those origins) served by
 * `vite preview` on 127.0.0.1 with its real headers: two sites, so the browser treats the vault as a
 * cross-site iframe (its storage is the test's `thirdParty` option). A fresh browser context per test. Any console error,
 * page error or uncaught web error fails the test, except those a test declares it expects.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, expect, test as base } from '@playwright/test';
import type { BrowserContext, Frame, FrameLocator, Page } from '@playwright/test';
import { build, preview } from 'vite';
import { CHROMIUM } from '../chromium.js';
import { buildPage } from '../worker/fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const VAULT_DIR = join(here, '..', '..', 'apps', 'vault');

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/** A static server on 127.0.0.1 without any security header; `host` names it in the origin. */
async function serveStatic(root: string, host: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://${host}:${(server.address() as AddressInfo).port}`, server };
}

export interface VaultSite {
  /** The vault served with its headers. */
  vault: string;
  /** The same vault build served without any header (to test the handshake's own check). */
  bareVault: string;
}

export interface Origins {
  /** Allowed. */
  app1: string;
  /** Allowed, isolated from app1. */
  app2: string;
  /** Allowed, and granted app1's objects. */
  app3: string;
  /** Not on the allow-list. */
  stranger: string;
  /** Vault: allow-list app1, app2, app3; grants app3 ← app1; dialogs inside the iframe. */
  main: VaultSite;
  /** Vault: allow-list app1; consent to sign; dialogs in a popup. */
  popup: VaultSite;
}

export interface Apps {
  context: BrowserContext;
  /** Opens the app on `origin` using `vault`; waits until its script is ready. */
  open(origin: string, vault: string): Promise<Page>;
  errors: string[];
  /** Console errors matching these are expected by the test (and required to occur). */
  expectErrors(pattern: RegExp): void;
}

async function buildVault(config: object, out: string): Promise<void> {
  process.env.VHSM_VAULT_CONFIG = JSON.stringify(config);
  try {
    await build({ root: VAULT_DIR, configFile: join(VAULT_DIR, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  } finally {
    delete process.env.VHSM_VAULT_CONFIG;
  }
}

export async function serveVault(config: object, out: string, closers: (() => Promise<void>)[]): Promise<VaultSite> {
  await buildVault(config, out);
  process.env.VHSM_VAULT_CONFIG = JSON.stringify(config);
  try {
    const server = await preview({
      root: VAULT_DIR, configFile: join(VAULT_DIR, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out },
      preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
    });
    closers.push(() => server.close());
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview did not report its address');
    const bare = await serveStatic(out, '127.0.0.1');
    closers.push(() => new Promise((resolve) => bare.server.close(() => resolve())));
    return { vault: url.replace(/\/$/, ''), bareVault: bare.origin };
  } finally {
    delete process.env.VHSM_VAULT_CONFIG;
  }
}

/**
 * The browser's third-party storage for the vault iframe:
 * - 'allowed': a profile that allows third-party site data (cookie_controls_mode 0);
 * - 'blocked': Chromium's default profile (third-party cookies blocked) as Playwright launches it,
 *   with storage partitioning turned off: the iframe gets no storage at all;
 * - 'partitioned': Chromium's default profile with Chromium's default storage partitioning: the
 *   iframe gets storage partitioned by the top-level site;
 * - 'granted': the same, where the browser already holds a storage-access grant for the vault's
 *   site under the apps' site — what accepting Chromium's own prompt stores, a `storage_access`
 *   content setting. (Headless Chromium cannot show that prompt; CDP Browser.setPermission only
 *   overrides the permission's state: the handle's storage stays denied.)
 */
export type ThirdParty = 'allowed' | 'blocked' | 'partitioned' | 'granted';

/** Playwright's --disable-features list without ThirdPartyStoragePartitioning (the last flag wins). */
const PARTITIONING = `--disable-features=${[
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades', 'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay', 'MediaRouter', 'PaintHolding', 'AvoidCorsURLLoaderRestartOnRedirect', 'OptimizationHints',
  'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch',
].join(',')}`;

function preferences(thirdParty: ThirdParty, origins: Origins): object {
  switch (thirdParty) {
    case 'allowed':
      return { profile: { cookie_controls_mode: 0 } };
    case 'granted': {
      // Grants are per (embedded site, top-level site): scheme and host, any port.
      const site = (origin: string): string => `${new URL(origin).protocol}//${new URL(origin).hostname}`;
      const key = `${site(origins.main.vault)},${site(origins.app1)}`;
      return { profile: { content_settings: { exceptions: { storage_access: { [key]: { setting: 1 } } } } } };
    }
    default:
      return {};
  }
}

export const test = base.extend<{ apps: Apps; thirdParty: ThirdParty }, { origins: Origins }>({
  thirdParty: ['allowed', { option: true }],

  // oxlint-disable-next-line no-empty-pattern
  origins: [async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'vhsm-vault-e2e-'));
    const closers: (() => Promise<void>)[] = [];
    try {
      await buildPage(join(here, 'app'), join(dir, 'app'));
      const apps = await Promise.all([1, 2, 3, 4].map(() => serveStatic(join(dir, 'app'), 'localhost')));
      for (const { server } of apps) closers.push(() => new Promise((resolve) => server.close(() => resolve())));
      const [app1 = '', app2 = '', app3 = '', stranger = ''] = apps.map((a) => a.origin);
      const main = await serveVault({ origins: [app1, app2, app3], grants: { [app3]: [app1] }, consent: { sign: false }, dialog: 'auto' },
        join(dir, 'vault-main'), closers);
      const popup = await serveVault({ origins: [app1], grants: {}, consent: { sign: true }, dialog: 'popup' }, join(dir, 'vault-popup'), closers);
      await use({ app1, app2, app3, stranger, main, popup });
    } finally {
      for (const close of closers) await close();
      await rm(dir, { recursive: true, force: true });
    }
  }, { scope: 'worker', timeout: 180_000 }],

  // A fresh profile per test, by default one that allows third-party site data: with third-party
  // cookies blocked (Chromium's default here) and partitioning off (as Playwright launches it) an
  // iframe of another site gets no storage unless granted. docs/vault.md, "Third-party storage".
  apps: async ({ thirdParty, origins }, use) => {
    const profile = await mkdtemp(join(tmpdir(), 'vhsm-vault-profile-'));
    await mkdir(join(profile, 'Default'));
    await writeFile(join(profile, 'Default', 'Preferences'), JSON.stringify(preferences(thirdParty, origins)));
    const context = await chromium.launchPersistentContext(profile,
      thirdParty === 'partitioned' || thirdParty === 'granted' ? { ...CHROMIUM, args: [...CHROMIUM.args, PARTITIONING] } : CHROMIUM);
    const errors: string[] = [];
    const expected: RegExp[] = [];
    const seen = new Set<RegExp>();
    const record = (message: string): void => {
      const match = expected.find((p) => p.test(message));
      if (match) seen.add(match);
      else errors.push(message);
    };
    context.on('weberror', (e) => record(`web: ${e.error().message}`));
    const watch = (page: Page): void => {
      page.on('console', (m) => {
        if (m.type() === 'error') record(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => record(`page: ${e.message}`));
    };
    context.on('page', watch);
    const apps: Apps = {
      context,
      errors,
      expectErrors: (pattern) => expected.push(pattern),
      async open(origin, vault) {
        const page = await context.newPage();
        await page.goto(`${origin}/?vault=${encodeURIComponent(vault)}`);
        await page.waitForFunction(() => 'vhsmVaultTest' in window);
        return page;
      },
    };
    await use(apps);
    await context.close();
    await rm(profile, { recursive: true, force: true });
    expect(errors, 'console errors').toEqual([]);
    expect(expected.filter((p) => !seen.has(p)), 'expected console errors that did not occur').toEqual([]);
  },
});

/** The vault iframe of `page`. */
export function vaultFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe[data-vhsm-vault]');
}

/** The vault iframe's Frame (to run code in the vault's origin, as the user's browser would). */
export function vaultFrameOf(page: Page, vault: string): Frame {
  const frame = page.frames().find((f) => f.url().startsWith(vault));
  if (!frame) throw new Error('no vault frame');
  return frame;
}

/**
 * Answers the vault's PIN dialog inside the iframe: fills the fields (in order) and presses OK once
 * the dialog enables it. Checks the dialog names `origin` as the one asking.
 */
export async function answerInFrame(page: Page, origin: string, pins: string[]): Promise<void> {
  const frame = vaultFrame(page);
  await expect(frame.getByTestId('origin')).toHaveText(origin);
  const inputs = frame.locator('input[type=password]');
  await expect(inputs).toHaveCount(pins.length);
  for (const [i, pin] of pins.entries()) await inputs.nth(i).fill(pin);
  await frame.getByRole('button', { name: 'OK' }).click();
}

export { expect };
