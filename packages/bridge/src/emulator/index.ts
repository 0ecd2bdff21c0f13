export { EmulatedCcidDevice } from './ccid-device.js';
export type { EmulatedReaderOptions } from './ccid-device.js';
export { IsoCard, SW, parseCommand } from './iso-card.js';
export type { Command, EmulatedCard, Reply } from './iso-card.js';
export { DEFAULT_MANAGEMENT_KEY, PivCard, PIV_CERT_OBJECTS } from './piv-card.js';
export type { PivCardOptions, PivSlot } from './piv-card.js';
export { selfSignedCertificate } from './x509.js';
export { VPCD_PORT, VpcdSession } from './vpcd.js';
export type { VpcdStream } from './vpcd.js';
