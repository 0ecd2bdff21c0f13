/**
 * What every card provider shares: the reader connection, removal (unplugged device, card pulled
 * from its reader, a transfer that finds the device gone) announced once to the engine, and
 * close. Drivers (PIV, OpenPGP) add the card's own commands.
 */
import { CKR_DEVICE_REMOVED, Pkcs11Error } from '@vhsm/pkcs11';
import type { Mechanism, MechanismInfo } from '@vhsm/pkcs11';
import type {
  ProviderEvent, ProviderObject, ProviderPinState, ProviderTokenInfo, ProviderUser, TokenProvider,
} from '@vhsm/token';
import type { CardChannel } from './apdu.js';
import type { CcidReader } from './ccid.js';
import { fail } from './errors.js';

export interface CardConnection {
  reader: CcidReader;
  channel: CardChannel;
}

export abstract class CardProvider implements TokenProvider {
  readonly slotDescription: string;
  readonly reader: CcidReader;
  readonly #listeners = new Set<() => void>();
  #removed = false;

  constructor(connection: CardConnection) {
    this.reader = connection.reader;
    this.slotDescription = this.reader.device.productName ?? 'CCID reader';
  }

  abstract tokenInfo(): Promise<ProviderTokenInfo>;
  abstract pinState(): Promise<ProviderPinState>;
  abstract login(user: ProviderUser, pin: string): Promise<void>;
  abstract logout(): Promise<void>;
  abstract objects(): Promise<readonly ProviderObject[]>;
  abstract mechanisms(): ReadonlyMap<number, MechanismInfo>;
  abstract sign(key: string, mechanism: Mechanism, data: Uint8Array): Promise<Uint8Array>;

  get removed(): boolean {
    return this.#removed;
  }

  on(_event: ProviderEvent, listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The device or card is gone: tell the engine once, and fail every later call. */
  markRemoved(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.reader.markRemoved();
    for (const listener of this.#listeners) listener();
    this.#listeners.clear();
  }

  async close(): Promise<void> {
    this.markRemoved();
    await this.reader.close();
  }

  /** Run a card exchange; a transfer that finds the device gone counts as removal. */
  protected async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#removed) throw fail(CKR_DEVICE_REMOVED, 'the device was removed');
    try {
      return await work();
    } catch (e) {
      if (e instanceof Pkcs11Error && e.code === CKR_DEVICE_REMOVED) this.markRemoved();
      throw e;
    }
  }
}
