export { EmulatedCcidDevice } from './ccid-device.js';
export type { EmulatedReaderOptions } from './ccid-device.js';
export { IsoCard, SW, parseCommand } from './iso-card.js';
export type { Command, EmulatedCard, Reply } from './iso-card.js';
