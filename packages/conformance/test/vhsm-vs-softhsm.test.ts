/**
 * The differential run: vhsm's engine (spec policy) against SoftHSM2. The engine must answer every
 * scenario with CK_RVs only; the table of agreements is printed, and written to $CONFORMANCE_TABLE
 * when set (CI keeps it as an artifact). docs/conformance.md explains the differences.
 */
import { writeFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { Cryptoki } from '@vhsm/token';
import { ALL_SCENARIOS, agreement, compareRuns, formatTable, runConformance, softHsmBackend } from '../src/index.js';
import type { ComparisonRow, ScenarioResult } from '../src/index.js';

let vhsm: ScenarioResult[];
let rows: ComparisonRow[];

beforeAll(async () => {
  vhsm = await runConformance(async () => ({
    p11: new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 }),
    close: async () => {},
  }), ALL_SCENARIOS);
  rows = compareRuns(vhsm, await runConformance(softHsmBackend, ALL_SCENARIOS));
  const table = formatTable(rows, ['vhsm (spec)', 'SoftHSM2']);
  const path = process.env['CONFORMANCE_TABLE'];
  if (path !== undefined && path !== '') writeFileSync(path, `${table}\n`);
  const { agreed, calls, ratio } = agreement(rows);
  console.log(`conformance: ${agreed} of ${calls} calls agree with SoftHSM2 (${(ratio * 100).toFixed(1)}%)`);
}, 120_000);

test('the engine answers every scenario with CK_RVs, never another error', () => {
  expect(vhsm.filter((r) => r.error !== undefined).map((r) => `${r.scenario}: ${r.error}`)).toEqual([]);
});

test('both backends make the same calls in every scenario', () => {
  // Outcomes may differ; the sequence of calls may not, or the table would pair unrelated calls.
  expect(rows.filter((r) => r.a === '—' || r.b === '—')).toEqual([]);
});
