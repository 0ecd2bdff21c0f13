// Attack lab: each key-extraction attack of the literature, run step by step against a `spec` token
// and a `strict` token side by side. The scenarios come from @vhsm/attacks (the same code the
// engine's tests run); the lab only shows them.
import { describeOutcome, prepareToken, runScenario, SCENARIOS } from '@vhsm/attacks';
import type { Outcome, PolicyName, Scenario, StepRecord } from '@vhsm/attacks';
import { ckrName } from '@vhsm/pkcs11';
import { Cryptoki } from '@vhsm/token';
import { button, fill, h } from './dom.js';
import { hex } from './format.js';
import { traced } from './trace.js';
import { badge } from './ui.js';

const POLICIES: readonly PolicyName[] = ['spec', 'strict'];
/** Lab tokens are throwaway and in memory; a low PBKDF2 count keeps the PIN attack (A15) quick. */
const LAB_PBKDF2_ITERATIONS = 1000;

/** Runs `scenario` on a fresh in-page token with `policy`. */
async function runOn(scenario: Scenario, policy: PolicyName): Promise<Outcome> {
  const p11 = traced(new Cryptoki({ policy, pbkdf2Iterations: LAB_PBKDF2_ITERATIONS }), `lab:${policy}`);
  const ctx = await prepareToken(p11, { label: `lab ${policy}` });
  try {
    return await runScenario(scenario, ctx);
  } finally {
    await p11.C_Finalize();
  }
}

function matchesExpectation(scenario: Scenario, policy: PolicyName, outcome: Outcome): boolean {
  const expected = scenario.expect[policy];
  if (expected.status !== outcome.status) return false;
  if (expected.status === 'refused' && outcome.status === 'refused') return expected.step === outcome.step && expected.rv === outcome.rv;
  return outcome.status !== 'recovered' || outcome.verified;
}

function verdict(outcome: Outcome): HTMLElement {
  switch (outcome.status) {
    case 'recovered': {
      const value = typeof outcome.value === 'string' ? outcome.value : hex(outcome.value);
      return h('div', { class: 'verdict broken' },
        h('strong', null, 'Key recovered. '),
        h('div', null, 'Attacker now holds: ', h('code', { class: 'value' }, value)),
        h('div', null, outcome.verified
          ? '✔ It decrypts the message the victim encrypted under its sensitive key: it is the victim\'s key.'
          : '✘ The offline check did not confirm the value.'));
    }
    case 'permitted':
      return h('div', { class: 'verdict weak' }, h('strong', null, 'Every call allowed. '), outcome.note);
    case 'refused':
      return h('div', { class: 'verdict held' }, h('strong', null, 'Refused '), `at “${outcome.step}” (${outcome.actor}): `, badge(ckrName(outcome.rv), 'bad'));
  }
}

function stepList(steps: readonly StepRecord[]): HTMLElement {
  return h('ol', { class: 'attack-steps' }, ...steps.map((step) =>
    h('li', { class: step.ok ? `ok ${step.actor}` : `refused ${step.actor}` },
      h('span', { class: 'actor' }, step.actor), ' ', step.name, ' ',
      step.ok ? badge('CKR_OK') : badge(ckrName(step.rv ?? 0), 'bad'))));
}

export function attackLab(): HTMLElement {
  const summary = h('tbody');
  const cards: HTMLElement[] = [];
  const runners = new Map<string, () => Promise<void>>();
  const status = h('output', { class: 'outcome', 'aria-live': 'polite' });

  for (const scenario of SCENARIOS) {
    // data-expect: what the scenario says should happen, beside data-status: what did.
    const cells = new Map(POLICIES.map((policy) => [policy, h('td', { 'data-policy': policy, 'data-expect': scenario.expect[policy].status }, h('span', { class: 'muted' }, 'not run'))] as const));
    summary.append(h('tr', { 'data-scenario': scenario.id },
      h('th', { scope: 'row' }, h('a', { href: `#attack-${scenario.id}`, onclick: (e: Event) => {
        e.preventDefault();
        document.getElementById(`attack-${scenario.id}`)?.scrollIntoView({ block: 'start' });
      } }, scenario.id)),
      h('td', null, scenario.title), ...cells.values(), h('td', null, scenario.rule)));

    const columns = new Map(POLICIES.map((policy) => [policy, h('div', { class: `policy ${policy}`, 'data-policy': policy },
      h('h4', null, `${policy} token`), h('p', { class: 'muted' }, 'Press Run.'))] as const));
    const run = async (): Promise<void> => {
      runButton.disabled = true;
      for (const policy of POLICIES) {
        const column = columns.get(policy) as HTMLElement;
        const cell = cells.get(policy) as HTMLElement;
        fill(column, h('h4', null, `${policy} token`), h('p', { class: 'muted' }, 'running…'));
        let outcome: Outcome;
        try {
          outcome = await runOn(scenario, policy);
        } catch (error) {
          fill(column, h('h4', null, `${policy} token`), h('p', { class: 'outcome fail' }, `The scenario broke: ${String(error)}`));
          column.dataset['status'] = 'error';
          cell.dataset['status'] = 'error';
          fill(cell, badge('error', 'bad'));
          continue;
        }
        const expected = matchesExpectation(scenario, policy, outcome);
        column.dataset['status'] = outcome.status;
        column.dataset['expected'] = String(expected);
        cell.dataset['status'] = outcome.status;
        cell.dataset['expected'] = String(expected);
        fill(column, h('h4', null, `${policy} token`), stepList(outcome.steps), verdict(outcome),
          expected ? null : h('p', { class: 'outcome fail' }, `Not what the scenario expects: ${describeOutcome(scenario.expect[policy])}`));
        fill(cell, outcome.status === 'refused' ? badge(`refused: ${ckrName(outcome.rv)}`, 'on')
          : outcome.status === 'recovered' ? badge(outcome.verified ? 'key recovered' : 'value taken', 'bad') : badge('permitted', 'warn'),
        expected ? null : badge('unexpected', 'bad'));
      }
      runButton.disabled = false;
    };
    const runButton = button(`Run ${scenario.id}`, run, { class: 'primary' });
    runners.set(scenario.id, run);
    cards.push(h('section', { class: 'card attack', id: `attack-${scenario.id}`, 'data-scenario': scenario.id, 'aria-label': `${scenario.id}: ${scenario.title}` },
      h('div', { class: 'attack-head' }, h('h3', null, `${scenario.id} — ${scenario.title}`), runButton),
      h('p', null, h('code', null, scenario.sequence)),
      h('p', { class: 'muted' }, `Victim: ${scenario.victim}. The attacker wants ${scenario.recovers}.`),
      h('div', { class: 'policies' }, ...columns.values()),
      h('p', { class: 'rule' }, h('strong', null, 'The strict rule: '), scenario.rule)));
  }

  const runAll = async (): Promise<void> => {
    allButton.disabled = true;
    let n = 0;
    for (const [id, run] of runners) {
      status.textContent = `running ${id} (${++n} of ${runners.size})…`;
      await run();
    }
    status.textContent = `ran ${runners.size} scenarios`;
    allButton.disabled = false;
  };
  const allButton = button('Run every attack', runAll, { class: 'primary' });

  return h('div', { class: 'lab' },
    h('section', { class: 'card', 'aria-label': 'About the attack lab' },
      h('p', null, 'The attacker is a legitimate, logged-in user of the API (or any script that can talk to the token). They may call every function, but must never learn the value of a sensitive key. Each attack below runs twice, on two fresh tokens in this page: one with the ',
        h('code', null, 'spec'), ' policy (PKCS#11 to the letter, as SoftHSM2 does) and one with vhsm\'s default ', h('code', null, 'strict'), ' policy.'),
      h('p', { class: 'muted' }, 'Sources: Clulow (CHES 2003); Delaune, Kremer, Steel (CSF 2008); Bortolozzo, Centenaro, Focardi, Steel (CCS 2010); Bardou et al. (CRYPTO 2012). Lab tokens live in memory with a low PBKDF2 count; every call shows in the call trace.'),
      h('div', { class: 'actions' }, allButton, status)),
    h('section', { class: 'card scroll', 'aria-label': 'Results' },
      h('table', { class: 'grid lab-summary', 'aria-label': 'Attack results' },
        h('thead', null, h('tr', null, ...['#', 'Attack', 'spec', 'strict', 'Rule that stops it'].map((t) => h('th', { scope: 'col' }, t)))),
        summary)),
    ...cards);
}
