/**
 * Numbers and UIDs of the DICOM upper layer (PS3.8) and DIMSE (PS3.7), as named constants.
 * Only this folder speaks the wire protocol; everything else sees `DimseServerOptions`.
 */

/** PDU types (PS3.8 §9.3.1). */
export const PduType = Object.freeze({
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const);
export type PduTypeValue = (typeof PduType)[keyof typeof PduType];

/** Item types inside A-ASSOCIATE-RQ/AC (PS3.8 §9.3.2, §9.3.3, Annex D). */
export const ItemType = Object.freeze({
  ApplicationContext: 0x10,
  PresentationContextRq: 0x20,
  PresentationContextAc: 0x21,
  AbstractSyntax: 0x30,
  TransferSyntax: 0x40,
  UserInformation: 0x50,
  MaximumLength: 0x51,
  ImplementationClassUid: 0x52,
  ImplementationVersionName: 0x55,
} as const);

/** The only application context name defined by DICOM (PS3.7 Annex A.2.1). */
export const DICOM_APPLICATION_CONTEXT_NAME = '1.2.840.10008.3.1.1.1';

/** A-ASSOCIATE-RJ result / source / reason (PS3.8 Table 9-21). */
export const RejectResult = Object.freeze({ Permanent: 1, Transient: 2 } as const);
export const RejectSource = Object.freeze({ ServiceUser: 1, ServiceProviderAcse: 2, ServiceProviderPresentation: 3 } as const);
export const RejectReason = Object.freeze({
  // source = service-user
  NoReasonGiven: 1,
  ApplicationContextNameNotSupported: 2,
  CallingAeTitleNotRecognized: 3,
  CalledAeTitleNotRecognized: 7,
  // source = service-provider (ACSE)
  ProtocolVersionNotSupported: 2,
  // source = service-provider (presentation)
  TemporaryCongestion: 1,
  LocalLimitExceeded: 2,
} as const);

/** A-ABORT source and provider reasons (PS3.8 §9.3.8). */
export const AbortSource = Object.freeze({ ServiceUser: 0, ServiceProvider: 2 } as const);
export const AbortReason = Object.freeze({
  NotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const);

/** Presentation context results in A-ASSOCIATE-AC (PS3.8 Table 9-18). */
export const PresentationContextResult = Object.freeze({
  Acceptance: 0,
  UserRejection: 1,
  ProviderRejection: 2,
  AbstractSyntaxNotSupported: 3,
  TransferSyntaxesNotSupported: 4,
} as const);

/** Command Field (0000,0100) values (PS3.7 §E.1). */
export const CommandField = Object.freeze({
  CStoreRq: 0x0001,
  CStoreRsp: 0x8001,
  CEchoRq: 0x0030,
  CEchoRsp: 0x8030,
  CCancelRq: 0x0fff,
} as const);

/** Command Data Set Type (0000,0800): this value means "no data set"; anything else means one follows. */
export const NO_DATA_SET = 0x0101;

/** DIMSE status codes we send (PS3.7 Annex C, §9.1.5.1.4, §9.3.5). */
export const DimseStatus = Object.freeze({
  Success: 0x0000,
  /** Refused: out of resources. Transient: the sender should retry later. */
  OutOfResources: 0xa700,
  /** Error: data set does not match SOP class. Permanent. */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand. Permanent. */
  CannotUnderstand: 0xc000,
  /** Refused: SOP class not supported (on this presentation context). */
  SopClassNotSupported: 0x0122,
  /** Unrecognized operation. */
  UnrecognizedOperation: 0x0211,
} as const);

/** Message Control Header bits of a PDV (PS3.8 Annex E.2). */
export const PdvFlag = Object.freeze({ Command: 0x01, Last: 0x02 } as const);

export const VERIFICATION_SOP_CLASS_UID = '1.2.840.10008.1.1';
