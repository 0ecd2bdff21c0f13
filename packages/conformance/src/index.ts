/** @vhsm/conformance: one PKCS#11 scenario suite, run against every backend and compared call by call. */
export { Context, SO_PIN, TOKEN_LABEL, USER_PIN } from './context.js';
export type { CallRecord, OutputMode } from './context.js';
export { agreement, compareRuns, formatTable, runConformance } from './suite.js';
export type { Agreement, Backend, ComparisonRow, MakeBackend, Scenario, ScenarioResult } from './suite.js';
export { crossPassed, formatCrossTable, runCrossVerification } from './cross.js';
export type { Check, CrossResult, CrossScenario, NamedBackend } from './cross.js';
export { ALL_SCENARIOS } from './scenarios/index.js';
export { CROSS_SCENARIOS } from './scenarios/cross.js';
export { softHsmBackend } from './backends.js';
