/**
 * Fixtures for the demo tests: apps/demo built with its own Vite config (workspace packages from
 * their sources) into a temp directory and served by `vite preview` on a local origin, once per
 * Playwright worker; a fresh browser context per test. Any console error, page error or uncaught
 * web error (the workers' included) fails the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test as base } from '@playwright/test';
import type { Page } from '@playwright/test';
import { build, preview } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
export const DEMO_DIR = join(here, '..', '..', 'apps', 'demo');

export interface Demo {
  page: Page;
  /** Opens the demo (optionally at a view: 'explorer', 'playground', 'trace', 'attacks') and waits until it is ready. */
  open(view?: string): Promise<void>;
  errors: string[];
}

export const test = base.extend<{ demo: Demo }, { origin: string }>({
  // Playwright reads fixture dependencies from the destructuring pattern: an empty one means none.
  // oxlint-disable-next-line no-empty-pattern
  origin: [async ({}, use) => {
    const out = await mkdtemp(join(tmpdir(), 'vhsm-demo-e2e-'));
    const configFile = join(DEMO_DIR, 'vite.config.ts');
    await build({ root: DEMO_DIR, configFile, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    const server = await preview({ root: DEMO_DIR, configFile, logLevel: 'warn', build: { outDir: out }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview did not report its address');
    await use(url.replace(/\/$/, ''));
    await server.close();
    await rm(out, { recursive: true, force: true });
  }, { scope: 'worker', timeout: 120_000 }],

  demo: async ({ page, context, origin }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    page.on('worker', (w) => w.on('console', (m) => {
      if (m.type() === 'error') errors.push(`worker console: ${m.text()}`);
    }));
    context.on('weberror', (e) => errors.push(`web: ${e.error().message}`));
    // Everything comes from the demo's own origin: no CDN, no web fonts.
    context.on('request', (r) => {
      if (!r.url().startsWith(origin) && !/^(data|blob):/.test(r.url())) errors.push(`external request: ${r.url()}`);
    });
    const demo: Demo = {
      page,
      errors,
      async open(view = 'explorer') {
        await page.goto(`${origin}/#${view}`);
        await expect(page.locator('body[data-ready="true"]')).toBeAttached({ timeout: 30_000 });
      },
    };
    await use(demo);
    expect(errors, 'console errors').toEqual([]);
  },
});

export { expect };
