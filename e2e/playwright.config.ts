import { defineConfig } from '@playwright/test';
import { CHROMIUM } from './chromium.js';

export default defineConfig({
  // Two shared cores: one browser at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: [['list']],
  use: { launchOptions: CHROMIUM },
  projects: [
    {
      name: 'persistence',
      testDir: './persistence',
      testMatch: /.*\.spec\.ts/,
      timeout: 120_000,
    },
    // Figures for docs/storage.md, not assertions on time: only with VHSM_BENCH=1 (bench:persistence).
    ...(process.env.VHSM_BENCH === '1'
      ? [{ name: 'persistence-bench', testDir: './persistence', testMatch: /.*\.bench\.ts/, timeout: 1_800_000 }]
      : []),
    {
      // The worker host and page client (issue 4): builds its own page in a worker-scoped fixture.
      name: 'worker',
      testDir: './worker',
      testMatch: /.*\.spec\.ts/,
      timeout: 120_000,
    },
    {
      // The conformance scenarios through connect() and a worker, against the same run in Node (issue 7).
      name: 'conformance',
      testDir: './conformance',
      testMatch: /.*\.spec\.ts/,
      timeout: 300_000,
    },
    {
      // Worker path ÷ raw crypto.subtle ratios: figures, not assertions; run on demand.
      name: 'worker-bench',
      testDir: '../bench/worker',
      testMatch: /.*\.bench\.ts/,
      timeout: 600_000,
    },
    // IndexedDB creation rate, login with 10 k private objects, connect() to first signature, through
    // the packaged worker (issue 8): figures for docs/performance.md, only with VHSM_BENCH=1 (bench:chromium).
    ...(process.env.VHSM_BENCH === '1'
      ? [{ name: 'chromium-bench', testDir: '../bench/chromium', testMatch: /.*\.bench\.ts/, timeout: 1_800_000 }]
      : []),
    {
      // The demo app (issue 6): apps/demo built and served by `vite preview` in a worker-scoped fixture.
      name: 'demo',
      testDir: './demo',
      testMatch: /.*\.spec\.ts/,
      timeout: 180_000,
    },
    {
      // The cross-origin vault (issue 10): apps on localhost origins, apps/vault on 127.0.0.1.
      name: 'vault',
      testDir: './vault',
      testMatch: /.*\.spec\.ts/,
      timeout: 180_000,
    },
    // Regenerates docs/screenshots/*.png from the running demo: only with VHSM_SCREENSHOTS=1.
    ...(process.env.VHSM_SCREENSHOTS === '1'
      ? [{ name: 'demo-screenshots', testDir: './demo', testMatch: /.*\.shots\.ts/, timeout: 300_000 }]
      : []),
  ],
  globalSetup: './persistence/global-setup.ts',
});
