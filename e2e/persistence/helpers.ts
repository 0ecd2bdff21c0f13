/** Node-side helpers: C_ calls through the page's worker, with bytes as hex. */
import type { Page } from '@playwright/test';
import { ckrName } from '@vhsm/token';
import { hex, toWire } from './app/protocol.js';
import type { StartOptions } from './app/protocol.js';

export { hex };

export async function start(page: Page, options: StartOptions = {}): Promise<void> {
  await page.evaluate((o) => window.vhsm.start(o), options);
}

/** A C_ function that must succeed; bytes in the result come back as { $hex }. */
export async function call<T = unknown>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  const reply = await page.evaluate(([m, a]) => window.vhsm.call(m as string, ...(a as unknown[])), [method, toWire(args)] as const);
  if ('error' in reply) throw new Error(`${method}: ${reply.error.message}`);
  return reply.result as T;
}

/** The CKR_ name a C_ function fails with ('CKR_OK' if it succeeds). */
export async function rv(page: Page, method: string, ...args: unknown[]): Promise<string> {
  const reply = await page.evaluate(([m, a]) => window.vhsm.call(m as string, ...(a as unknown[])), [method, toWire(args)] as const);
  if (!('error' in reply)) return 'CKR_OK';
  return reply.error.code === undefined ? `not a Pkcs11Error: ${reply.error.message}` : ckrName(reply.error.code);
}

export function bytes(value: unknown): string {
  return (value as { $hex: string }).$hex;
}
