/**
 * Cross-verification: scenarios over two backends at once, for outputs that are random and so cannot
 * be compared byte for byte (signatures, generated and wrapped keys). One backend produces, the other
 * consumes (verifies, decrypts, unwraps), and the scenario states checks that must hold. Each pair
 * of backends runs both ways.
 */
import { Context } from './context.js';
import type { MakeBackend } from './suite.js';

/** Records a fact that must hold for cross-verification to pass. */
export type Check = (label: string, ok: boolean) => void;

export interface CrossScenario {
  name: string;
  /** `producer` makes the output (signs, wraps, encrypts, derives), `consumer` checks it. */
  run(producer: Context, consumer: Context, check: Check): Promise<void>;
}

export interface CrossResult {
  scenario: string;
  producer: string;
  consumer: string;
  checks: { label: string; ok: boolean }[];
  /** Calls that did not answer CKR_OK (`name: call CKR_…`): every cross call must succeed. */
  failedCalls: string[];
  /** A failure that is not a Pkcs11Error. */
  error?: string;
}

export interface NamedBackend {
  name: string;
  make: MakeBackend;
}

/** Whether a result passed: no error, no failed call, at least one check and every check true. */
export function crossPassed(r: CrossResult): boolean {
  return r.error === undefined && r.failedCalls.length === 0 && r.checks.length > 0 && r.checks.every((c) => c.ok);
}

function failures(name: string, t: Context): string[] {
  return t.records.filter((r) => r.rv !== '' && r.rv !== 'CKR_OK').map((r) => `${name}: ${r.call} ${r.rv}`);
}

/** Runs every scenario with `a` producing for `b`, then `b` producing for `a`, each time on fresh backends. */
export async function runCrossVerification(a: NamedBackend, b: NamedBackend, scenarios: readonly CrossScenario[]): Promise<CrossResult[]> {
  const results: CrossResult[] = [];
  for (const [producer, consumer] of [[a, b], [b, a]] as const) {
    for (const scenario of scenarios) {
      const p = await producer.make();
      const c = await consumer.make();
      const tp = new Context(p.p11);
      const tc = new Context(c.p11);
      const checks: { label: string; ok: boolean }[] = [];
      let error: string | undefined;
      try {
        await scenario.run(tp, tc, (label, ok) => checks.push({ label, ok }));
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      } finally {
        await p.close();
        await c.close();
      }
      const failedCalls = [...failures(producer.name, tp), ...failures(consumer.name, tc)];
      results.push({ scenario: scenario.name, producer: producer.name, consumer: consumer.name, checks, failedCalls, ...(error !== undefined && { error }) });
    }
  }
  return results;
}

/** A Markdown table: scenario, producer → consumer, check, result (failed calls and errors as their own rows). */
export function formatCrossTable(results: readonly CrossResult[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| scenario | producer → consumer | check | result |', '| --- | --- | --- | --- |'];
  for (const r of results) {
    const row = (check: string, result: string): number => lines.push(`| ${cell(r.scenario)} | ${cell(`${r.producer} → ${r.consumer}`)} | ${cell(check)} | ${cell(result)} |`);
    for (const c of r.checks) row(c.label, c.ok ? 'pass' : 'FAIL');
    for (const f of r.failedCalls) row('call failed', `FAIL ${f}`);
    if (r.error !== undefined) row('error', `FAIL ${r.error}`);
  }
  const passed = results.filter(crossPassed).length;
  lines.push('', `${passed} of ${results.length} cross-verifications pass.`);
  return lines.join('\n');
}
