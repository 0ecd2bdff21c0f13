/**
 * Runs a scenario step by step. The first call the token refuses ends the attack: the outcome names
 * that step and its CK_RV. Anything other than a Pkcs11Error is a bug and propagates.
 */
import { ckrName, isPkcs11Error } from '@vhsm/pkcs11';
import type { CryptokiApi } from '@vhsm/pkcs11';
import type { Actor, AttackRun, Expectation, Outcome, Scenario, ScenarioContext, StepRecord } from './types.js';

class Refused extends Error {
  constructor(readonly step: string, readonly actor: Actor, readonly rv: number) {
    super(`${step}: ${ckrName(rv)}`);
  }
}

class Run implements AttackRun {
  readonly steps: StepRecord[] = [];
  constructor(readonly ctx: ScenarioContext) {}

  victim<T>(name: string, call: (p11: CryptokiApi, session: number) => Promise<T>): Promise<T> {
    return this.#call('victim', name, call);
  }

  attacker<T>(name: string, call: (p11: CryptokiApi, session: number) => Promise<T>): Promise<T> {
    return this.#call('attacker', name, call);
  }

  async offline<T>(name: string, work: (crypto: Crypto) => Promise<T>): Promise<T> {
    const value = await work(this.ctx.crypto);
    this.steps.push({ name, actor: 'offline', ok: true });
    return value;
  }

  async #call<T>(actor: Actor, name: string, call: (p11: CryptokiApi, session: number) => Promise<T>): Promise<T> {
    try {
      const value = await call(this.ctx.p11, this.ctx.session);
      this.steps.push({ name, actor, ok: true });
      return value;
    } catch (e) {
      if (!isPkcs11Error(e)) throw e;
      this.steps.push({ name, actor, ok: false, rv: e.code });
      throw new Refused(name, actor, e.code);
    }
  }
}

export async function runScenario(scenario: Scenario, ctx: ScenarioContext): Promise<Outcome> {
  const run = new Run(ctx);
  try {
    const finding = await scenario.run(run);
    return finding.kind === 'recovered'
      ? { status: 'recovered', steps: run.steps, value: finding.value, verified: finding.verified }
      : { status: 'permitted', steps: run.steps, note: finding.note };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    return { status: 'refused', steps: run.steps, step: e.step, actor: e.actor, rv: e.rv };
  }
}

/** One line for a table or a test failure: "refused at "<step>": CKR_…", "recovered", "permitted". */
export function describeOutcome(outcome: Outcome | Expectation): string {
  switch (outcome.status) {
    case 'refused':
      return `refused at "${outcome.step}": ${ckrName(outcome.rv)}`;
    case 'recovered':
      return 'recovered';
    case 'permitted':
      return 'permitted';
  }
}
