export { createDimseServer, type DimseServer } from './dimse-server.ts';
export type { DimseServerOptions, ReceiveBudget } from './server-options.ts';
export {
  callingAeTitleFilter,
  type AssociationEndContext,
  type AssociationEndHandler,
  type CallingAeFilter,
  type DimseLogger,
  type InstanceContext,
  type RefusalContext,
  type StoreHandler,
} from './handlers.ts';
export { DimseConfigError, DimseStatusError, DimseProtocolError } from './dimse-errors.ts';
export { DimseStatus } from './dimse-constants.ts';
