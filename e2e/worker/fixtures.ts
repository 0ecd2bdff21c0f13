/**
 * Fixtures for the worker tests: the test page built with Vite (workspace packages from their
 * sources) and served on a local origin, one browser per Playwright worker, a fresh context per test.
 * Any console error, page error or uncaught web error fails the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, expect, test as base } from '@playwright/test';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { build } from 'vite';
import { CHROMIUM } from '../chromium.js';
import { serve } from '../persistence/server.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds an app directory (index.html + modules) to `out`. */
export async function buildPage(root: string, out: string): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root,
    resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
    worker: { format: 'es' },
    build: { outDir: out, emptyOutDir: true, target: 'es2022', minify: false },
  });
}

export interface Tabs {
  context: BrowserContext;
  /** Opens the test page in a new tab of this context. */
  open(): Promise<Page>;
  errors: string[];
}

export const test = base.extend<{ tabs: Tabs }, { origin: string; browser2: Browser }>({
  // oxlint-disable-next-line no-empty-pattern
  origin: [async ({}, use) => {
    const out = await mkdtemp(join(tmpdir(), 'vhsm-worker-e2e-'));
    await buildPage(join(here, 'app'), out);
    const { origin, server } = await serve(out);
    await use(origin);
    await new Promise((resolve) => server.close(resolve));
    await rm(out, { recursive: true, force: true });
  }, { scope: 'worker' }],

  // oxlint-disable-next-line no-empty-pattern
  browser2: [async ({}, use) => {
    const browser = await chromium.launch(CHROMIUM);
    await use(browser);
    await browser.close();
  }, { scope: 'worker' }],

  tabs: async ({ origin, browser2 }, use) => {
    const context = await browser2.newContext();
    const errors: string[] = [];
    context.on('weberror', (e) => errors.push(`web: ${e.error().message}`));
    const tabs: Tabs = {
      context,
      errors,
      async open() {
        const page = await context.newPage();
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(`console: ${m.text()}`);
        });
        page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => 'vhsmTest' in window);
        return page;
      },
    };
    await use(tabs);
    await context.close();
    expect(errors, 'console errors').toEqual([]);
  },
});

export { expect };
