/**
 * The differential run: vhsm's engine (spec policy) against SoftHSM2, cross-verification both ways,
 * and the same scenarios under the strict policy. The report (docs/conformance-table.md's content)
 * is written to $CONFORMANCE_TABLE when set (CI keeps it as an artifact; `pnpm --filter
 * @vhsm/conformance run table` writes the committed copy).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { Cryptoki } from '@vhsm/token';
import {
  ALL_SCENARIOS,
  CROSS_SCENARIOS,
  agreement,
  compareRuns,
  crossPassed,
  runConformance,
  runCrossVerification,
  softHsmBackend,
} from '../src/index.js';
import type { ComparisonRow, CrossResult, MakeBackend, ScenarioResult } from '../src/index.js';
import { auditDifferences } from '../src/differences.js';
import { conformanceReport, policyDifferences } from '../src/report.js';

const vhsmBackend = (policy: 'spec' | 'strict'): MakeBackend => async () => ({
  p11: new Cryptoki({ policy, pbkdf2Iterations: 1000 }),
  close: async () => {},
});

let spec: ScenarioResult[];
let strict: ScenarioResult[];
let rows: ComparisonRow[];
let strictRows: ComparisonRow[];
let cross: CrossResult[];
let report: string;

beforeAll(async () => {
  spec = await runConformance(vhsmBackend('spec'), ALL_SCENARIOS);
  rows = compareRuns(spec, await runConformance(softHsmBackend, ALL_SCENARIOS));
  strict = await runConformance(vhsmBackend('strict'), ALL_SCENARIOS);
  strictRows = compareRuns(spec, strict);
  cross = await runCrossVerification({ name: 'vhsm', make: vhsmBackend('spec') }, { name: 'SoftHSM2', make: softHsmBackend }, CROSS_SCENARIOS);
  const softhsm = await softHsmBackend();
  await softhsm.p11.C_Initialize();
  const info = await softhsm.p11.C_GetInfo();
  await softhsm.close();
  const setting = `vhsm: \`new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 })\` on Node ${process.versions.node}; ` +
    `reference: ${info.libraryDescription.trim()} ${info.libraryVersion.major}.${info.libraryVersion.minor} (${info.manufacturerID.trim()}).`;
  report = conformanceReport({ rows, names: ['vhsm (spec)', 'SoftHSM2'], setting, cross, strict: strictRows });
  const path = process.env['CONFORMANCE_TABLE'];
  if (path !== undefined && path !== '') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, report);
  }
  const { agreed, calls, ratio } = agreement(rows);
  console.log(`conformance: ${agreed} of ${calls} calls agree with SoftHSM2 (${(ratio * 100).toFixed(1)}%); ` +
    `cross-verification ${cross.filter(crossPassed).length}/${cross.length}; strict differs on ${policyDifferences(strictRows).length} calls`);
}, 180_000);

describe('vhsm (spec) against SoftHSM2', () => {
  test('the engine answers every scenario with CK_RVs, never another error', () => {
    expect(spec.filter((r) => r.error !== undefined).map((r) => `${r.scenario}: ${r.error}`)).toEqual([]);
  });

  test('both backends make the same calls in every scenario', () => {
    // Outcomes may differ; the sequence of calls may not, or the table would pair unrelated calls.
    expect(rows.filter((r) => r.a === '—' || r.b === '—' || r.call.startsWith('error'))).toEqual([]);
  });

  test('at least 95% of the calls agree', () => {
    expect(agreement(rows).ratio).toBeGreaterThanOrEqual(0.95);
  });

  test('every difference is documented, and every documented difference still differs', () => {
    const { undocumented, stale } = auditDifferences(rows);
    expect(undocumented).toEqual([]);
    expect(stale).toEqual([]);
  });
});

describe('cross-verification', () => {
  test('every scenario passes both ways: vhsm → SoftHSM2 and SoftHSM2 → vhsm', () => {
    expect(cross.filter((r) => !crossPassed(r))).toEqual([]);
    const runs = new Set(cross.map((r) => `${r.scenario}: ${r.producer} → ${r.consumer}`));
    for (const s of CROSS_SCENARIOS) {
      expect(runs).toContain(`${s.name}: vhsm → SoftHSM2`);
      expect(runs).toContain(`${s.name}: SoftHSM2 → vhsm`);
    }
  });
});

describe('the strict policy', () => {
  test('answers every scenario with CK_RVs, never another error', () => {
    expect(strict.filter((r) => r.error !== undefined).map((r) => `${r.scenario}: ${r.error}`)).toEqual([]);
  });

  test('stops the tookan case that the spec policy lets through, when the key is made', () => {
    const tookan = policyDifferences(strictRows).filter(({ row }) => row.scenario === 'tookan: wrap with a key that can also decrypt');
    // The first difference: a key that can wrap and decrypt is never made.
    expect(tookan[0]).toMatchObject({ follows: false, row: { call: 'C_CreateObject', b: 'CKR_TEMPLATE_INCONSISTENT' } });
    expect(tookan.find(({ row }) => row.call === 'the sensitive key came out in clear')?.row).toMatchObject({ a: 'true', b: 'false' });
  });

  test('a refused creation alone does not make later handles count as differences', () => {
    const rows = policyDifferences([
      { chapter: 'c', scenario: 's', call: 'C_CreateObject', a: 'CKR_OK #1', b: 'CKR_TEMPLATE_INCONSISTENT', agree: false },
      { chapter: 'c', scenario: 's', call: 'C_CreateObject', a: 'CKR_OK #2', b: 'CKR_OK #1', agree: false },
      { chapter: 'c', scenario: 's', call: 'C_WrapKey', a: 'CKR_OK 24 bytes', b: 'CKR_ARGUMENTS_BAD', agree: false },
    ]);
    expect(rows.map(({ row, follows }) => [row.call, follows])).toEqual([['C_CreateObject', false], ['C_WrapKey', true]]);
  });
});

describe('the report', () => {
  test('states the agreement, explains each difference, and lists cross-verification and strict refusals', () => {
    const { agreed, calls } = agreement(rows);
    expect(report).toContain(`**${agreed} of ${calls} calls agree`);
    expect(report).not.toContain('UNDOCUMENTED');
    expect(report).toContain(`${cross.length} of ${cross.length} cross-verifications pass.`);
    expect(report).toContain('| wrap/tookan: wrap with a key that can also decrypt | C_DecryptInit | CKR_OK |');
    expect(report.split('\n').filter((l) => l.endsWith('| NO |'))).toHaveLength(calls - agreed);
  });
});
