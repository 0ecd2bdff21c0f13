/** A worker host in this process, reached over a real MessageChannel (structured clone, transfer). */
import { MessageChannel } from 'node:worker_threads';
import { CKF_RW_SESSION, CKF_SERIAL_SESSION, CKU_SO, CKU_USER } from '@vhsm/pkcs11';
import { Host } from '@vhsm/worker';
import type { HostOptions } from '@vhsm/worker';
import { connect } from '../src/index.js';
import type { ConnectOptions, VhsmConnection } from '../src/index.js';

export const SO_PIN = 'so-pin-5678';
export const USER_PIN = 'user-pin-5678';
export const RW = CKF_SERIAL_SESSION | CKF_RW_SESSION;

export function newHost(options: HostOptions = {}): Host {
  return new Host({ pbkdf2Iterations: 1000, locks: undefined, ...options });
}

/** connect() to `host` through a MessagePort posing as the Worker. */
export async function connectTo(host: Host, options: ConnectOptions = {}): Promise<VhsmConnection> {
  const { port1, port2 } = new MessageChannel();
  host.serve(port1 as unknown as MessagePort);
  const connection = await connect({ ...options, worker: port2 as unknown as Worker });
  const close = connection.close;
  return {
    ...connection,
    async close() {
      await close();
      port2.close();
    },
  };
}

/** Initializes slot 0 with SO and user PINs through `p11`, leaving the application initialized. */
export async function initToken(connection: VhsmConnection): Promise<void> {
  const p11 = connection.pkcs11;
  await p11.C_Initialize();
  await p11.C_InitToken(0, SO_PIN, 'client test');
  const so = await p11.C_OpenSession(0, RW);
  await p11.C_Login(so, CKU_SO, SO_PIN);
  await p11.C_InitPIN(so, USER_PIN);
  await p11.C_Logout(so);
  await p11.C_CloseSession(so);
}

export async function login(connection: VhsmConnection): Promise<number> {
  const session = await connection.pkcs11.C_OpenSession(0, RW);
  await connection.pkcs11.C_Login(session, CKU_USER, USER_PIN);
  return session;
}
