/**
 * @vhsm/attacks: the key-extraction attacks of ATTACKS.md (A1–A18, then A19–A20) written once as executable
 * scenarios against any CryptokiApi. The tests and the demo's attack lab both run them.
 */
import { A10, A11, A12, A13, A9 } from './scenarios/attributes.js';
import { A4, A5, A5b, A6, A7, A14, A19 } from './scenarios/planting.js';
import { A1, A1b, A2, A3, A8 } from './scenarios/roles.js';
import { A15, A16, A17, A18, A20 } from './scenarios/session.js';
import type { Scenario } from './types.js';

/** Every scenario, in ATTACKS.md order. */
export const SCENARIOS: readonly Scenario[] = [
  A1, A1b, A2, A3, A4, A5, A5b, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20,
];

export { A1, A1b, A2, A3, A4, A5, A5b, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20 };
export { prepareToken } from './context.js';
export type { PrepareOptions } from './context.js';
export { describeOutcome, runScenario } from './runner.js';
export type {
  Actor, AttackRun, Expectation, Finding, Outcome, PolicyName, Scenario, ScenarioContext, StepRecord,
} from './types.js';
