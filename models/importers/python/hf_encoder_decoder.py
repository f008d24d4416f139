"""Exports a Hugging Face VisionEncoderDecoderModel in the layout Optimum writes (and transformers.js reads).

  python hf_encoder_decoder.py (<folder saved with save_pretrained> | --random-init [--seed S]) --out <dir>

Writes encoder_model.onnx (pixel_values -> last_hidden_state), decoder_model.onnx (input_ids,
encoder_hidden_states -> logits, present.{i}.decoder/encoder.key/value) and
decoder_with_past_model.onnx (input_ids of the last token and past_key_values.{i}.* -> logits and the
new present.{i}.decoder.*), plus tokenizer.json, config.json, generation_config.json and
preprocessor_config.json. Optimum's merged decoder (one graph with an If on use_cache_branch) is not
made: its two-graph layout is. --random-init builds a tiny ViT encoder + GPT-2 decoder from configs
(nothing downloaded) and a byte-level BPE tokenizer trained on a few template report sentences.

Parity: PyTorch against onnxruntime (Python) per graph, and greedy decoding with the past graphs
against PyTorch's own greedy loop (same tokens); the inputs and PyTorch's outputs are left in
<out>/.parity/ for onnxruntime-node (src/parity.ts). Not a model package: see the README.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

PARITY_TOLERANCE = 1e-4
TEMPLATE_SENTENCES = [
    'No acute cardiopulmonary abnormality.', 'The heart size is normal.', 'Cardiomegaly.', 'The lungs are clear.',
    'No pleural effusion.', 'Right pleural effusion.', 'Left pleural effusion.', 'Bilateral pleural effusions.',
    'No pneumothorax.', 'Right pneumothorax.', 'Left pneumothorax.', 'A 12 mm nodule in the right upper zone.',
    'A 45 mm mass in the left lower zone.', 'No focal consolidation.',
]


def tiny_model(seed):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, ViTConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEMPLATE_SENTENCES * 10, trainers.BpeTrainer(vocab_size=320, special_tokens=['<pad>', '<bos>', '<eos>', '<unk>'],
                                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    pad, bos, eos = (tok.token_to_id(t) for t in ('<pad>', '<bos>', '<eos>'))
    enc = ViTConfig(image_size=224, patch_size=32, num_channels=1, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    dec = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=128, n_embd=64, n_layer=2, n_head=2, bos_token_id=bos, eos_token_id=eos,
                     pad_token_id=pad, add_cross_attention=True, is_decoder=True)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id, cfg.pad_token_id, cfg.eos_token_id, cfg.bos_token_id = bos, pad, eos, bos
    torch.manual_seed(seed)
    return VisionEncoderDecoderModel(config=cfg).eval(), tok


def flat_cache(cache, layers, with_cross):
    out = []
    for i in range(layers):
        s = cache.self_attention_cache.layers[i]
        out += [s.keys, s.values]
        if with_cross:
            c = cache.cross_attention_cache.layers[i]
            out += [c.keys, c.values]
    return out


class DecoderFirst(torch.nn.Module):
    def __init__(self, decoder, layers):
        super().__init__()
        self.decoder, self.layers = decoder, layers

    def forward(self, input_ids, encoder_hidden_states):
        o = self.decoder(input_ids=input_ids, encoder_hidden_states=encoder_hidden_states, use_cache=True, return_dict=True)
        return (o.logits, *flat_cache(o.past_key_values, self.layers, True))


class DecoderWithPast(torch.nn.Module):
    def __init__(self, decoder, layers):
        super().__init__()
        self.decoder, self.layers = decoder, layers

    def forward(self, input_ids, *past):
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache
        cache = EncoderDecoderCache(DynamicCache(ddp_cache_data=[(past[4 * i], past[4 * i + 1]) for i in range(self.layers)]),
                                    DynamicCache(ddp_cache_data=[(past[4 * i + 2], past[4 * i + 3]) for i in range(self.layers)]))
        for i in range(self.layers):
            cache.is_updated[i] = True  # the cross-attention keys/values are given: do not recompute them
        # GPT-2 runs cross-attention only when given encoder_hidden_states; with is_updated it reads
        # the cached keys/values instead of them, so any [N, S, d] tensor does: the first layer's
        # cross key of one head (the graph then has no encoder_hidden_states input, as Optimum's).
        o = self.decoder(input_ids=input_ids, encoder_hidden_states=past[2][:, 0], past_key_values=cache, use_cache=True, return_dict=True)
        return (o.logits, *flat_cache(o.past_key_values, self.layers, False))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('folder', nargs='?')
    p.add_argument('--random-init', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--max-length', type=int, default=24)
    args = p.parse_args()
    if bool(args.folder) == args.random_init:
        p.error('give a model folder or --random-init, not both and not neither')
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    from transformers import GenerationConfig, VisionEncoderDecoderModel
    timings = {}
    t0 = time.perf_counter()
    if args.random_init:
        model, tok = tiny_model(args.seed)
    else:
        from tokenizers import Tokenizer
        model = VisionEncoderDecoderModel.from_pretrained(args.folder, local_files_only=True).eval()
        tok = Tokenizer.from_file(os.path.join(args.folder, 'tokenizer.json'))
    timings['buildSeconds'] = round(time.perf_counter() - t0, 2)
    cfg = model.config
    layers = cfg.decoder.n_layer if hasattr(cfg.decoder, 'n_layer') else cfg.decoder.num_hidden_layers
    size, channels = cfg.encoder.image_size, cfg.encoder.num_channels
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    g = torch.Generator().manual_seed(args.seed + 1)
    px = torch.randn(2, channels, size, size, generator=g)
    start = torch.full((2, 1), cfg.decoder_start_token_id, dtype=torch.long)
    with torch.no_grad():
        hidden = model.encoder(pixel_values=px).last_hidden_state
        first = DecoderFirst(model.decoder, layers)(start, hidden)
    past_names = [f'past_key_values.{i}.{w}.{kv}' for i in range(layers) for w in ('decoder', 'encoder') for kv in ('key', 'value')]
    present = [n.replace('past_key_values', 'present') for n in past_names]
    present_dec = [n for n in present if '.decoder.' in n]
    seq = lambda n: 'encoder_sequence_length' if '.encoder.' in n else 'past_sequence_length'  # noqa: E731
    t0 = time.perf_counter()
    torch.onnx.export(model.encoder, (px,), os.path.join(out, 'encoder_model.onnx'), dynamo=False, opset_version=17, input_names=['pixel_values'],
                      output_names=['last_hidden_state'], dynamic_axes={'pixel_values': {0: 'batch_size'}, 'last_hidden_state': {0: 'batch_size'}})
    torch.onnx.export(DecoderFirst(model.decoder, layers).eval(), (start, hidden), os.path.join(out, 'decoder_model.onnx'), dynamo=False, opset_version=17,
                      input_names=['input_ids', 'encoder_hidden_states'], output_names=['logits', *present],
                      dynamic_axes={'input_ids': {0: 'batch_size', 1: 'decoder_sequence_length'}, 'encoder_hidden_states': {0: 'batch_size'},
                                    'logits': {0: 'batch_size', 1: 'decoder_sequence_length'},
                                    **{n: {0: 'batch_size', 2: 'encoder_sequence_length' if '.encoder.' in n else 'decoder_sequence_length'} for n in present}})
    step = torch.full((2, 1), 5, dtype=torch.long)
    torch.onnx.export(DecoderWithPast(model.decoder, layers).eval(), (step, *first[1:]), os.path.join(out, 'decoder_with_past_model.onnx'), dynamo=False,
                      opset_version=17, input_names=['input_ids', *past_names], output_names=['logits', *present_dec],
                      dynamic_axes={'input_ids': {0: 'batch_size'}, 'logits': {0: 'batch_size'}, **{n: {0: 'batch_size', 2: seq(n)} for n in past_names},
                                    **{n: {0: 'batch_size', 2: 'past_sequence_length + 1'} for n in present_dec}})
    timings['exportSeconds'] = round(time.perf_counter() - t0, 2)

    tok.save(os.path.join(out, 'tokenizer.json'))
    model.config.to_json_file(os.path.join(out, 'config.json'))
    gen = GenerationConfig(decoder_start_token_id=cfg.decoder_start_token_id, bos_token_id=cfg.bos_token_id, eos_token_id=cfg.eos_token_id,
                           pad_token_id=cfg.pad_token_id, max_length=args.max_length, num_beams=1, do_sample=False)
    gen.to_json_file(os.path.join(out, 'generation_config.json'))
    with open(os.path.join(out, 'preprocessor_config.json'), 'w') as f:
        json.dump(dict(image_processor_type='ViTImageProcessor', do_resize=True, size=dict(height=size, width=size), do_rescale=True, rescale_factor=1 / 255,
                       do_normalize=True, image_mean=[0.5] * channels, image_std=[0.5] * channels), f, indent=2)

    # Parity per graph, then greedy decoding with the past graphs against PyTorch's greedy loop.
    import onnxruntime as ort
    t0 = time.perf_counter()
    sess = {n: ort.InferenceSession(os.path.join(out, f'{n}.onnx'), providers=['CPUExecutionProvider']) for n in ('encoder_model', 'decoder_model', 'decoder_with_past_model')}
    o_hidden = sess['encoder_model'].run(None, {'pixel_values': px.numpy()})[0]
    o_first = sess['decoder_model'].run(None, {'input_ids': start.numpy(), 'encoder_hidden_states': hidden.numpy()})
    diffs = dict(encoder=float(np.abs(o_hidden - hidden.numpy()).max()), decoder=max(float(np.abs(a - b.numpy()).max()) for a, b in zip(o_first, first)))

    def greedy_torch():
        ids = start
        with torch.no_grad():
            for _ in range(args.max_length - 1):
                logits = model.decoder(input_ids=ids, encoder_hidden_states=hidden).logits[:, -1]
                ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], 1)
        return ids.numpy()

    def greedy_onnx():
        o = sess['decoder_model'].run(None, {'input_ids': start.numpy(), 'encoder_hidden_states': o_hidden})
        ids, logits, past = [start.numpy()], o[0][:, -1], dict(zip(past_names, o[1:]))
        while len(ids) < args.max_length:
            nxt = logits.argmax(-1)[:, None].astype(np.int64)
            ids.append(nxt)
            r = sess['decoder_with_past_model'].run(None, {'input_ids': nxt, **past})
            logits = r[0][:, -1]
            for name, v in zip(present_dec, r[1:]):
                past[name.replace('present', 'past_key_values')] = v
        return np.concatenate(ids, 1)

    def teacher_forced_diff(sentence):
        """A template sentence's tokens fed one at a time through the past graph, against PyTorch's
        full forward without a cache: the largest logit difference over every position."""
        tokens = [cfg.decoder_start_token_id] + tok.encode(sentence).ids
        ids = torch.tensor([tokens, tokens])
        with torch.no_grad():
            full = model.decoder(input_ids=ids, encoder_hidden_states=hidden).logits.numpy()
        o = sess['decoder_model'].run(None, {'input_ids': ids[:, :1].numpy(), 'encoder_hidden_states': o_hidden})
        worst, past = float(np.abs(o[0][:, 0] - full[:, 0]).max()), dict(zip(past_names, o[1:]))
        for t in range(1, len(tokens)):
            r = sess['decoder_with_past_model'].run(None, {'input_ids': ids[:, t:t + 1].numpy(), **past})
            worst = max(worst, float(np.abs(r[0][:, 0] - full[:, t]).max()))
            for name, v in zip(present_dec, r[1:]):
                past[name.replace('present', 'past_key_values')] = v
        return worst, len(tokens)

    t_ids = greedy_torch()
    o_ids = greedy_onnx()
    diffs['teacherForcedWithPast'], forced_tokens = teacher_forced_diff(TEMPLATE_SENTENCES[11])
    with torch.no_grad():
        step_logits = DecoderWithPast(model.decoder, layers)(step, *first[1:])[0].numpy()
    o_step = sess['decoder_with_past_model'].run(['logits'], {'input_ids': step.numpy(), **{n: v.numpy() for n, v in zip(past_names, first[1:])}})[0]
    diffs['decoderWithPast'] = float(np.abs(o_step - step_logits).max())
    timings['paritySeconds'] = round(time.perf_counter() - t0, 2)
    pdir = os.path.join(out, '.parity')
    os.makedirs(pdir, exist_ok=True)
    np.ascontiguousarray(px.numpy(), dtype='<f4').tofile(os.path.join(pdir, 'pixel_values.f32'))
    np.ascontiguousarray(hidden.numpy(), dtype='<f4').tofile(os.path.join(pdir, 'last_hidden_state.f32'))
    with open(os.path.join(pdir, 'shapes.json'), 'w') as f:
        json.dump(dict(input=dict(name='pixel_values', file='pixel_values.f32', shape=list(px.shape)), tolerances=dict(last_hidden_state=PARITY_TOLERANCE)), f)
    report = dict(out=out, parity=dict(onnxruntimePython=diffs, teacherForcedTokens=forced_tokens, greedyTokensEqual=bool((t_ids == o_ids).all()), greedyText=tok.decode(t_ids[0].tolist()[1:])),
                  timings=timings, randomInit=bool(args.random_init))
    with open(os.path.join(out, 'import-report.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report))
    if not (max(diffs.values()) <= PARITY_TOLERANCE and report['parity']['greedyTokensEqual']):
        print(f'error: onnxruntime differs from PyTorch: {diffs}, greedy tokens equal: {report["parity"]["greedyTokensEqual"]}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
