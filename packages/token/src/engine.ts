/**
 * What all applications of one engine share: the tokens (and their objects and PIN counters), the
 * store, the mechanisms, the policy. Each `Cryptoki` is one application on top of an Engine.
 */
import { CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED } from '@vhsm/pkcs11';
import { ckr } from './errors.js';
import { MechanismRegistry } from './mechanisms/registry.js';
import type { Policy, PolicyName } from './policy/policy.js';
import { specPolicy } from './policy/policy.js';
import { strictPolicy } from './policy/strict.js';
import { Sealer } from './sealing.js';
import { MemoryStore } from './store.js';
import type { TokenStore } from './store.js';
import { TokenState } from './token.js';
import { AttachedRegistry } from './attached.js';

export const MIN_PIN_LENGTH = 4;
export const MAX_PIN_LENGTH = 64;
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
export const DEFAULT_MAX_PIN_TRIES = 10;

export interface EngineOptions {
  store?: TokenStore;
  slotCount?: number;
  /** Policy of tokens initialized by this engine (stored with the token). */
  policy?: PolicyName;
  pbkdf2Iterations?: number;
  maxPinTries?: number;
  crypto?: Crypto;
}

export class Engine {
  readonly store: TokenStore;
  readonly crypto: Crypto;
  readonly sealer: Sealer;
  readonly policyName: PolicyName;
  readonly pbkdf2Iterations: number;
  readonly maxPinTries: number;
  readonly tokens: TokenState[];
  /** Devices attached through a TokenProvider, in slots after the software ones. */
  readonly attached: AttachedRegistry;
  #ready: Promise<{ registry: MechanismRegistry; sessionKey: CryptoKey }> | undefined;
  #nextSessionObjectId = 1;

  constructor(options: EngineOptions = {}) {
    const slotCount = options.slotCount ?? 1;
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 64) {
      throw ckr(CKR_ARGUMENTS_BAD, 'slotCount: expected 1..64');
    }
    this.crypto = options.crypto ?? globalThis.crypto;
    if (!this.crypto?.subtle) throw ckr(CKR_ARGUMENTS_BAD, 'crypto: WebCrypto (crypto.subtle) is required');
    this.store = options.store ?? new MemoryStore();
    this.sealer = new Sealer(this.crypto);
    this.policyName = options.policy ?? 'strict';
    if (this.policyName !== 'strict' && this.policyName !== 'spec') throw ckr(CKR_ARGUMENTS_BAD, "policy: 'strict' or 'spec'");
    this.pbkdf2Iterations = options.pbkdf2Iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    if (!Number.isInteger(this.pbkdf2Iterations) || this.pbkdf2Iterations < 1) {
      throw ckr(CKR_ARGUMENTS_BAD, 'pbkdf2Iterations: expected a positive integer');
    }
    this.maxPinTries = options.maxPinTries ?? DEFAULT_MAX_PIN_TRIES;
    if (!Number.isInteger(this.maxPinTries) || this.maxPinTries < 1) throw ckr(CKR_ARGUMENTS_BAD, 'maxPinTries: expected a positive integer');
    const settings = { pbkdf2Iterations: this.pbkdf2Iterations, maxPinTries: this.maxPinTries };
    this.tokens = Array.from({ length: slotCount }, (_, slot) => new TokenState(slot, this.store, this.sealer, settings));
    this.attached = new AttachedRegistry(slotCount);
  }

  /** Probe mechanisms and make the session-object key, once. */
  ready(): Promise<{ registry: MechanismRegistry; sessionKey: CryptoKey }> {
    this.#ready ??= (async () => ({
      registry: await MechanismRegistry.probe(this.crypto),
      sessionKey: await this.sealer.newDeviceKey(),
    }))();
    return this.#ready;
  }

  policyFor(token: TokenState): Policy {
    return (token.record?.policy ?? this.policyName) === 'spec' ? specPolicy : strictPolicy;
  }

  newSessionObjectId(): number {
    return this.#nextSessionObjectId++;
  }

  /** Token object ids are random so engines sharing a store never collide. */
  newTokenObjectId(token: TokenState): number {
    // 48 random bits: a collision is astronomically rare, so repeated ones mean a broken RNG.
    for (let attempt = 0; attempt < 16; attempt++) {
      const bytes = this.sealer.randomBytes(6);
      const id = bytes.reduce((n, b) => n * 256 + b, 0);
      if (id !== 0 && !token.objects.has(id)) return id;
    }
    throw ckr(CKR_FUNCTION_FAILED, 'the random number generator keeps repeating itself');
  }
}
