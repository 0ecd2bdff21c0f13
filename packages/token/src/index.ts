import { x } from '@vhsm/pkcs11'; export const y = x + 1;
