/**
 * Boundary bench: worker path ÷ raw crypto.subtle in the same Chromium page, in one run. Prints the
 * ratios (median of paired rounds) for the shared and the dedicated worker; asserts nothing about time.
 * Run: cd e2e && npx playwright test --project=worker-bench
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, test } from '@playwright/test';
import { CHROMIUM } from '../../e2e/chromium.js';
import { serve } from '../../e2e/persistence/server.js';
import { buildPage } from '../../e2e/worker/fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));

test('worker path ÷ raw crypto.subtle', async () => {
  const out = await mkdtemp(join(tmpdir(), 'vhsm-worker-bench-'));
  await buildPage(join(here, 'app'), out);
  const { origin, server } = await serve(out);
  const browser = await chromium.launch(CHROMIUM);
  try {
    const errors: string[] = [];
    const lines = [`chromium ${browser.version()}`];
    // Shared mode is the default; dedicated mode is what browsers without SharedWorker (Chrome on
    // Android) get. Each in a fresh context, so each initializes its own token.
    for (const mode of ['shared', 'dedicated'] as const) {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => 'runWorkerBench' in window);
      const { results, roundTripMicros } = await page.evaluate((m) => window.runWorkerBench(undefined, undefined, undefined, m), mode);
      lines.push(
        `${mode} worker, round trip of one C_ call: ${roundTripMicros.toFixed(1)} µs`,
        'case                          in flight   raw ops/s   vhsm ops/s   ratio',
        ...results.map((r) => `${r.name.padEnd(30)}${String(r.inFlight).padStart(9)}${r.rawOpsPerSecond.toFixed(0).padStart(12)}${r.vhsmOpsPerSecond.toFixed(0).padStart(13)}${r.ratio.toFixed(2).padStart(8)}`),
      );
      await context.close();
    }
    console.log(lines.join('\n'));
    if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(out, { recursive: true, force: true });
  }
});
