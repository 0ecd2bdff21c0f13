/** The Node side of the comparison, bundled from the same sources as the page: vhsm's engine in this process. */
import { Cryptoki } from '@vhsm/token';
import { ALL_SCENARIOS, runConformance } from '@vhsm/conformance/core';
import type { ScenarioResult } from '@vhsm/conformance/core';

export { agreement, compareRuns, formatTable } from '@vhsm/conformance/core';
export type { ComparisonRow, ScenarioResult } from '@vhsm/conformance/core';

export function runInNode(): Promise<ScenarioResult[]> {
  return runConformance(async () => ({ p11: new Cryptoki({ policy: 'spec', pbkdf2Iterations: 1000 }), close: async () => {} }), ALL_SCENARIOS);
}
