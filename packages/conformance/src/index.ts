/** @vhsm/conformance: one PKCS#11 scenario suite, run against every backend and compared call by call. */
export * from './core.js';
export { softHsmBackend } from './backends.js';
