/**
 * The handshake between an embedding app and the vault iframe. Must match
 * packages/client/src/vault.ts (e2e/vault proves they do).
 * 1. The app posts `{ type: CONNECT }` to the iframe's window, targeted at the vault's origin, with
 *    a MessagePort. 2. The vault checks the sender is its parent and the browser-given origin is on
 *    its allow-list; if not, it answers nothing. 3. Otherwise it posts `{ type: READY }` on the port,
 *    which from then on carries the worker protocol ({ id, fn, args } ↔ { id, ok, value | error })
 *    and `{ type: UI, visible }` notices (the vault asks to be shown for a prompt).
 */
export const CONNECT = 'vhsm-vault:connect';
export const READY = 'vhsm-vault:ready';
export const UI = 'vhsm-vault:ui';
