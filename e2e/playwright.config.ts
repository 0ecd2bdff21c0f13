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
  ],
  globalSetup: './persistence/global-setup.ts',
});
