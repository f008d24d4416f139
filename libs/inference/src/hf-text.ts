// Report text from a Hugging Face encoder-decoder export (manifest `text.decoder:
// "hf-encoder-decoder"`, docs/model-package.md): the encoder's `last_hidden_state`, the decoder
// graph with its key/value cache or Optimum's pair of graphs (first step, with past; hf-generation.ts),
// the settings of generation_config.json, and tokenizer.json decoded by @huggingface/tokenizers (the tokenizer transformers.js uses). The text
// splits into findings and impression at the manifest's `impressionMarker`.
import { Tokenizer } from '@huggingface/tokenizers';
import type * as ort from 'onnxruntime-node';
import { ModelPackageError } from './errors.ts';
import { cacheLayoutOf, generate, generationSettingsOf, twoGraphCacheLayoutOf, type CacheLayout, type GenerationSettings } from './hf-generation.ts';
import type { ModelManifestV2 } from './manifest.ts';
import type { DecodedText } from './text-decoder.ts';

export type HfTextSpec = Extract<ModelManifestV2['text'], { decoder: 'hf-encoder-decoder' }>;

export interface HfText {
  settings: GenerationSettings;
  layout: CacheLayout;
  decode(encoderStates: ort.Tensor): Promise<DecodedText[]>;
}

function jsonFile(files: Map<string, Uint8Array>, name: string): unknown {
  try {
    return JSON.parse(Buffer.from(files.get(name)!).toString('utf8'));
  } catch (err) {
    throw new ModelPackageError(`${name}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Splits generated text at the marker: before it the findings, after it the impression. */
export function splitAtMarker(text: string, marker: string | undefined): { findings: string; impression: string } {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (!marker) return { findings: clean, impression: '' };
  const at = clean.indexOf(marker);
  if (at < 0) return { findings: clean, impression: '' };
  return { findings: clean.slice(0, at).trim(), impression: clean.slice(at + marker.length).trim() };
}

/** `withPast`: the session of `spec.decoderWithPastFile` (Optimum's two-graph layout), null when the spec names none. */
export function createHfText(spec: HfTextSpec, files: Map<string, Uint8Array>, decoder: ort.InferenceSession, withPast: ort.InferenceSession | null = null): HfText {
  const config = jsonFile(files, spec.config);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ModelPackageError(`${spec.config}: not a JSON object`);
  const settings = generationSettingsOf(jsonFile(files, spec.generationConfig), spec.generationConfig);
  const tokenizerJson = jsonFile(files, spec.tokenizer);
  const tokenizerConfig = spec.tokenizerConfig ? jsonFile(files, spec.tokenizerConfig) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
  } catch (err) {
    throw new ModelPackageError(`${spec.tokenizer}: not a tokenizer @huggingface/tokenizers can read (${(err as Error).message})`, { cause: err });
  }
  if (Boolean(spec.decoderWithPastFile) !== Boolean(withPast)) throw new ModelPackageError(`createHfText: text.decoderWithPastFile (${spec.decoderWithPastFile ?? 'none'}) and the with-past session go together`);
  const layout = withPast ? twoGraphCacheLayoutOf(decoder, withPast, { first: spec.decoderFile, withPast: spec.decoderWithPastFile! }) : cacheLayoutOf(decoder, spec.decoderFile);
  const sessions = withPast ? { first: decoder, withPast } : decoder;
  const vocab = (tokenizerJson as { model?: { vocab?: Record<string, number> | unknown[] } }).model?.vocab;
  const vocabSize = vocab && typeof vocab === 'object' ? Object.keys(vocab).length : null;
  if (layout.vocabularySize !== null && vocabSize !== null && vocabSize > layout.vocabularySize)
    throw new ModelPackageError(`${spec.tokenizer}: ${vocabSize} tokens, but the decoder's logits have ${layout.vocabularySize}: not this decoder's tokenizer`);
  for (const t of [settings.startToken, ...settings.stopTokens])
    if (layout.vocabularySize !== null && t >= layout.vocabularySize) throw new ModelPackageError(`${spec.generationConfig}: token id ${t} is outside the decoder's ${layout.vocabularySize} logits`);
  return {
    settings,
    layout,
    async decode(encoderStates) {
      const { ids, stopped } = await generate(sessions, layout, encoderStates, settings);
      return ids.map((row, n) => ({ ...splitAtMarker(tokenizer.decode(row, { skip_special_tokens: true }), spec.impressionMarker), complete: stopped[n]! }));
    },
  };
}
