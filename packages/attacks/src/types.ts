/** What a scenario is, what it runs against, and what running it tells. */
import type { CryptokiApi } from '@vhsm/pkcs11';

export type PolicyName = 'spec' | 'strict';

/** A token ready for an attack: an R/W session with the user logged in. */
export interface ScenarioContext {
  p11: CryptokiApi;
  slot: number;
  session: number;
  userPin: string;
  soPin: string;
  /** The attacker's own WebCrypto, for offline work (and for checking what was recovered). */
  crypto: Crypto;
}

export type Actor = 'victim' | 'attacker';

export interface StepRecord {
  /** Short, stable name: expectations and the attack lab refer to steps by it. */
  name: string;
  actor: Actor | 'offline';
  ok: boolean;
  /** The CK_RV of a refused step. */
  rv?: number;
}

/** What a scenario reached when every step ran. */
export type Finding =
  /** The attacker holds the victim's secret; `verified` says an offline check confirmed it. */
  | { kind: 'recovered'; value: Uint8Array | string; verified: boolean }
  /** Every call was allowed, but turning it into the secret is brute force (e.g. a weaker wrapper). */
  | { kind: 'permitted'; note: string };

export type Outcome =
  | { status: 'recovered'; steps: StepRecord[]; value: Uint8Array | string; verified: boolean }
  | { status: 'permitted'; steps: StepRecord[]; note: string }
  | { status: 'refused'; steps: StepRecord[]; step: string; actor: Actor; rv: number };

export type Expectation =
  | { status: 'recovered' }
  | { status: 'permitted' }
  | { status: 'refused'; step: string; rv: number };

export interface Scenario {
  id: string;
  title: string;
  /** The call sequence in ATTACKS.md notation. */
  sequence: string;
  victim: string;
  recovers: string;
  /** The `strict` rule that stops it (or the spec rule, when the spec already does). */
  rule: string;
  expect: Record<PolicyName, Expectation>;
  run(attack: AttackRun): Promise<Finding>;
}

/** The step runner handed to a scenario (see runner.ts). */
export interface AttackRun {
  readonly ctx: ScenarioContext;
  /** A call the victim (the legitimate application) makes. */
  victim<T>(name: string, call: (p11: CryptokiApi, session: number) => Promise<T>): Promise<T>;
  /** A call the attacker makes through the API. */
  attacker<T>(name: string, call: (p11: CryptokiApi, session: number) => Promise<T>): Promise<T>;
  /** The attacker's offline work with its own WebCrypto. */
  offline<T>(name: string, work: (crypto: Crypto) => Promise<T>): Promise<T>;
}
