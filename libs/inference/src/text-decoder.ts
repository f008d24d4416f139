// Greedy report decoding with the one-step decoder graph, batched: one session.run per step for
// the whole batch; the hidden state output tensor is fed straight back as the next input.
import * as ort from 'onnxruntime-node';
import type { ModelManifestV1 } from './manifest.ts';

export type GruDecoderSpec = ModelManifestV1['decoder'];

export interface DecodedText {
  findings: string;
  impression: string;
  /**
   * False when decoding reached the decoder's maxLength without its stop token: the text is cut
   * off somewhere (mid-sentence, or before the impression), so readers treat all of it as failed.
   */
  complete: boolean;
}

export function detokenize(tokens: string[]): string {
  return tokens.join(' ').replace(/ ([.,])/g, '$1').trim();
}

export async function decodeReports(session: ort.InferenceSession, decoder: GruDecoderSpec, conditioning: ort.Tensor, count: number): Promise<DecodedText[]> {
  const vocab = decoder.vocabulary;
  const id = (t: string): number => vocab.indexOf(t);
  const bos = id(decoder.specialTokens.bos);
  const eos = id(decoder.specialTokens.eos);
  const V = vocab.length;
  const H = decoder.hiddenSize;
  const tokens = new BigInt64Array(count).fill(BigInt(bos));
  let hidden: ort.Tensor = new ort.Tensor('float32', new Float32Array(count * H), [count, H]);
  const out: number[][] = Array.from({ length: count }, () => []);
  const done = new Uint8Array(count);
  for (let step = 0; step < decoder.maxLength; step++) {
    const result = await session.run({ token: new ort.Tensor('int64', tokens, [count]), hidden, conditioning });
    const logits = result.logits!.data as Float32Array;
    let remaining = 0;
    for (let n = 0; n < count; n++) {
      let best = 0;
      let bestV = -Infinity;
      const row = n * V;
      for (let v = 0; v < V; v++) {
        const x = logits[row + v]!;
        if (x > bestV) {
          bestV = x;
          best = v;
        }
      }
      tokens[n] = BigInt(best);
      if (!done[n]) {
        if (best === eos) done[n] = 1;
        else out[n]!.push(best);
      }
      if (!done[n]) remaining++;
    }
    hidden = result.hidden_out as ort.Tensor;
    if (remaining === 0) break;
  }
  return out.map((ids, n) => splitDecoded(ids, vocab, decoder.specialTokens, done[n] === 1));
}

/** Token ids (stop token excluded) to the two sections; `stopped`: the stop token was reached. */
export function splitDecoded(ids: readonly number[], vocab: readonly string[], special: GruDecoderSpec['specialTokens'], stopped: boolean): DecodedText {
  const id = (t: string): number => vocab.indexOf(t);
  const [pad, bos, sep] = [id(special.pad), id(special.bos), id(special.sep)];
  const cut = ids.indexOf(sep);
  const words = (list: readonly number[]): string[] => list.filter((t) => t !== pad && t !== bos && t !== sep).map((t) => vocab[t]!);
  const text = cut < 0 ? { findings: detokenize(words(ids)), impression: '' } : { findings: detokenize(words(ids.slice(0, cut))), impression: detokenize(words(ids.slice(cut + 1))) };
  return { ...text, complete: stopped };
}
