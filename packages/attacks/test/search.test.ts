/**
 * A bounded Tookan-like search: fast-check draws sequences of the attacker's moves (generate,
 * PBKDF2 from its own password, create, copy (also to a public or token object), set, wrap, unwrap,
 * encrypt, decrypt, derive, get-attribute, offline crafting) and the world tries every output
 * offline with every key value the attacker knows, and every key material the stored records seal
 * under the device key (which any script of the origin can use). Property: no
 * secret value is ever learned. Under `spec` the search must find a leak (else it is too weak);
 * under `strict` it must find none within the budget.
 *
 * Budget: VHSM_SEARCH_STEPS token calls per policy (default 10 000, the CI budget). Long mode:
 *   VHSM_SEARCH_STEPS=1000000 npx vitest run packages/attacks/test/search.test.ts
 * Reproduce a failure with the seed and path fast-check prints (VHSM_SEARCH_SEED).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MOVE } from './search/commands.js';
import { Leak, World, sharedToken } from './search/world.js';
import type { Shared } from './search/world.js';

const BUDGET = Number(process.env['VHSM_SEARCH_STEPS'] ?? 10_000);
const SEED = process.env['VHSM_SEARCH_SEED'] === undefined ? undefined : Number(process.env['VHSM_SEARCH_SEED']);
const RUNS_PER_ROUND = 100;
// Generous: about 2 ms per step on a shared CI core, plus RSA generations.
const TIMEOUT = 120_000 + BUDGET * 5;

function attacker(shared: Shared) {
  let world: World | undefined;
  return fc.asyncProperty(fc.commands([MOVE], { maxCommands: 60, size: 'medium' }), async (moves) => {
    await world?.close();
    const w = await World.open(shared);
    world = w;
    await fc.asyncModelRun(() => ({ model: w, real: w }), moves);
  });
}

describe('random search for key extraction', () => {
  test('under spec it finds a leak', async () => {
    const shared = await sharedToken('spec');
    const result = await fc.check(attacker(shared), { numRuns: Math.ceil(BUDGET / 10), ...(SEED === undefined ? {} : { seed: SEED }) });
    expect(result.failed).toBe(true);
    expect(result.errorInstance).toBeInstanceOf(Leak);
    console.info(`spec: leak found after ${shared.steps} steps: ${String((result.errorInstance as Error).message)}\n  ${fc.stringify(result.counterexample)}`);
  }, TIMEOUT);

  test(`under strict it finds none in ${BUDGET} steps`, async () => {
    const shared = await sharedToken('strict');
    const started = performance.now();
    let rounds = 0;
    while (shared.steps < BUDGET) {
      await fc.assert(attacker(shared), { numRuns: RUNS_PER_ROUND, ...(SEED === undefined ? {} : { seed: SEED + rounds }) });
      rounds++;
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(`strict: no leak in ${shared.steps} steps (${rounds * RUNS_PER_ROUND} sequences) in ${seconds.toFixed(1)} s`);
    expect(shared.steps).toBeGreaterThanOrEqual(BUDGET);
  }, TIMEOUT);
});
