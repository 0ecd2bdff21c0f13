/**
 * Worker path ÷ raw crypto.subtle in the same page, same run: throughput with N calls in flight,
 * the two sides measured in alternating rounds so drift hits both alike.
 */
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_SO, CKU_USER, connect } from '@vhsm/client';
import type { VhsmConnection, VhsmCryptoKey, VhsmCryptoKeyPair } from '@vhsm/client';

const SO_PIN = 'bench-so-pin';
const USER_PIN = 'bench-user-pin';
const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;

/** Operations per second of `op` with `inFlight` calls outstanding, over about `ms` milliseconds. */
async function throughput(op: () => Promise<unknown>, inFlight: number, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  const lane = async () => {
    while (performance.now() < end) {
      await op();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return done / ((performance.now() - start) / 1000);
}

interface Case {
  name: string;
  inFlight: number;
  raw: () => Promise<unknown>;
  vhsm: () => Promise<unknown>;
}

export interface Result {
  name: string;
  inFlight: number;
  rawOpsPerSecond: number;
  vhsmOpsPerSecond: number;
  ratio: number;
}

async function setup(mode: 'shared' | 'dedicated'): Promise<VhsmConnection> {
  const vhsm = await connect({ mode });
  const p11 = vhsm.pkcs11;
  await p11.C_Initialize();
  await p11.C_InitToken(0, SO_PIN, 'bench');
  const so = await p11.C_OpenSession(0, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  await p11.C_Login(so, CKU_USER, USER_PIN);
  return vhsm;
}

async function cases(vhsm: VhsmConnection): Promise<Case[]> {
  const native = crypto.subtle;
  const message = crypto.getRandomValues(new Uint8Array(32));
  const kib = crypto.getRandomValues(new Uint8Array(1024));
  const mib = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  const gcm = { name: 'AES-GCM', iv: new Uint8Array(12) };
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };

  const nativeEc = await native.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const ourEc = (await vhsm.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as VhsmCryptoKeyPair;
  const nativeAes = await native.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const ourAes = (await vhsm.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt'])) as VhsmCryptoKey;

  return [
    { name: 'ECDSA P-256 sign', inFlight: 16, raw: () => native.sign(ecdsa, nativeEc.privateKey, message), vhsm: () => vhsm.subtle.sign(ecdsa, ourEc.privateKey, message) },
    { name: 'ECDSA P-256 sign', inFlight: 1, raw: () => native.sign(ecdsa, nativeEc.privateKey, message), vhsm: () => vhsm.subtle.sign(ecdsa, ourEc.privateKey, message) },
    { name: 'AES-GCM 1 KiB encrypt', inFlight: 16, raw: () => native.encrypt(gcm, nativeAes, kib), vhsm: () => vhsm.subtle.encrypt(gcm, ourAes, kib) },
    { name: 'AES-GCM 1 KiB encrypt', inFlight: 1, raw: () => native.encrypt(gcm, nativeAes, kib), vhsm: () => vhsm.subtle.encrypt(gcm, ourAes, kib) },
    { name: 'AES-GCM 1 MiB encrypt', inFlight: 1, raw: () => native.encrypt(gcm, nativeAes, mib), vhsm: () => vhsm.subtle.encrypt(gcm, ourAes, mib) },
    { name: 'AES-GCM 1 MiB encrypt', inFlight: 4, raw: () => native.encrypt(gcm, nativeAes, mib), vhsm: () => vhsm.subtle.encrypt(gcm, ourAes, mib) },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Each case runs `rounds` pairs of short rounds, raw and worker side by side (their order
 * alternating), and reports the median of the pairs' ratios: a burst of load from elsewhere on the
 * machine spoils one pair, not the figure. `only`: just the case with this name and in-flight count
 * (for profiling one case).
 */
async function run(rounds = 9, ms = 400, only?: { name: string; inFlight: number }, mode: 'shared' | 'dedicated' = 'shared'): Promise<{ results: Result[]; roundTripMicros: number }> {
  const vhsm = await setup(mode);
  const results: Result[] = [];
  for (const c of await cases(vhsm)) {
    if (only && (c.name !== only.name || c.inFlight !== only.inFlight)) continue;
    await throughput(c.raw, c.inFlight, 200);
    await throughput(c.vhsm, c.inFlight, 200);
    const raw: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        raw.push(await throughput(c.raw, c.inFlight, ms));
        ours.push(await throughput(c.vhsm, c.inFlight, ms));
      } else {
        ours.push(await throughput(c.vhsm, c.inFlight, ms));
        raw.push(await throughput(c.raw, c.inFlight, ms));
      }
    }
    results.push({
      name: c.name, inFlight: c.inFlight, rawOpsPerSecond: median(raw), vhsmOpsPerSecond: median(ours),
      ratio: median(ours.map((o, i) => o / (raw[i] as number))),
    });
  }
  // One C_ call's round trip through the worker, for reference (Comlink was measured at ~88 µs).
  const calls = 2000;
  const start = performance.now();
  for (let i = 0; i < calls; i++) await vhsm.pkcs11.C_GetInfo();
  const roundTripMicros = ((performance.now() - start) / calls) * 1000;
  await vhsm.close();
  return { results, roundTripMicros };
}

declare global {
  interface Window {
    runWorkerBench: typeof run;
  }
}

window.runWorkerBench = run;
