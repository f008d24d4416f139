// Word-level tokenizer for the report style of @cxr/phantom. The vocabulary is enumerated from
// the report templates (every size 1–99 mm and every ratio 0.30–0.99), so it is complete and
// deterministic; it is stored in the manifest (`decoder.vocabulary`) for decoding.
import { FINDING_CODES, writeReport, type ReportText } from '@cxr/phantom';

export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<sep>', '<unk>'] as const;
export const TOKEN_PATTERN = /\d+\.\d+|[A-Za-z]+|\d+|[.,]/g;

export function splitWords(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

export function buildVocabulary(): string[] {
  const words = new Set<string>();
  const add = (t: ReportText): void => {
    for (const w of [...splitWords(t.findings), ...splitWords(t.impression)]) words.add(w);
  };
  add(writeReport([]));
  for (const code of FINDING_CODES)
    for (const side of ['right', 'left'] as const)
      for (const zone of ['upper', 'middle', 'lower'] as const)
        for (let size = 1; size < 100; size++) add(writeReport([{ code, side, zone, sizeMm: size, ctr: 0.3 + (size % 70) / 100 }]));
  for (let r = 30; r < 100; r++) add(writeReport([{ code: 'cardiomegaly', side: null, zone: null, sizeMm: 0, ctr: r / 100 }]));
  return [...SPECIAL_TOKENS, ...[...words].sort()];
}

/** <findings tokens> <sep> <impression tokens> <eos>, padded with <pad> to `maxLength`. */
export function encodeReport(text: ReportText, vocabulary: string[], maxLength: number): Uint16Array {
  const index = new Map(vocabulary.map((w, i) => [w, i]));
  const unk = index.get('<unk>')!;
  const ids = [
    ...splitWords(text.findings).map((w) => index.get(w) ?? unk),
    index.get('<sep>')!,
    ...splitWords(text.impression).map((w) => index.get(w) ?? unk),
    index.get('<eos>')!,
  ];
  if (ids.length > maxLength) throw new RangeError(`report needs ${ids.length} tokens, more than ${maxLength}`);
  const out = new Uint16Array(maxLength);
  out.set(ids);
  return out;
}
