/**
 * The test page: runs every conformance scenario against vhsm in a dedicated worker, reached through
 * connect() from @vhsm/client, one fresh worker (and so one fresh token) per scenario.
 */
import { connect } from '@vhsm/client';
import { ALL_SCENARIOS, runConformance } from '@vhsm/conformance/core';
import type { ScenarioResult } from '@vhsm/conformance/core';

async function run(): Promise<ScenarioResult[]> {
  return runConformance(async () => {
    // The bundle's worker entry, beside this page (not new URL(…, import.meta.url): Vite would re-bundle it).
    const worker = new Worker('/worker.js', { type: 'module' });
    const connection = await connect({ worker });
    return {
      p11: connection.pkcs11,
      close: async () => {
        await connection.close();
        worker.terminate();
      },
    };
  }, ALL_SCENARIOS);
}

(globalThis as unknown as { conformance: typeof run }).conformance = run;
