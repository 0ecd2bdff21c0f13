// @vhsm/worker: worker hosts for the engine. The scripts to load are '@vhsm/worker/shared' and
// '@vhsm/worker/dedicated'; '@vhsm/worker/protocol' is the wire format, free of engine code.
export { Connection, serializeError, WRITE_FUNCTIONS } from './connection.js';
export type { ConnectionOptions, Coordinator } from './connection.js';
export { Host, hostDedicatedWorker, hostSharedWorker, SHARED_HOLD, startEngine, TOKEN_LOCK, webLockCoordinator } from './host.js';
export type { HostOptions } from './host.js';
export * from './protocol.js';
export { LIMITS, sanitizeArgs } from './sanitize.js';
