/**
 * One block of the PIV management-key ciphers in ECB mode: AES on WebCrypto (CBC with a zero IV,
 * first block), triple DES with des.js (WebCrypto has no DES).
 */
import des from 'des.js';

export type ManagementAlgorithm = '3des' | 'aes128' | 'aes192' | 'aes256';

/** PIV algorithm references (SP 800-78-4). */
export const MANAGEMENT_ALGORITHM_IDS: Record<ManagementAlgorithm, number> = { '3des': 0x03, aes128: 0x08, aes192: 0x0a, aes256: 0x0c };

export function blockSize(algorithm: ManagementAlgorithm): number {
  return algorithm === '3des' ? 8 : 16;
}

export async function encryptBlock(algorithm: ManagementAlgorithm, key: Uint8Array, block: Uint8Array): Promise<Uint8Array> {
  if (algorithm === '3des') {
    const cipher = des.EDE.create({ type: 'encrypt', key, padding: false });
    return Uint8Array.from([...cipher.update(block), ...cipher.final()]);
  }
  const k = await crypto.subtle.importKey('raw', key.slice(), 'AES-CBC', false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, k, block.slice()), 0, 16);
}
