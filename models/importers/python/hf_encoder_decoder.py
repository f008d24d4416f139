"""Exports a Hugging Face VisionEncoderDecoderModel in Optimum's two-graph layout, to read the input
tensor of a classifier package (the report generator's half of a v2 model package, import-model.ts).

  python hf_encoder_decoder.py (<folder saved with save_pretrained> | --random-init [--seed S]) --out <dir>
                               --input-spec <classifier input section.json> --parity-input <images.f32>

--input-spec is the classifier manifest's `input` section: the encoder is exported to take that
tensor. Its size and channels must be the encoder's (else exit 2, saying so); its normalisation
(mean-std or linear-range of v = raw/65535) is turned into the one preprocessor_config.json gives
(rescale, image_mean, image_std) by a per-channel scale and shift prepended to the encoder graph.

Writes encoder_model.onnx (image -> last_hidden_state), decoder_model.onnx (input_ids,
encoder_hidden_states -> logits, present.{i}.decoder/encoder.key/value) and
decoder_with_past_model.onnx (input_ids of the last token and past_key_values.{i}.* -> logits and the
new present.{i}.decoder.*), plus tokenizer.json, config.json, generation_config.json and
preprocessor_config.json. Optimum's merged decoder (one graph with an If on use_cache_branch) is not
made: its two-graph layout is. --random-init builds a tiny ViT encoder (the classifier's size and
channels) + GPT-2 decoder from configs (nothing downloaded) and a byte-level BPE tokenizer trained on a
few template report sentences.

Parity: PyTorch against onnxruntime (Python) per graph, and greedy decoding with the past graphs
against PyTorch's own greedy loop (same tokens), on the --parity-input images (the classifier's
preprocessed tensors); transformers' generate() ids for them (greedy with the written settings, and
3-beam search) go to <out>/.parity/generate.json, with the inputs and PyTorch's encoder outputs, for
onnxruntime-node (src/import-model.ts).
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


def tiny_model(seed, channels=1, size=224):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, ViTConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEMPLATE_SENTENCES * 10, trainers.BpeTrainer(vocab_size=320, special_tokens=['<pad>', '<bos>', '<eos>', '<unk>'],
                                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    pad, bos, eos = (tok.token_to_id(t) for t in ('<pad>', '<bos>', '<eos>'))
    enc = ViTConfig(image_size=size, patch_size=32, num_channels=channels, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    dec = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=128, n_embd=64, n_layer=2, n_head=2, bos_token_id=bos, eos_token_id=eos,
                     pad_token_id=pad, add_cross_attention=True, is_decoder=True)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id, cfg.pad_token_id, cfg.eos_token_id, cfg.bos_token_id = bos, pad, eos, bos
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=cfg).eval()
    # The decoder's matrices drawn with std 0.2, not GPT-2's 0.02: under that a random decoder repeats
    # one token whatever the image, and the parity checks need ids that vary with the image and position.
    with torch.no_grad():
        for p in model.decoder.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.2)
    return model, tok


def flat_cache(cache, layers, with_cross):
    out = []
    for i in range(layers):
        s = cache.self_attention_cache.layers[i]
        out += [s.keys, s.values]
        if with_cross:
            c = cache.cross_attention_cache.layers[i]
            out += [c.keys, c.values]
    return out


class InputError(Exception):
    pass


def classifier_to_unit(norm, channels):
    """(A, B) per channel with v = A*x + B: the classifier's tensor x back to v = raw/65535."""
    if norm['method'] == 'mean-std':
        return [float(s) for s in norm['std']], [float(m) for m in norm['mean']]
    if norm['method'] == 'linear-range':
        (f0, f1), (t0, t1) = norm['from'], norm['to']
        a = (f1 - f0) / (t1 - t0)
        return [a] * channels, [f0 - t0 * a] * channels
    raise InputError(f"the classifier's normalisation is {norm['method']} (per image), which no fixed scale turns into the encoder's; "
                     'use a classifier with mean-std or linear-range normalisation')


def per_channel(value, channels, name):
    v = value if isinstance(value, list) else [value] * channels
    if len(v) != channels:
        raise InputError(f'preprocessor_config.json: {name} has {len(v)} values for {channels} channels')
    return [float(x) for x in v]


def unit_to_encoder(pre, channels):
    """(a, b) per channel with y = a*v + b: what the model's image processor makes of an 8-bit pixel
    255*v (do_rescale by rescale_factor, then do_normalize with image_mean / image_std)."""
    scale = 255.0 * (float(pre.get('rescale_factor', 1 / 255)) if pre.get('do_rescale', True) else 1.0)
    if not pre.get('do_normalize', True):
        return [scale] * channels, [0.0] * channels
    mean, std = per_channel(pre.get('image_mean', 0.5), channels, 'image_mean'), per_channel(pre.get('image_std', 0.5), channels, 'image_std')
    return [scale / s for s in std], [-m / s for m, s in zip(mean, std)]


def processor_size(pre):
    size = pre.get('size')
    if isinstance(size, dict):
        if 'height' in size and 'width' in size:
            return (int(size['height']), int(size['width'])), 'stretched to %dx%d' % (size['height'], size['width'])
        if 'shortest_edge' in size:
            crop = pre.get('crop_size') if pre.get('do_center_crop') else None
            side = int(crop['height']) if isinstance(crop, dict) else int(size['shortest_edge'])
            return (side, side), 'short side to %d%s' % (size['shortest_edge'], ', centre crop %d' % side if crop else '')
    if isinstance(size, int):
        return (size, size), 'stretched to %dx%d' % (size, size)
    return (None, None), 'size not stated in preprocessor_config.json'


def encoder_input(spec, enc_cfg, pre):
    """Checks the classifier's input against the encoder and returns (scale, shift, note)."""
    channels, size = int(spec['channels']), int(spec['size'])
    if int(enc_cfg.num_channels) != channels:
        raise InputError(f"the encoder takes {enc_cfg.num_channels} channel(s), the classifier's input has {channels}: the encoder cannot read the classifier's tensor")
    image_size = enc_cfg.image_size if isinstance(enc_cfg.image_size, int) else enc_cfg.image_size[0]
    if int(image_size) != size:
        raise InputError(f"the encoder takes {image_size} px images, the classifier's input is {size} px: the encoder cannot read the classifier's tensor")
    (ph, pw), how = processor_size(pre)
    if (ph, pw) != (size, size) and ph is not None:
        raise InputError(f"preprocessor_config.json makes {ph}x{pw} images, the classifier's input is {size}x{size}")
    A, B = classifier_to_unit(spec['normalisation'], channels)
    a, b = unit_to_encoder(pre, channels)
    scale, shift = [ai * Ai for ai, Ai in zip(a, A)], [ai * Bi + bi for ai, Bi, bi in zip(a, B, b)]
    resize = spec['resize']['method']
    same_geometry = (resize == 'stretch' and how.startswith('stretched')) or (resize == 'center-crop' and 'centre crop' in how)
    note = (f"The encoder reads the classifier's input tensor ({size}x{size}, {channels} channel(s), resize {spec['resize']['method']}), converted to the "
            f"normalisation of the model's preprocessor_config.json by a per-channel scale and shift in encoder_model.onnx; the model's own image processor "
            f"made images {how}{'' if same_geometry else ' (a different geometry: its text sees the classifier view)'}.")
    return scale, shift, note


class AdaptedEncoder(torch.nn.Module):
    """The classifier's input tensor x → the encoder's pixel_values (scale*x + shift per channel) → last_hidden_state."""
    def __init__(self, encoder, scale, shift):
        super().__init__()
        self.encoder = encoder
        self.register_buffer('scale', torch.tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer('shift', torch.tensor(shift, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, image):
        return self.encoder(pixel_values=image * self.scale + self.shift).last_hidden_state


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


def strip_generated(row, eos):
    """generate()'s ids less the start token, cut before the first stop token (as the Node loop returns them)."""
    out = []
    for t in row[1:]:
        if t in eos:
            break
        out.append(int(t))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('folder', nargs='?')
    p.add_argument('--random-init', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--max-length', type=int, default=24)
    p.add_argument('--input-spec', required=True, help="the classifier manifest's input section (JSON file)")
    p.add_argument('--parity-input', required=True, help="little-endian float32 images [N, channels, size, size], preprocessed the classifier's way")
    args = p.parse_args()
    if bool(args.folder) == args.random_init:
        p.error('give a model folder or --random-init, not both and not neither')
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    from transformers import GenerationConfig, VisionEncoderDecoderModel
    with open(args.input_spec) as f:
        spec = json.load(f)
    channels, size = int(spec['channels']), int(spec['size'])
    timings = {}
    t0 = time.perf_counter()
    if args.random_init:
        model, tok = tiny_model(args.seed, channels, size)
        pre = dict(image_processor_type='ViTImageProcessor', do_resize=True, size=dict(height=size, width=size), do_rescale=True, rescale_factor=1 / 255,
                   do_normalize=True, image_mean=[0.5] * channels, image_std=[0.5] * channels)
    else:
        from tokenizers import Tokenizer
        pre_path = os.path.join(args.folder, 'preprocessor_config.json')
        if not os.path.isfile(pre_path):
            print(f'error: {args.folder}: no preprocessor_config.json, so the normalisation the encoder expects is unknown', file=sys.stderr)
            return 2
        with open(pre_path) as f:
            pre = json.load(f)
        model = VisionEncoderDecoderModel.from_pretrained(args.folder, local_files_only=True).eval()
        tok = Tokenizer.from_file(os.path.join(args.folder, 'tokenizer.json'))
    try:
        scale, shift, input_note = encoder_input(spec, model.config.encoder, pre)
    except InputError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    timings['buildSeconds'] = round(time.perf_counter() - t0, 2)
    cfg = model.config
    layers = cfg.decoder.n_layer if hasattr(cfg.decoder, 'n_layer') else cfg.decoder.num_hidden_layers
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    images = np.fromfile(args.parity_input, dtype='<f4')
    per = channels * size * size
    if images.size == 0 or images.size % per:
        print(f'error: {args.parity_input}: {images.size} floats is not a whole number of {channels}x{size}x{size} images', file=sys.stderr)
        return 2
    px = torch.from_numpy(images.reshape(-1, channels, size, size).copy())
    count = px.shape[0]
    encoder = AdaptedEncoder(model.encoder, scale, shift).eval()
    start = torch.full((count, 1), cfg.decoder_start_token_id, dtype=torch.long)
    with torch.no_grad():
        hidden = encoder(px)
        first = DecoderFirst(model.decoder, layers)(start, hidden)
    past_names = [f'past_key_values.{i}.{w}.{kv}' for i in range(layers) for w in ('decoder', 'encoder') for kv in ('key', 'value')]
    present = [n.replace('past_key_values', 'present') for n in past_names]
    present_dec = [n for n in present if '.decoder.' in n]
    seq = lambda n: 'encoder_sequence_length' if '.encoder.' in n else 'past_sequence_length'  # noqa: E731
    t0 = time.perf_counter()
    torch.onnx.export(encoder, (px,), os.path.join(out, 'encoder_model.onnx'), dynamo=False, opset_version=17, input_names=['image'],
                      output_names=['last_hidden_state'], dynamic_axes={'image': {0: 'batch_size'}, 'last_hidden_state': {0: 'batch_size'}})
    torch.onnx.export(DecoderFirst(model.decoder, layers).eval(), (start, hidden), os.path.join(out, 'decoder_model.onnx'), dynamo=False, opset_version=17,
                      input_names=['input_ids', 'encoder_hidden_states'], output_names=['logits', *present],
                      dynamic_axes={'input_ids': {0: 'batch_size', 1: 'decoder_sequence_length'}, 'encoder_hidden_states': {0: 'batch_size'},
                                    'logits': {0: 'batch_size', 1: 'decoder_sequence_length'},
                                    **{n: {0: 'batch_size', 2: 'encoder_sequence_length' if '.encoder.' in n else 'decoder_sequence_length'} for n in present}})
    step = torch.full((count, 1), 5, dtype=torch.long)
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
        json.dump(pre, f, indent=2)

    # Parity per graph, then greedy decoding with the past graphs against PyTorch's greedy loop.
    import onnxruntime as ort
    t0 = time.perf_counter()
    sess = {n: ort.InferenceSession(os.path.join(out, f'{n}.onnx'), providers=['CPUExecutionProvider']) for n in ('encoder_model', 'decoder_model', 'decoder_with_past_model')}
    o_hidden = sess['encoder_model'].run(None, {'image': px.numpy()})[0]
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
        ids = torch.tensor([tokens] * count)
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

    # transformers' own generate() on the same images (through the same scale and shift): the ids the
    # Node side must produce, greedy with the written settings and 3-beam search.
    eos = set(gen.eos_token_id if isinstance(gen.eos_token_id, list) else [gen.eos_token_id])
    variants = []
    with torch.no_grad():
        for name, extra in (('written', {}), ('beam-3', dict(num_beams=3))):
            g = gen.to_dict()
            g.update(extra)
            ids = model.generate(pixel_values=px * encoder.scale + encoder.shift, generation_config=GenerationConfig(**g)).numpy()
            variants.append(dict(name=name, generationConfig={k: v for k, v in g.items() if v is not None and not k.startswith('_') and k != 'transformers_version'},
                                 ids=[strip_generated(r.tolist(), eos) for r in ids]))
    timings['paritySeconds'] = round(time.perf_counter() - t0, 2)
    pdir = os.path.join(out, '.parity')
    os.makedirs(pdir, exist_ok=True)
    np.ascontiguousarray(px.numpy(), dtype='<f4').tofile(os.path.join(pdir, 'image.f32'))
    np.ascontiguousarray(hidden.numpy(), dtype='<f4').tofile(os.path.join(pdir, 'last_hidden_state.f32'))
    with open(os.path.join(pdir, 'shapes.json'), 'w') as f:
        json.dump(dict(input=dict(name='image', file='image.f32', shape=list(px.shape)), states=list(hidden.shape), tolerances=dict(last_hidden_state=PARITY_TOLERANCE)), f)
    with open(os.path.join(pdir, 'generate.json'), 'w') as f:
        json.dump(dict(note="transformers generate() (PyTorch) on the --parity-input images", variants=variants,
                       texts=[tok.decode(r, skip_special_tokens=True) for r in variants[0]['ids']]), f)
    greedy_equal = bool((t_ids == o_ids).all()) and [strip_generated(r.tolist(), eos) for r in t_ids] == variants[0]['ids']
    report = dict(out=out, parity=dict(onnxruntimePython=diffs, teacherForcedTokens=forced_tokens, greedyTokensEqual=greedy_equal, greedyText=tok.decode(t_ids[0].tolist()[1:])),
                  encoderInput=dict(scale=scale, shift=shift, note=input_note),
                  source=dict(kind='random-init', seed=args.seed) if args.random_init else dict(kind='save_pretrained', folder=os.path.basename(os.path.abspath(args.folder))),
                  architecture=f"{cfg.encoder.model_type} encoder ({getattr(cfg.encoder, 'num_hidden_layers', '?')} layers of {getattr(cfg.encoder, 'hidden_size', '?')}) + {cfg.decoder.model_type} decoder ({layers} layers)",
                  timings=timings, randomInit=bool(args.random_init))
    print(json.dumps(report))
    if not (max(diffs.values()) <= PARITY_TOLERANCE and report['parity']['greedyTokensEqual']):
        print(f'error: onnxruntime differs from PyTorch: {diffs}, greedy tokens equal: {report["parity"]["greedyTokensEqual"]}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
