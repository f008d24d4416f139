export {
  createDimseServer,
  DimseConfigError,
  type DimseServer,
  type DimseServerOptions,
  type DimseLogger,
  type InstanceContext,
  type AssociationEndContext,
} from './dimse-server.ts';
export { DimseStatusError, DimseProtocolError } from './dimse-errors.ts';
export { DimseStatus } from './dimse-constants.ts';
