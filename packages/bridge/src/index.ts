export { CardChannel, encodeApdu, SW_OK } from './apdu.js';
export type { Apdu, ApduTransport, Response } from './apdu.js';
export { CcidReader, findCcidDescriptor, parseCcidDescriptor } from './ccid.js';
export type { CcidDescriptor, CcidReaderOptions } from './ccid.js';
export type { UsbDeviceLike, UsbEvents } from './usb.js';
