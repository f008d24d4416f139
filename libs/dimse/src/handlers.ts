/**
 * What the application decides, as small interfaces the network layer calls (the split of
 * Orthanc's DicomNetworking: the framework never knows what a store or a caller means to the
 * server using it). The upper layer, message assembly and service classes live in this package;
 * the application supplies these.
 */

/** Decides whether a calling AE may open an association ("accept this AE?"). */
export interface CallingAeFilter {
  acceptsCaller(callingAeTitle: string): boolean;
}

export interface InstanceContext {
  associationId: string;
  callingAeTitle: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** SHA-256 (hex) of the file handed over and of its data set (the file after its meta information), computed as the bytes arrived. */
  sha256: { file: string; dataSet: string };
}

/** A C-STORE the network layer refused itself, without calling onInstance (for metrics). */
export interface RefusalContext {
  associationId: string;
  callingAeTitle: string;
  status: number;
  /** memory: the shared receive budget was full; too-large: over maxInstanceBytes; data-set: the data set checks. */
  reason: 'memory' | 'too-large' | 'data-set';
}

/** Where a received instance goes ("store where?"). */
export interface StoreHandler {
  /** Told of each C-STORE refused before onInstance (errors are ignored). */
  onRefused?(ctx: RefusalContext): void;
  /**
   * A complete Part 10 file: preamble, our file meta information, then the data set exactly as
   * received. Resolve = stored (status 0x0000). Reject = not stored; the status sent is the
   * error's `dimseStatus` when it is a failure code, else 0xA700 (see store-status.ts).
   */
  onInstance(file: Buffer, ctx: InstanceContext): Promise<void>;
}

export interface AssociationEndContext {
  associationId: string;
  callingAeTitle: string;
  /** false = aborted (by either side), dropped, or timed out. */
  released: boolean;
  /** Instances whose onInstance resolved, in the order received. */
  storedSopInstanceUids: string[];
}

export interface AssociationEndHandler {
  /** Once per accepted association, after release, abort or close; errors are logged. */
  onAssociationEnd(ctx: AssociationEndContext): Promise<void>;
}

export interface DimseLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The filter `allowedCallingAeTitles` stands for: empty or undefined = any caller. */
export function callingAeTitleFilter(allowed: readonly string[] | undefined): CallingAeFilter {
  const titles = new Set(allowed ?? []);
  return { acceptsCaller: (callingAeTitle) => titles.size === 0 || titles.has(callingAeTitle) };
}
