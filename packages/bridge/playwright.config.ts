import { defineConfig } from '@playwright/test';

// The bridge in Debian's Chromium (/usr/bin/chromium): npx playwright test -c packages/bridge
export default defineConfig({
  testDir: './test/browser',
  testMatch: /.*\.spec\.ts/,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  reporter: [['list']],
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
