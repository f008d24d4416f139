export { splitSentences, type SentenceSpan } from './sentences.ts';
export { assertedCodes, findMentions, termPatterns, type FindingTerms, type Mention } from './finding-mentions.ts';
export {
  findingGeometry, MIDDLE_ZONE_END, MIN_CONTRAST, MIDLINE_SHARE, NO_GEOMETRY, normaliseCode, SECOND_AREA_SHARE, UPPER_ZONE_END, zoneAt,
  type FindingGeometry, type HeatmapPixels, type Side, type Zone,
} from './finding-geometry.ts';
export { confidenceBand, HIGH_CONFIDENCE_LOG_ODDS, logit, MODERATE_CONFIDENCE_LOG_ODDS } from './confidence.ts';
export { findingSentence, type SentenceFinding } from './finding-sentence.ts';
export { MAX_LESION_ASPECT, measuredSizeMm, NODULE_MAX_MM, type MeasurableImage } from './size-measurement.ts';
export {
  BORDERLINE_CALL, NEGATES_EVERYTHING, NO_FINDINGS_TEXT, NO_IMPRESSION_TEXT, NORMAL_STUDY_IMPRESSION, REFERENCE_WORDING, readSentence, structuralDefect, wordingFor,
  type ReadingContext, type SectionName, type SentenceForm, type SentenceMeaning, type SentenceReading, type SentenceSize, type SentenceWording, type StatedFinding,
} from './sentence-grammar.ts';
export { composeDraftText, type DraftText, type DraftTextFinding, type DraftTextImage } from './draft-text.ts';
export { checkReportText, type TextCheckCounts } from './text-checks.ts';
export { placeDisagrees } from './place-agreement.ts';
export { answerClinicalQuestion, readClinicalQuestion, type ClinicalQuestion, type QuestionAnswer, type QuestionTopic } from './clinical-question.ts';
export {
  COMPARISON_NONE, compareFindings, compareWithPrior, isoStudyDate, SIZE_CHANGE_SHARE,
  type ChangeKind, type ComparedFinding, type Comparison, type FindingChange,
} from './comparison.ts';
