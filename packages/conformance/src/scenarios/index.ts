/** Every scenario, by spec chapter, in the order the table lists them. */
import type { Scenario } from '../suite.js';
import { cipher } from './cipher.js';
import { derive } from './derive.js';
import { digest } from './digest.js';
import { init } from './init.js';
import { key } from './key.js';
import { login } from './login.js';
import { object } from './object.js';
import { rng } from './rng.js';
import { session } from './session.js';
import { sign } from './sign.js';
import { slot } from './slot.js';
import { wrap } from './wrap.js';

export const ALL_SCENARIOS: readonly Scenario[] = [
  ...init, ...slot, ...session, ...login, ...object, ...key, ...cipher, ...sign, ...digest, ...rng, ...wrap, ...derive,
];
