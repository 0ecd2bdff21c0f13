/**
 * Regenerates docs/screenshots/*.png (explorer, playground, trace, attack lab) from the built demo:
 * `VHSM_SCREENSHOTS=1 pnpm --filter @vhsm/e2e exec playwright test --project=demo-screenshots`.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from './fixtures.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');

test('screenshots for the docs', async ({ demo }) => {
  const { page } = demo;
  await mkdir(OUT, { recursive: true });
  await page.setViewportSize({ width: 1440, height: 1100 });
  await demo.open();
  await page.getByLabel('SO PIN').fill('so-pin-for-docs');
  await page.getByLabel('User PIN').fill('user-pin-for-docs');
  await page.getByRole('button', { name: 'Initialize token' }).click();
  await expect(page.getByText('Token ready: log in with the user PIN.')).toBeVisible({ timeout: 60_000 });
  await page.getByLabel('PIN', { exact: true }).fill('user-pin-for-docs');
  await page.getByRole('button', { name: 'Log in' }).click();
  const generate = page.getByRole('region', { name: 'Generate a key' });
  for (const [kind, label] of [['EC P-256', 'signing key'], ['AES-256', 'data key']] as const) {
    await generate.getByLabel('Kind').selectOption({ label: kind });
    await generate.getByLabel('Label').fill(label);
    await generate.getByRole('button', { name: 'Generate' }).click();
    await expect(generate.locator('output')).toHaveText(/Created object/);
  }

  await page.getByRole('tab', { name: 'Playground' }).click();
  const sign = page.getByRole('region', { name: 'Sign and verify' });
  await sign.getByLabel('Mechanism').selectOption({ label: 'CKM_ECDSA_SHA256' });
  await sign.getByRole('button', { name: 'Sign', exact: true }).click();
  await sign.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(sign.locator('output')).toHaveText('C_Verify: signature valid');
  await page.getByRole('button', { name: 'Make self-signed certificate and store it' }).click();
  await expect(page.getByText(/Stored as CKO_CERTIFICATE object/)).toBeVisible();
  await page.screenshot({ path: join(OUT, 'playground.png') });

  await page.getByRole('tab', { name: 'Call trace' }).click();
  await page.screenshot({ path: join(OUT, 'trace.png') });

  await page.getByRole('tab', { name: 'Token explorer' }).click();
  const objects = page.getByRole('table', { name: 'Objects' }).locator('tbody tr');
  await objects.filter({ hasText: 'PRIVATE_KEY' }).getByRole('button').click();
  await expect(page.locator('tr.withheld').first()).toBeVisible();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, 'explorer.png') });
  await page.screenshot({ path: join(OUT, 'explorer-full.png'), fullPage: true });

  await page.getByRole('tab', { name: 'Attack lab' }).click();
  await page.getByRole('button', { name: 'Run every attack' }).click();
  await expect(page.getByText(/^ran \d+ scenarios$/)).toBeVisible({ timeout: 240_000 });
  await page.screenshot({ path: join(OUT, 'attack-lab.png') });
  await page.getByRole('region', { name: 'A1: wrap/decrypt' }).screenshot({ path: join(OUT, 'attack-lab-a1.png') });
});
