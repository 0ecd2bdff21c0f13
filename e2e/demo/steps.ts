/** Steps shared by the demo specs (worker mode and vault mode): what a person does in the page. */
import type { Locator, Page } from '@playwright/test';
import { expect } from '@playwright/test';

/** Chooses the option of `select` whose text contains `text`. */
export async function choose(select: Locator, text: string): Promise<void> {
  const value = await select.locator('option', { hasText: text }).first().getAttribute('value');
  expect(value, `an option containing "${text}"`).not.toBeNull();
  await select.selectOption(value as string);
}

export function objectRows(page: Page): Locator {
  return page.getByRole('table', { name: 'Objects' }).locator('tbody tr');
}

/** Signs with `keyLabel`'s private key in the playground, verifies, and checks a changed message fails. */
export async function signAndVerify(page: Page, keyLabel: string): Promise<void> {
  await page.getByRole('tab', { name: 'Playground' }).click();
  const sign = page.getByRole('region', { name: 'Sign and verify' });
  await choose(sign.getByLabel('Signing key'), `${keyLabel} — PRIVATE_KEY`);
  await choose(sign.getByLabel('Verification key'), `${keyLabel} — PUBLIC_KEY`);
  await sign.getByLabel('Mechanism').selectOption({ label: 'CKM_ECDSA_SHA256' });
  await sign.getByLabel('Message (UTF-8)').fill('signed in an e2e test');
  await sign.getByRole('button', { name: 'Sign', exact: true }).click();
  await expect(sign.locator('output')).toHaveText('C_Sign: 64-byte signature');
  await sign.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(sign.locator('output')).toHaveText('C_Verify: signature valid');
  // The same signature over another message must not verify.
  await sign.getByLabel('Message (UTF-8)').fill('signed in an e2e test!');
  await sign.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(sign.locator('output')).toHaveText(/signature INVALID/);
  await page.getByRole('tab', { name: 'Token explorer' }).click();
}
