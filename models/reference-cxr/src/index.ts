export { buildVocabulary, encodeReport, splitWords, SPECIAL_TOKENS, TOKEN_PATTERN } from './tokenizer.ts';
