import { beforeAll, describe, expect, test } from 'vitest';
import { ALL_SCENARIOS, agreement, compareRuns, formatTable, runConformance, softHsmBackend } from '../src/index.js';
import type { CallRecord, ScenarioResult } from '../src/index.js';
import { AES_KEY, bytes } from '../src/scenarios/material.js';

let first: ScenarioResult[];
let second: ScenarioResult[];

beforeAll(async () => {
  first = await runConformance(softHsmBackend, ALL_SCENARIOS);
  second = await runConformance(softHsmBackend, ALL_SCENARIOS);
}, 120_000);

function record(results: ScenarioResult[], scenario: string, call: string): CallRecord {
  const found = results.find((r) => r.scenario === scenario)?.records.find((r) => r.call === call);
  if (found === undefined) throw new Error(`no record ${call} in ${scenario}`);
  return found;
}

describe('the suite on SoftHSM2', () => {
  test('covers every chapter and runs every scenario to its end', () => {
    expect(new Set(first.map((r) => r.chapter))).toEqual(
      new Set(['init', 'slot', 'session', 'login', 'object', 'key', 'cipher', 'sign', 'digest', 'rng', 'wrap', 'derive']),
    );
    expect(first.filter((r) => r.error !== undefined)).toEqual([]);
    expect(first.reduce((n, r) => n + r.records.length, 0)).toBeGreaterThan(150);
  });

  test('two fresh SoftHSM2 tokens agree on every call: the normalization removes handles and randomness', () => {
    const rows = compareRuns(first, second);
    expect(rows.filter((r) => !r.agree)).toEqual([]);
    expect(agreement(rows).ratio).toBe(1);
  });

  test('records carry the module answers', () => {
    expect(record(first, 'user login outcomes', 'C_Login wrong PIN').rv).toBe('CKR_PIN_INCORRECT');
    expect(record(first, 'user login outcomes', 'C_Login again').rv).toBe('CKR_USER_ALREADY_LOGGED_IN');
    // The spec says CKR_USER_NOT_LOGGED_IN; SoftHSM2 2.6.1 answers CKR_OK.
    expect(record(first, 'user login outcomes', 'C_Logout not logged in').rv).toBe('CKR_OK');
    expect(record(first, 'attribute errors', 'C_GetAttributeValue sensitive').rv).toBe('CKR_ATTRIBUTE_SENSITIVE');
    expect(record(first, 'ECDSA P-256 with SHA-256', 'C_Verify tampered')).toMatchObject({ rv: 'CKR_OK', out: 'false' });
    expect(record(first, 'ECDSA P-256 with SHA-256', 'WebCrypto verifies the signature').out).toBe('true');
    expect(record(first, 'ECDH1 P-256 agrees with WebCrypto', 'same secret as WebCrypto').out).toBe('true');
    // SoftHSM2 lets one key wrap and decrypt, but cannot C_Decrypt with CKM_AES_KEY_WRAP, so this
    // form of Clulow's attack stops at the mechanism, not at a policy.
    const tookan = 'tookan: wrap with a key that can also decrypt';
    expect(record(first, tookan, 'C_WrapKey')).toMatchObject({ rv: 'CKR_OK', out: '24 bytes' });
    expect(record(first, tookan, 'C_DecryptInit').rv).toBe('CKR_MECHANISM_INVALID');
    expect(record(first, tookan, 'the sensitive key came out in clear').out).toBe('false');
  });

  test('deterministic outputs are recorded in full and match WebCrypto', async () => {
    const key = await crypto.subtle.importKey('raw', AES_KEY, 'AES-GCM', false, ['encrypt']);
    const expected = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: bytes(12, 5), additionalData: bytes(16, 6) }, key, bytes(100, 4)),
    );
    const hex = Array.from(expected, (b) => b.toString(16).padStart(2, '0')).join('');
    expect(record(first, 'AES-GCM', 'C_Encrypt')).toMatchObject({ rv: 'CKR_OK', out: JSON.stringify(hex) });
  });

  test('the table lists every call and the agreement', () => {
    const rows = compareRuns(first, second);
    const table = formatTable(rows, ['SoftHSM2', 'SoftHSM2 again']);
    expect(table.split('\n')[0]).toBe('| scenario | call | SoftHSM2 | SoftHSM2 again | agree |');
    expect(table).toContain('| login/user login outcomes | C_Login wrong PIN | CKR_PIN_INCORRECT | CKR_PIN_INCORRECT | yes |');
    expect(table.endsWith(`${rows.length} of ${rows.length} calls agree (100.0%).`)).toBe(true);
  });
});
