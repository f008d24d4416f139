// Text generation with a Hugging Face decoder that takes and returns its key/value cache
// (`past_key_values.*` in, `present.*` out: the layouts Optimum exports and transformers.js runs:
// one merged graph, or decoder_model.onnx for the first step and decoder_with_past_model.onnx after),
// batched over images: one session.run per generated token for the whole batch. Settings come from
// the export's generation_config.json: greedy or beam search, max_length / max_new_tokens, the
// stop token(s), no_repeat_ngram_size and repetition_penalty, as transformers' `generate` applies them.
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ModelPackageError } from './errors.ts';
import { tensorRows } from './tensor-rows.ts';

const tokenIds = z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).min(1)]);

/** The fields of generation_config.json that decide the text; the rest are ignored. */
export const generationConfigSchema = z
  .object({
    decoder_start_token_id: z.number().int().nonnegative().optional(),
    bos_token_id: z.number().int().nonnegative().nullable().optional(),
    eos_token_id: tokenIds,
    pad_token_id: z.number().int().nonnegative().nullable().optional(),
    max_length: z.number().int().positive().max(1024).optional(),
    max_new_tokens: z.number().int().positive().max(1024).nullable().optional(),
    num_beams: z.number().int().positive().max(16).default(1),
    length_penalty: z.number().default(1),
    early_stopping: z.union([z.boolean(), z.literal('never')]).default(false),
    no_repeat_ngram_size: z.number().int().nonnegative().default(0),
    repetition_penalty: z.number().positive().default(1),
    do_sample: z.boolean().default(false),
  })
  .loose()
  .superRefine((g, ctx) => {
    if (g.do_sample) ctx.addIssue({ code: 'custom', message: 'do_sample is true: sampled text differs from run to run, and a draft report must be reproducible; set do_sample false', path: ['do_sample'] });
    if (g.decoder_start_token_id === undefined && (g.bos_token_id === undefined || g.bos_token_id === null))
      ctx.addIssue({ code: 'custom', message: 'neither decoder_start_token_id nor bos_token_id is set: nothing to start decoding with', path: ['decoder_start_token_id'] });
    if (g.max_length === undefined && (g.max_new_tokens === undefined || g.max_new_tokens === null))
      ctx.addIssue({ code: 'custom', message: 'neither max_length nor max_new_tokens is set: decoding would have no bound', path: ['max_length'] });
  });

export interface GenerationSettings {
  startToken: number;
  stopTokens: number[];
  /** New tokens at most (max_new_tokens, else max_length less the start token). */
  maxNewTokens: number;
  numBeams: number;
  lengthPenalty: number;
  /** true: stop a batch row once num_beams hypotheses are finished; false: also unless a running beam can still beat them; 'never': run to maxNewTokens. */
  earlyStopping: boolean | 'never';
  noRepeatNgramSize: number;
  repetitionPenalty: number;
}

export function generationSettingsOf(json: unknown, file: string): GenerationSettings {
  const parsed = generationConfigSchema.safeParse(json);
  if (!parsed.success) throw new ModelPackageError(`${file}: invalid (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
  const g = parsed.data;
  return {
    startToken: g.decoder_start_token_id ?? g.bos_token_id!,
    stopTokens: Array.isArray(g.eos_token_id) ? g.eos_token_id : [g.eos_token_id],
    maxNewTokens: g.max_new_tokens ?? Math.max(1, g.max_length! - 1),
    numBeams: g.num_beams,
    lengthPenalty: g.length_penalty,
    earlyStopping: g.early_stopping,
    noRepeatNgramSize: g.no_repeat_ngram_size,
    repetitionPenalty: g.repetition_penalty,
  };
}

/**
 * The decoder graph(s) generation runs: one graph that takes its cache from the first step on (an
 * Optimum merged graph, transformers.js's single graph), or Optimum's two-graph layout: the graph
 * without past inputs (decoder_model.onnx) for the first step, the one with them
 * (decoder_with_past_model.onnx) for every later step.
 */
export type DecoderSessions = ort.InferenceSession | { first: ort.InferenceSession; withPast: ort.InferenceSession };

/** How the decoder graph(s) name and shape the cache, read from the graphs themselves. */
export interface CacheLayout {
  /** past input name → the present output that feeds it next step (an output the with-past graph does not return is carried over: Optimum's cross-attention cache). */
  pairs: { past: string; present: string; dims: (number | null)[] }[];
  /** Optimum's merged graphs take a boolean `use_cache_branch`; transformers.js-style single graphs do not. */
  useCacheBranch: boolean;
  logits: string;
  vocabularySize: number | null;
  /** `one-graph`: the first step gets empty caches; `two-graph`: it runs the graph without past inputs, whose present.* fill the cache. */
  graphs: 'one-graph' | 'two-graph';
}

const meta = (list: readonly ort.InferenceSession.ValueMetadata[] | undefined, name: string) => list?.find((m) => m.name === name);

function vocabularySizeOf(session: ort.InferenceSession): number | null {
  const logitsMeta = meta(session.outputMetadata, 'logits');
  const last = logitsMeta && logitsMeta.isTensor ? logitsMeta.shape[logitsMeta.shape.length - 1] : undefined;
  return typeof last === 'number' ? last : null;
}

/** The shape of each past input: [batch, ...fixed..., sequence, ...fixed...]. */
function pastDims(session: ort.InferenceSession, file: string, past: string): (number | null)[] {
  const m = meta(session.inputMetadata, past);
  const shape = m && m.isTensor ? m.shape : [];
  if (shape.length < 3) throw new ModelPackageError(`${file}: '${past}' must declare its shape [batch, ..., sequence, ...] (it declares [${shape.join(',')}])`);
  if (m && m.isTensor && m.type !== 'float32') throw new ModelPackageError(`${file}: '${past}' is ${m.type}; only float32 caches are run`);
  const dims = shape.map((d, i) => (i === 0 ? null : typeof d === 'number' ? d : null));
  if (dims.slice(1).filter((d) => d === null).length !== 1) throw new ModelPackageError(`${file}: '${past}' shape [${shape.join(',')}] must have exactly one symbolic sequence dimension after the batch`);
  return dims;
}

/**
 * Reads the cache layout of a decoder graph: inputs `input_ids`, `encoder_hidden_states` and
 * `past_key_values.<suffix>`, outputs `logits` and `present.<suffix>` for each past input. A past
 * tensor is [batch, ...fixed sizes..., sequence, ...fixed sizes...]: dimension 0 is the batch, the
 * one symbolic dimension after it the sequence (empty on the first step), every other one fixed.
 */
export function cacheLayoutOf(session: ort.InferenceSession, file: string): CacheLayout {
  const inputs = session.inputNames;
  const outputs = session.outputNames;
  for (const name of ['input_ids', 'encoder_hidden_states']) if (!inputs.includes(name)) throw new ModelPackageError(`${file}: input '${name}' missing from the decoder graph (inputs: ${inputs.join(', ')})`);
  if (!outputs.includes('logits')) throw new ModelPackageError(`${file}: output 'logits' missing from the decoder graph (outputs: ${outputs.join(', ')})`);
  const pairs: CacheLayout['pairs'] = [];
  for (const past of inputs.filter((n) => n.startsWith('past_key_values.'))) {
    const present = `present.${past.slice('past_key_values.'.length)}`;
    if (!outputs.includes(present)) throw new ModelPackageError(`${file}: input '${past}' has no matching output '${present}': not a decoder that returns its cache`);
    pairs.push({ past, present, dims: pastDims(session, file, past) });
  }
  if (pairs.length === 0)
    throw new ModelPackageError(`${file}: the decoder graph takes no past_key_values.* inputs: a decoder without a key/value cache is not run (export it with past, e.g. decoder_model_merged.onnx, or name Optimum's decoder_with_past_model.onnx as decoderWithPastFile)`);
  return { pairs, useCacheBranch: inputs.includes('use_cache_branch'), logits: 'logits', vocabularySize: vocabularySizeOf(session), graphs: 'one-graph' };
}

/**
 * Reads the cache layout of Optimum's two-graph export. `first` (decoder_model.onnx): inputs
 * `input_ids`, `encoder_hidden_states`, no past; outputs `logits` and `present.<suffix>` for every
 * cache tensor. `withPast` (decoder_with_past_model.onnx): inputs `input_ids`, `past_key_values.<suffix>`
 * (and `encoder_hidden_states` if it takes them); outputs `logits` and `present.<suffix>` for the
 * tensors it updates (the self-attention's); the rest (the cross-attention's `.encoder.*`) are kept
 * from the first step, as transformers.js and Optimum's ORTModel do.
 */
export function twoGraphCacheLayoutOf(first: ort.InferenceSession, withPast: ort.InferenceSession, files: { first: string; withPast: string }): CacheLayout {
  const known = (n: string) => n === 'input_ids' || n === 'encoder_hidden_states' || n.startsWith('past_key_values.');
  for (const [session, file] of [[first, files.first], [withPast, files.withPast]] as const) {
    if (!session.inputNames.includes('input_ids')) throw new ModelPackageError(`${file}: input 'input_ids' missing from the decoder graph (inputs: ${session.inputNames.join(', ')})`);
    if (!session.outputNames.includes('logits')) throw new ModelPackageError(`${file}: output 'logits' missing from the decoder graph (outputs: ${session.outputNames.join(', ')})`);
    const unknown = session.inputNames.filter((n) => !known(n));
    if (unknown.length > 0) throw new ModelPackageError(`${file}: inputs ${unknown.join(', ')} are not fed by this loader (it feeds input_ids, encoder_hidden_states and past_key_values.*)`);
  }
  if (!first.inputNames.includes('encoder_hidden_states')) throw new ModelPackageError(`${files.first}: input 'encoder_hidden_states' missing from the first-step decoder graph (inputs: ${first.inputNames.join(', ')})`);
  const firstPast = first.inputNames.filter((n) => n.startsWith('past_key_values.'));
  if (firstPast.length > 0) throw new ModelPackageError(`${files.first}: the first-step graph takes ${firstPast[0]}: name the graph without past inputs (Optimum's decoder_model.onnx) as decoderFile`);
  const pairs: CacheLayout['pairs'] = [];
  for (const past of withPast.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
    const present = `present.${past.slice('past_key_values.'.length)}`;
    if (!first.outputNames.includes(present)) throw new ModelPackageError(`${files.withPast}: input '${past}' has no matching output '${present}' in ${files.first}: not the first step of this decoder`);
    pairs.push({ past, present, dims: pastDims(withPast, files.withPast, past) });
  }
  if (pairs.length === 0) throw new ModelPackageError(`${files.withPast}: the with-past decoder graph takes no past_key_values.* inputs`);
  const stray = withPast.outputNames.filter((n) => n.startsWith('present.') && !pairs.some((p) => p.present === n));
  if (stray.length > 0) throw new ModelPackageError(`${files.withPast}: outputs ${stray.join(', ')} have no matching past_key_values.* input`);
  const vocabularySize = vocabularySizeOf(first) ?? vocabularySizeOf(withPast);
  const other = vocabularySizeOf(withPast);
  if (vocabularySize !== null && other !== null && other !== vocabularySize) throw new ModelPackageError(`${files.withPast}: ${other} logits, but ${files.first} has ${vocabularySize}: not the same decoder`);
  return { pairs, useCacheBranch: false, logits: 'logits', vocabularySize, graphs: 'two-graph' };
}

export interface Generated {
  /** Generated token ids, the start token and stop token excluded. */
  ids: number[][];
  /** False when the row reached maxNewTokens without a stop token. */
  stopped: boolean[];
}

interface Cache {
  tensors: Map<string, ort.Tensor>;
}

function emptyCache(layout: CacheLayout, rows: number): Cache {
  const tensors = new Map<string, ort.Tensor>();
  for (const { past, dims } of layout.pairs) {
    const shape = dims.map((d, i) => (i === 0 ? rows : d ?? 0));
    tensors.set(past, new ort.Tensor('float32', new Float32Array(0), shape));
  }
  return { tensors };
}

/**
 * The cache for the next step from this step's outputs (a tensor the step did not return is the
 * previous step's, e.g. the cross-attention cache of Optimum's with-past graph); `rows` picks (and
 * reorders) batch rows for beam search.
 */
function nextCache(layout: CacheLayout, out: ort.InferenceSession.OnnxValueMapType, previous: Cache | null, rows: number[] | null): Cache {
  const tensors = new Map<string, ort.Tensor>();
  for (const { past, present } of layout.pairs) {
    const t = (out[present] as ort.Tensor | undefined) ?? previous?.tensors.get(past);
    if (!t) throw new ModelPackageError(`the decoder step returned no '${present}' and there is no earlier one to keep`);
    tensors.set(past, rows ? tensorRows(t, rows) : t);
  }
  return { tensors };
}

/** The first step's cache: empty tensors for a one-graph decoder, none for the two-graph one (its first graph takes no past). */
const firstCache = (layout: CacheLayout, rows: number): Cache | null => (layout.graphs === 'one-graph' ? emptyCache(layout, rows) : null);

function sessionsFor(graphs: DecoderSessions, layout: CacheLayout): { first: ort.InferenceSession; withPast: ort.InferenceSession } {
  const pair = 'withPast' in graphs;
  if (pair !== (layout.graphs === 'two-graph')) throw new Error(`generate: a ${layout.graphs} cache layout needs ${layout.graphs === 'two-graph' ? 'the first-step and with-past sessions' : 'one decoder session'}`);
  return pair ? graphs : { first: graphs, withPast: graphs };
}

/** Encoder states [N, T, d] repeated `times` per row (beam search runs num_beams rows per image). */
function repeatRows(t: ort.Tensor, times: number): ort.Tensor {
  if (times === 1) return t;
  const N = t.dims[0]!;
  return tensorRows(t, Array.from({ length: N * times }, (_, i) => Math.floor(i / times)));
}

/** transformers' RepetitionPenaltyLogitsProcessor: a token already in the sequence has its score divided (positive) or multiplied (negative) by the penalty. */
export function applyRepetitionPenalty(scores: Float32Array, sequence: readonly number[], penalty: number): void {
  if (penalty === 1) return;
  for (const t of new Set(sequence)) {
    if (t >= scores.length) continue;
    const s = scores[t]!;
    scores[t] = s < 0 ? s * penalty : s / penalty;
  }
}

/** transformers' NoRepeatNGramLogitsProcessor: a token that would complete an n-gram already in the sequence is banned. */
export function banRepeatedNgrams(scores: Float32Array, sequence: readonly number[], n: number): void {
  if (n <= 0 || sequence.length + 1 < n) return;
  const prefix = sequence.slice(sequence.length - (n - 1));
  for (let i = 0; i + n <= sequence.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1; j++) if (sequence[i + j] !== prefix[j]) { same = false; break; }
    if (same) scores[sequence[i + n - 1]!] = -Infinity;
  }
}

function logSoftmaxInPlace(x: Float32Array): void {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! - lse;
}

interface StepResult {
  out: ort.InferenceSession.OnnxValueMapType;
  /** [rows, V] scores of the last position. */
  scores: Float32Array;
  V: number;
}

async function step(session: ort.InferenceSession, layout: CacheLayout, tokens: number[], encoder: ort.Tensor, cache: Cache | null, first: boolean): Promise<StepResult> {
  const rows = tokens.length;
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, (t) => BigInt(t)), [rows, 1]) };
  // Optimum's with-past graph takes the cross-attention cache instead of the encoder states.
  if (session.inputNames.includes('encoder_hidden_states')) feeds.encoder_hidden_states = encoder;
  if (cache) for (const [name, t] of cache.tensors) feeds[name] = t;
  if (layout.useCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([first ? 0 : 1]), [1]);
  const out = await session.run(feeds);
  const logits = out[layout.logits] as ort.Tensor;
  const V = logits.dims[logits.dims.length - 1]!;
  const S = logits.dims.length === 3 ? logits.dims[1]! : 1;
  const data = logits.data as Float32Array;
  const scores = new Float32Array(rows * V);
  for (let r = 0; r < rows; r++) scores.set(data.subarray((r * S + S - 1) * V, (r * S + S) * V), r * V);
  return { out, scores, V };
}

/** Greedy or beam search, as the settings say, for a batch of encoder states [N, T, d]. */
export async function generate(decoder: DecoderSessions, layout: CacheLayout, encoder: ort.Tensor, settings: GenerationSettings): Promise<Generated> {
  const sessions = sessionsFor(decoder, layout);
  return settings.numBeams > 1 ? beamSearch(sessions, layout, encoder, settings) : greedy(sessions, layout, encoder, settings);
}

type Sessions = ReturnType<typeof sessionsFor>;

async function greedy(sessions: Sessions, layout: CacheLayout, encoder: ort.Tensor, g: GenerationSettings): Promise<Generated> {
  const N = encoder.dims[0]!;
  const stop = new Set(g.stopTokens);
  const sequences: number[][] = Array.from({ length: N }, () => [g.startToken]);
  const stopped: boolean[] = new Array<boolean>(N).fill(false);
  let tokens = new Array<number>(N).fill(g.startToken);
  let cache = firstCache(layout, N);
  for (let t = 0; t < g.maxNewTokens; t++) {
    const { out, scores, V } = await step(t === 0 ? sessions.first : sessions.withPast, layout, tokens, encoder, cache, t === 0);
    tokens = tokens.map((_, n) => {
      if (stopped[n]) return g.stopTokens[0]!;
      const row = scores.subarray(n * V, (n + 1) * V);
      applyRepetitionPenalty(row, sequences[n]!, g.repetitionPenalty);
      banRepeatedNgrams(row, sequences[n]!, g.noRepeatNgramSize);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
      if (stop.has(best)) stopped[n] = true;
      else sequences[n]!.push(best);
      return best;
    });
    if (stopped.every(Boolean)) break;
    cache = nextCache(layout, out, cache, null);
  }
  return { ids: sequences.map((s) => s.slice(1)), stopped };
}

interface Hypothesis {
  ids: number[];
  score: number;
}

async function beamSearch(sessions: Sessions, layout: CacheLayout, encoder: ort.Tensor, g: GenerationSettings): Promise<Generated> {
  const N = encoder.dims[0]!;
  const B = g.numBeams;
  const stop = new Set(g.stopTokens);
  const enc = repeatRows(encoder, B);
  // Row n*B + b is beam b of image n; at the start only beam 0 is live (the others would repeat it).
  let beams: number[][] = Array.from({ length: N * B }, () => [g.startToken]);
  let beamScores = Float64Array.from({ length: N * B }, (_, r) => (r % B === 0 ? 0 : -Infinity));
  const finished: Hypothesis[][] = Array.from({ length: N }, () => []);
  const done: boolean[] = new Array<boolean>(N).fill(false);
  const normalised = (score: number, length: number): number => score / length ** g.lengthPenalty;
  let tokens = beams.map((b) => b[b.length - 1]!);
  let cache = firstCache(layout, N * B);
  for (let t = 0; t < g.maxNewTokens; t++) {
    const { out, scores, V } = await step(t === 0 ? sessions.first : sessions.withPast, layout, tokens, enc, cache, t === 0);
    const nextBeams: number[][] = [];
    const nextScores: number[] = [];
    const origin: number[] = [];
    for (let n = 0; n < N; n++) {
      const candidates: { score: number; row: number; token: number }[] = [];
      for (let b = 0; b < B; b++) {
        const r = n * B + b;
        if (done[n] || beamScores[r] === -Infinity) continue;
        const row = scores.subarray(r * V, (r + 1) * V);
        // As transformers' beam search: the processors see log-probabilities (not renormalised after).
        logSoftmaxInPlace(row);
        applyRepetitionPenalty(row, beams[r]!, g.repetitionPenalty);
        banRepeatedNgrams(row, beams[r]!, g.noRepeatNgramSize);
        for (let v = 0; v < V; v++) if (row[v]! > -Infinity) candidates.push({ score: beamScores[r]! + row[v]!, row: r, token: v });
      }
      candidates.sort((a, b) => b.score - a.score);
      const kept: { score: number; row: number; token: number }[] = [];
      for (const [rank, c] of candidates.slice(0, 2 * B).entries()) {
        if (stop.has(c.token)) {
          // As transformers: a stop token only finishes a hypothesis from among the top num_beams.
          if (rank < B) finished[n]!.push({ ids: beams[c.row]!.slice(1), score: normalised(c.score, beams[c.row]!.length) });
        } else kept.push(c);
        if (kept.length === B) break;
      }
      finished[n]!.sort((a, b) => b.score - a.score);
      finished[n]!.splice(B);
      if (!done[n] && finished[n]!.length >= B) {
        const best = kept[0];
        if (g.earlyStopping === true || !best) done[n] = true;
        else if (g.earlyStopping === false && normalised(best.score, beams[best.row]!.length + 1) <= finished[n]![B - 1]!.score) done[n] = true;
      }
      for (let b = 0; b < B; b++) {
        const c = kept[b];
        if (done[n] || !c) {
          nextBeams.push([g.startToken]);
          nextScores.push(-Infinity);
          origin.push(n * B);
        } else {
          nextBeams.push([...beams[c.row]!, c.token]);
          nextScores.push(c.score);
          origin.push(c.row);
        }
      }
    }
    beams = nextBeams;
    beamScores = Float64Array.from(nextScores);
    if (done.every(Boolean)) break;
    tokens = beams.map((b) => b[b.length - 1]!);
    cache = nextCache(layout, out, cache, origin);
  }
  const ids: number[][] = [];
  const stopped: boolean[] = [];
  for (let n = 0; n < N; n++) {
    const best = finished[n]![0];
    let runningBest = -1;
    for (let b = 0; b < B; b++) {
      const r = n * B + b;
      if (beamScores[r]! > -Infinity && (runningBest < 0 || beamScores[r]! > beamScores[runningBest]!)) runningBest = r;
    }
    const running = runningBest >= 0 ? { ids: beams[runningBest]!.slice(1), score: normalised(beamScores[runningBest]!, beams[runningBest]!.length) } : null;
    if (best && (!running || done[n] || best.score >= running.score)) {
      ids.push(best.ids);
      stopped.push(true);
    } else {
      ids.push(running?.ids ?? []);
      stopped.push(false);
    }
  }
  return { ids, stopped };
}
