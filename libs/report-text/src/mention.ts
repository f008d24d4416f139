// One mention of a finding in report text: what the extractor returns (its own module so the
// study-level reading can use the type without importing the extractor).
import type { Certainty, MentionStatus } from './assertion-scope.ts';
import type { Laterality, Zone } from './finding-attributes.ts';
import type { MentionCode } from './finding-codes.ts';
import type { SectionName } from './report-sections.ts';

export interface Mention {
  readonly code: MentionCode;
  /** What was found in plain words: "pleural effusion", "granuloma", "heart size". */
  readonly term: string;
  readonly status: MentionStatus;
  /** Set on uncertain mentions. */
  readonly certainty?: Certainty;
  readonly section: SectionName;
  /** The words as written. */
  readonly text: string;
  /** The cue that set the status ("no", "cannot be excluded"), when one did. */
  readonly cue?: string;
  readonly laterality?: Laterality;
  readonly zones?: readonly Zone[];
  /** Largest dimension of a size written in the same clause, in millimetres. */
  readonly sizeMm?: number;
  readonly sentence: string;
  /** Character offsets of `text` in the section's text. */
  readonly start: number;
  readonly end: number;
}
