/** A session: its slot, R/W flag and the operations active in it (at most one of each kind). */
import {
  CKF_RW_SESSION, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKS_RO_PUBLIC_SESSION,
  CKS_RO_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION, CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS,
} from '@vhsm/pkcs11';
import { ckr } from './errors.js';
import type { PinOwner } from './token.js';

export type OperationKind =
  | 'find' | 'encrypt' | 'decrypt' | 'digest' | 'sign' | 'verify'
  | 'messageEncrypt' | 'messageDecrypt' | 'messageSign' | 'messageVerify';

/** An active operation. `end` runs when it finishes or is cancelled. */
export interface ActiveOperation {
  /** Key handle it uses, so logout/destroy can end it. */
  keyObjectId?: number;
  /** Needs CKU_CONTEXT_SPECIFIC login before use (CKA_ALWAYS_AUTHENTICATE). */
  needsContextLogin?: boolean;
  /** A one-shot call (C_Encrypt…) is no longer allowed once Update was called. */
  updated?: boolean;
  /** The mechanism has no Update (MechanismProvider.singlePart). */
  singlePart?: boolean;
}

export class Session {
  readonly handle: number;
  readonly slot: number;
  readonly readWrite: boolean;
  readonly flags: number;
  readonly #operations = new Map<OperationKind, ActiveOperation>();

  constructor(handle: number, slot: number, flags: number) {
    this.handle = handle;
    this.slot = slot;
    this.flags = flags;
    this.readWrite = (flags & CKF_RW_SESSION) !== 0;
  }

  state(login: PinOwner | undefined): number {
    if (login === 'so') return CKS_RW_SO_FUNCTIONS;
    if (login === 'user') return this.readWrite ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    return this.readWrite ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
  }

  begin<T extends ActiveOperation>(kind: OperationKind, operation: T): T {
    if (this.#operations.has(kind)) throw ckr(CKR_OPERATION_ACTIVE, `a ${kind} operation is already active`);
    this.#operations.set(kind, operation);
    return operation;
  }

  /** Reserve the slot before async work so a racing Init gets CKR_OPERATION_ACTIVE. */
  assertIdle(kind: OperationKind): void {
    if (this.#operations.has(kind)) throw ckr(CKR_OPERATION_ACTIVE, `a ${kind} operation is already active`);
  }

  get<T extends ActiveOperation>(kind: OperationKind): T {
    const operation = this.#operations.get(kind);
    if (!operation) throw ckr(CKR_OPERATION_NOT_INITIALIZED, `no ${kind} operation is active`);
    return operation as T;
  }

  end(kind: OperationKind): void {
    this.#operations.delete(kind);
  }

  /** End the operations that use an object (destroyed, or made invisible by logout). */
  endUsing(objectIds: ReadonlySet<number>): void {
    for (const [kind, op] of this.#operations) {
      if (op.keyObjectId !== undefined && objectIds.has(op.keyObjectId)) this.#operations.delete(kind);
    }
  }

  operations(): IterableIterator<[OperationKind, ActiveOperation]> {
    return this.#operations.entries();
  }
}
