import { describe, expect, test } from 'vitest';
import { Cryptoki, ckrName } from '@vhsm/token';
import { SCENARIOS, describeOutcome, prepareToken, runScenario } from '@vhsm/attacks';
import type { PolicyName } from '@vhsm/attacks';

async function context(policy: PolicyName) {
  return prepareToken(new Cryptoki({ policy, pbkdf2Iterations: 1000 }));
}

describe.each(['spec', 'strict'] as const)('under %s', (policy) => {
  test.each(SCENARIOS.map((s) => [`${s.id} ${s.title}`, s] as const))('%s', async (_, scenario) => {
    const outcome = await runScenario(scenario, await context(policy));
    const expected = scenario.expect[policy];
    expect(describeOutcome(outcome), outcome.steps.map((s) => `${s.name}${s.ok ? '' : ` ✗ ${ckrName(s.rv ?? 0)}`}`).join(' → '))
      .toBe(describeOutcome(expected));
    if (outcome.status === 'recovered') expect(outcome.verified).toBe(true);
    if (outcome.status === 'refused' && expected.status === 'refused') {
      expect(outcome.step).toBe(expected.step);
      expect(ckrName(outcome.rv)).toBe(ckrName(expected.rv));
    }
  });
});
