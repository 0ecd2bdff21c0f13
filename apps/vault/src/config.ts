/**
 * The vault's configuration, fixed at build time (apps/vault/vault.config.json, or the
 * VHSM_VAULT_CONFIG environment variable): never taken from an embedder.
 */
export interface VaultConfig {
  /** App origins allowed to embed the vault and connect, serialized (`https://app.example`). */
  origins: string[];
  /** Origin → other origins whose objects it may also find and use (a vault-side grant). */
  grants: Record<string, string[]>;
  /** Ask the user once per origin before that origin may sign (remembered by the vault). */
  consent: { sign: boolean };
  /**
   * 'auto': the PIN dialog inside the iframe where IntersectionObserver v2 can prove it visible, a
   * popup window of the vault's origin elsewhere; 'popup': always the popup.
   */
  dialog: 'auto' | 'popup';
}

declare const __VHSM_VAULT_CONFIG__: VaultConfig;

export const CONFIG: VaultConfig = __VHSM_VAULT_CONFIG__;
