/**
 * Every mechanism the engine knows, probed once against the running WebCrypto so that
 * C_GetMechanismList and C_GetMechanismInfo tell the truth about this environment.
 */
import { asymmetricKeyTypes, asymmetricProviders } from './asymmetric/index.js';
import { symmetricKeyTypes, symmetricProviders } from './symmetric/index.js';
import type { KeyTypeCodec, MechanismProvider } from './types.js';

export class MechanismRegistry {
  readonly #providers = new Map<number, MechanismProvider>();
  readonly #codecs = new Map<number, KeyTypeCodec>();

  private constructor() {}

  static async probe(
    crypto: Crypto,
    providers: readonly MechanismProvider[] = [...symmetricProviders, ...asymmetricProviders],
    codecs: readonly KeyTypeCodec[] = [...symmetricKeyTypes, ...asymmetricKeyTypes],
  ): Promise<MechanismRegistry> {
    const registry = new MechanismRegistry();
    const available = await Promise.all(providers.map(async (p) => {
      if (!p.probe) return true;
      try {
        return await p.probe(crypto);
      } catch {
        return false;
      }
    }));
    providers.forEach((p, i) => available[i] && registry.#providers.set(p.mechanism, p));
    for (const codec of codecs) registry.#codecs.set(codec.keyType, codec);
    return registry;
  }

  get(mechanism: number): MechanismProvider | undefined {
    return this.#providers.get(mechanism);
  }

  codec(keyType: number): KeyTypeCodec | undefined {
    return this.#codecs.get(keyType);
  }

  list(): number[] {
    return [...this.#providers.keys()].sort((a, b) => a - b);
  }
}
