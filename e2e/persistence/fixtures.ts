/**
 * Fixtures: the built page on a local origin (one per Playwright worker, so the origin and its
 * IndexedDB outlive browser restarts within a test), and a browser profile in a temp directory that
 * can be closed and launched again. Any console error, page error or worker error fails the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test as base } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { CHROMIUM } from '../chromium.js';
import { OUT_DIR } from './build.js';
import { serve } from './server.js';

export interface Profile {
  origin: string;
  /** Launch the browser on this profile (if it is not running) and open the test page in a new tab. */
  page(): Promise<Page>;
  /** Quit the browser; the profile directory stays. */
  quit(): Promise<void>;
  /** Console, page and worker errors so far: the fixture fails the test if there are any. */
  errors: string[];
}

export const test = base.extend<{ profile: Profile }, { origin: string }>({
  // Playwright reads fixture dependencies from the destructuring pattern: an empty one means none.
  // oxlint-disable-next-line no-empty-pattern
  origin: [async ({}, use) => {
    const { origin, server } = await serve(OUT_DIR);
    await use(origin);
    await new Promise((resolve) => server.close(resolve));
  }, { scope: 'worker' }],

  profile: async ({ origin }, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'vhsm-profile-'));
    const errors: string[] = [];
    let context: BrowserContext | undefined;
    const watch = (page: Page) => {
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
      page.on('worker', (w) => w.on('console', (m) => {
        if (m.type() === 'error') errors.push(`worker console: ${m.text()}`);
      }));
    };
    const profile: Profile = {
      origin,
      errors,
      async page() {
        if (!context) {
          context = await chromium.launchPersistentContext(dir, CHROMIUM);
          context.on('weberror', (e) => errors.push(`web: ${e.error().message}`));
          // A persistent context opens with a blank tab: use it.
          const blank = context.pages()[0];
          if (blank) {
            watch(blank);
            await blank.goto(`${origin}/`);
            return blank;
          }
        }
        const page = await context.newPage();
        watch(page);
        await page.goto(`${origin}/`);
        return page;
      },
      async quit() {
        await context?.close();
        context = undefined;
      },
    };
    await use(profile);
    await profile.quit();
    await rm(dir, { recursive: true, force: true });
    expect(errors, 'console errors').toEqual([]);
  },
});

export { expect };
