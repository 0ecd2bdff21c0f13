/** The part of WebHID's `HIDDevice` the bridge uses, as structural types (a real one fits). */
export interface HidInputReportEventLike {
  readonly reportId: number;
  readonly data: DataView;
}

export interface HidCollectionLike {
  readonly usagePage?: number | undefined;
  readonly usage?: number | undefined;
}

export interface HidDeviceLike {
  readonly opened: boolean;
  readonly vendorId: number;
  readonly productId: number;
  readonly productName: string;
  readonly collections: readonly HidCollectionLike[];
  open(): Promise<void>;
  close(): Promise<void>;
  sendReport(reportId: number, data: Uint8Array<ArrayBuffer>): Promise<void>;
  addEventListener(type: 'inputreport', listener: (event: HidInputReportEventLike) => void): void;
  removeEventListener(type: 'inputreport', listener: (event: HidInputReportEventLike) => void): void;
}

/** FIDO Alliance usage page and the CTAPHID usage. */
export const FIDO_USAGE_PAGE = 0xf1d0;
export const FIDO_USAGE_CTAPHID = 0x01;
