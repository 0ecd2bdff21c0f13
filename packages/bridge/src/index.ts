export { CardChannel, encodeApdu, SW_OK } from './apdu.js';
export type { Apdu, ApduTransport, Response } from './apdu.js';
export { decodeCbor, encodeCbor } from './cbor.js';
export type { CborKey, CborMap, CborValue } from './cbor.js';
export { CcidReader, findCcidDescriptor, parseCcidDescriptor } from './ccid.js';
export type { CcidDescriptor, CcidReaderOptions } from './ccid.js';
export { openUsbToken } from './open.js';
export type { OpenUsbTokenOptions } from './open.js';
export { OpenPgpProvider } from './openpgp.js';
export { PivProvider, PIV_KEY_SLOTS } from './piv.js';
export { CardProvider } from './provider-base.js';
export type { CardConnection } from './provider-base.js';
export {
  CTAP2_GET_INFO, CTAP2_SELECTION, CTAPHID_CBOR, CTAPHID_PING, CtapHidDevice, framePackets, KEEPALIVE_UP_NEEDED,
  MessageAssembler,
} from './ctaphid.js';
export type { AuthenticatorInfo, TransactOptions } from './ctaphid.js';
export {
  Ctap2Client, parseAuthData, PERMISSION_GET_ASSERTION, PERMISSION_MAKE_CREDENTIAL,
} from './ctap2.js';
export type { Assertion, Credential, PinToken } from './ctap2.js';
export { CKM_VHSM_FIDO_HMAC_SECRET, FidoProvider, openHidToken } from './fido.js';
export type { FidoCredential, HidEvents } from './fido.js';
export { FIDO_USAGE_PAGE } from './hid.js';
export type { HidDeviceLike } from './hid.js';
export type { UsbDeviceLike, UsbEvents } from './usb.js';
export { enrollPrf, prfEnrollmentOf, prfFactor, prfPin, prfSecret } from './prf.js';
export type { EnrollPrfOptions, PrfEnrollment } from './prf.js';
export { hardwareSupport } from './support.js';
export type { HardwareSupport } from './support.js';
