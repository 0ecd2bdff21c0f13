/**
 * The conformance scenarios in Chromium, against vhsm in a dedicated worker reached through connect()
 * (@vhsm/client), compared call by call with the same scenarios on the engine in Node. They must
 * agree on every call: the worker boundary, the structured clone and the browser's WebCrypto change
 * nothing a PKCS#11 caller can see. The table goes to $CONFORMANCE_BROWSER_TABLE when set.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import type { Server } from 'node:http';
import { buildConformance, OUT_DIR } from './build.js';
import { serve } from '../persistence/server.js';

type NodeSide = typeof import('./node.js');

let origin: string;
let server: Server;
let node: NodeSide;

test.beforeAll(async () => {
  await buildConformance();
  node = (await import(pathToFileURL(join(OUT_DIR, 'node', 'node.js')).href)) as NodeSide;
  ({ origin, server } = await serve(OUT_DIR));
});

test.afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

test('every scenario answers the same in Chromium through the worker as in Node', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'conformance' in globalThis);
  const browser = await page.evaluate(() => (globalThis as unknown as { conformance(): Promise<unknown> }).conformance()) as Awaited<ReturnType<NodeSide['runInNode']>>;
  const inNode = await node.runInNode();

  expect(browser.filter((r) => r.error !== undefined).map((r) => `${r.scenario}: ${r.error}`)).toEqual([]);
  expect(browser.map((r) => r.scenario)).toEqual(inNode.map((r) => r.scenario));
  const rows = node.compareRuns(inNode, browser);
  const path = process.env['CONFORMANCE_BROWSER_TABLE'];
  if (path !== undefined && path !== '') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${node.formatTable(rows, ['vhsm in Node', 'vhsm in Chromium (worker)'])}\n`);
  }
  const { agreed, calls } = node.agreement(rows);
  console.log(`conformance in Chromium: ${agreed} of ${calls} calls agree with Node`);
  expect(rows.filter((r) => !r.agree)).toEqual([]);
  expect(calls).toBeGreaterThan(400);
  expect(errors).toEqual([]);
});
