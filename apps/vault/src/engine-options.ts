/** The IndexedDB database of the vault's token (in the vault's origin). */
export const VAULT_DB = 'vhsm-vault';
