/** Everything of @vhsm/conformance that runs anywhere (a browser page included): no native backend. */
export { Context, SO_PIN, TOKEN_LABEL, USER_PIN } from './context.js';
export type { CallRecord, OutputMode } from './context.js';
export { agreement, compareRuns, formatTable, runConformance } from './suite.js';
export type { Agreement, Backend, ComparisonRow, MakeBackend, Scenario, ScenarioResult } from './suite.js';
export { crossPassed, formatCrossTable, runCrossVerification } from './cross.js';
export type { Check, CrossResult, CrossScenario, NamedBackend } from './cross.js';
export { KNOWN_DIFFERENCES, auditDifferences, knownDifference } from './differences.js';
export type { KnownDifference } from './differences.js';
export { conformanceReport, policyDifferences } from './report.js';
export type { ReportInput } from './report.js';
export { ALL_SCENARIOS } from './scenarios/index.js';
export { CROSS_SCENARIOS } from './scenarios/cross.js';
