"""Trains the reference model's report decoder as a Hugging Face VisionEncoderDecoderModel and
exports it in the encoder / decoder-with-past ONNX layout transformers.js runs.

  python train-hf-decoder.py --train data/text-a data/text-b --val data/text-val --out data/hf --epochs 12
  python train-hf-decoder.py --export data/hf --vision ../vision.onnx --package ../../reference-cxr-vlm

The model (built from configs, nothing downloaded):
- encoder: `CxrConditioningEncoder`, a PreTrainedModel that turns the frozen reference CNN's
  239-value `conditioning` output into 6 tokens of 128: one per finding (its logit minus the
  threshold logit, whether that is above 0, its 4x4 mean and max heatmap, its soft peak) plus one of
  the 64 global image features. In the ONNX export it is appended to the CNN (vision.onnx), so
  `encoder_model.onnx` takes the image (`pixel_values`) and returns `last_hidden_state` beside the
  CNN's own outputs (logits, heatmaps, conditioning), and the worker runs the image once.
- decoder: GPT-2 (3 layers of 128, 4 heads, cross-attention), byte-level BPE tokenizer trained on the
  training reports; text = "<findings> IMPRESSION: <impression>".

Export: `decoder_model_merged.onnx`, one graph with `input_ids`, `encoder_hidden_states` and
`past_key_values.{i}.key|value` ([batch, 4, past, 32]; past may be 0 long) giving `logits` and
`present.{i}.key|value`. Cross-attention is recomputed from encoder_hidden_states each step (6
tokens), so no use_cache_branch is needed; this is the input naming transformers.js uses for
vision-encoder-decoder models with a GPT-2 decoder. Parity: teacher-forced logits through the
graph, one token at a time with the cache, against the PyTorch model's uncached forward (1e-4), and
greedy tokens equal.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

K = 5
COND = 239
GLOBAL = 64
D_MODEL = 128
MARKER = 'IMPRESSION:'
SPECIAL = ['<pad>', '<bos>', '<eos>', '<unk>']


def report_text(r):
    return f"{r['findings']} {MARKER} {r['impression']}"


def load_split(dirs):
    conds, texts, labels, tiers = [], [], [], []
    for d in dirs:
        meta = json.load(open(os.path.join(d, 'meta.json')))
        n, c = meta['count'], meta['conditioningWidth']
        assert c == COND, f'{d}: conditioning width {c}, expected {COND}'
        conds.append(np.fromfile(os.path.join(d, 'conditioning.f32'), dtype='<f4').reshape(n, c))
        labels.append(np.fromfile(os.path.join(d, 'labels.u8'), dtype=np.uint8).reshape(n, K))
        tiers.append(np.fromfile(os.path.join(d, 'tiers.u8'), dtype=np.uint8).reshape(n, K))
        with open(os.path.join(d, 'reports.jsonl')) as f:
            texts += [report_text(json.loads(line)) for line in f if line.strip()]
    return np.concatenate(conds), texts, np.concatenate(labels), np.concatenate(tiers)


def make_classes():
    from transformers import PretrainedConfig, PreTrainedModel
    from transformers.modeling_outputs import BaseModelOutput

    class CxrConditioningEncoderConfig(PretrainedConfig):
        model_type = 'cxr-conditioning-encoder'

        def __init__(self, hidden_size=D_MODEL, num_findings=K, conditioning_width=COND, global_features=GLOBAL, **kw):
            super().__init__(**kw)
            self.hidden_size, self.num_findings, self.conditioning_width, self.global_features = hidden_size, num_findings, conditioning_width, global_features

    class CxrConditioningEncoder(PreTrainedModel):
        """conditioning [N, 239] (the reference CNN's output) -> last_hidden_state [N, 6, d]."""
        config_class = CxrConditioningEncoderConfig
        main_input_name = 'pixel_values'

        def __init__(self, config):
            super().__init__(config)
            d = config.hidden_size
            self.finding_in = torch.nn.Linear(1 + 1 + 16 + 16 + 2, d)
            self.global_in = torch.nn.Linear(config.global_features, d)
            self.finding_embedding = torch.nn.Parameter(torch.zeros(config.num_findings + 1, d))
            self.mlp = torch.nn.Sequential(torch.nn.LayerNorm(d), torch.nn.Linear(d, 2 * d), torch.nn.GELU(), torch.nn.Linear(2 * d, d))
            self.norm = torch.nn.LayerNorm(d)
            self.post_init()

        def tokens(self, c):
            n = c.shape[0]
            delta = c[:, 0:K]
            mean = c[:, K:K + 16 * K].reshape(n, K, 16)
            mx = c[:, K + 16 * K:K + 32 * K].reshape(n, K, 16)
            px = c[:, K + 32 * K:2 * K + 32 * K]
            py = c[:, 2 * K + 32 * K:3 * K + 32 * K]
            g = c[:, 3 * K + 32 * K:]
            per = torch.cat([delta[..., None], (delta > 0).to(c.dtype)[..., None], mean, mx, px[..., None], py[..., None]], dim=2)
            x = torch.cat([self.finding_in(per), self.global_in(g)[:, None]], dim=1) + self.finding_embedding[None]
            return self.norm(x + self.mlp(x))

        def forward(self, pixel_values=None, return_dict=True, **kw):
            h = self.tokens(pixel_values)
            return BaseModelOutput(last_hidden_state=h) if return_dict else (h,)

    return CxrConditioningEncoderConfig, CxrConditioningEncoder


def register():
    from transformers import AutoConfig, AutoModel
    cfg_cls, model_cls = make_classes()
    AutoConfig.register(cfg_cls.model_type, cfg_cls)
    AutoModel.register(cfg_cls, model_cls)
    return cfg_cls, model_cls


def train_tokenizer(texts, vocab_size):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return tok


def build_model(tok, seed, layers, heads):
    from transformers import GPT2Config, VisionEncoderDecoderModel
    cfg_cls, enc_cls = register()
    torch.manual_seed(seed)
    pad, bos, eos = (tok.token_to_id(t) for t in SPECIAL[:3])
    enc = enc_cls(cfg_cls())
    dec_cfg = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=128, n_embd=D_MODEL, n_layer=layers, n_head=heads, bos_token_id=bos, eos_token_id=eos,
                         pad_token_id=pad, add_cross_attention=True, is_decoder=True, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    from transformers import GPT2LMHeadModel
    dec = GPT2LMHeadModel(dec_cfg)
    model = VisionEncoderDecoderModel(encoder=enc, decoder=dec)
    model.config.decoder_start_token_id, model.config.pad_token_id, model.config.eos_token_id, model.config.bos_token_id = bos, pad, eos, bos
    return model


def encode_all(tok, texts, max_len):
    eos = tok.token_to_id('<eos>')
    ids = np.full((len(texts), max_len), -100, dtype=np.int64)
    longest = 0
    for i, t in enumerate(texts):
        e = tok.encode(t).ids + [eos]
        longest = max(longest, len(e))
        if len(e) > max_len:
            raise ValueError(f'report {i} needs {len(e)} tokens, more than {max_len}')
        ids[i, :len(e)] = e
    return ids, longest


def greedy(model, cond, bos, eos, max_len):
    """PyTorch greedy decoding without a cache (the reference the export is checked against)."""
    with torch.no_grad():
        enc = model.encoder(pixel_values=cond).last_hidden_state
        ids = torch.full((cond.shape[0], 1), bos, dtype=torch.long)
        done = torch.zeros(cond.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            nxt = model.decoder(input_ids=ids, encoder_hidden_states=enc).logits[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            ids = torch.cat([ids, nxt[:, None]], 1)
            done |= nxt == eos
            if bool(done.all()):
                break
    return ids[:, 1:].numpy()


LABEL_TERMS = {'nodule': 'nodule', 'mass': 'mass', 'effusion': 'pleural_effusion', 'effusions': 'pleural_effusion', 'cardiomegaly': 'cardiomegaly', 'enlarged': 'cardiomegaly', 'pneumothorax': 'pneumothorax'}
CODES = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax']


def label_text(text):
    """Monitoring only (the figures that count come from @cxr/model-evaluation): a sentence names a
    finding unless it starts with "No"."""
    out = np.zeros(K, dtype=np.int64)
    for sentence in text.replace(MARKER, '.').split('.'):
        words = sentence.strip().lower().replace(',', ' ').split()
        if not words or words[0] == 'no':
            continue
        for w in words:
            if w in LABEL_TERMS:
                out[CODES.index(LABEL_TERMS[w])] = 1
    return out


def micro_f1(pred, truth):
    tp = int((pred & truth).sum())
    fp = int((pred & (1 - truth)).sum())
    fn = int(((1 - pred) & truth).sum())
    return 2 * tp / max(1, 2 * tp + fp + fn)


def train(args):
    torch.set_num_threads(args.threads)
    cond, texts, _, _ = load_split(args.train)
    vcond, vtexts, vlabels, _ = load_split([args.val])
    tok = train_tokenizer(texts, args.vocab)
    ids, longest = encode_all(tok, texts, args.max_length)
    vids, _ = encode_all(tok, vtexts, args.max_length)
    print(f'{len(texts)} training reports, vocabulary {tok.get_vocab_size()}, longest {longest} tokens', flush=True)
    model = build_model(tok, args.seed, args.layers, args.heads)
    params = sum(p.numel() for p in model.parameters())
    print(f'{params} parameters', flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * math.ceil(len(texts) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    cond_t, ids_t = torch.from_numpy(cond), torch.from_numpy(ids)
    g = torch.Generator().manual_seed(args.seed)
    bos, eos = tok.token_to_id('<bos>'), tok.token_to_id('<eos>')
    t0 = time.time()
    log = []
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(texts), generator=g)
        total, count = 0.0, 0
        for s in range(0, len(texts), args.batch):
            b = perm[s:s + args.batch]
            labels = ids_t[b]
            width = int((labels != -100).sum(1).max())
            labels = labels[:, :width]
            c = cond_t[b] + args.noise * torch.randn(len(b), COND, generator=g)
            out = model(pixel_values=c, labels=labels)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(out.loss) * len(b)
            count += len(b)
        model.eval()
        with torch.no_grad():
            vl = model(pixel_values=torch.from_numpy(vcond[:500]), labels=torch.from_numpy(vids[:500, :int((vids[:500] != -100).sum(1).max())])).loss.item()
        pred_ids = greedy(model, torch.from_numpy(vcond[:300]), bos, eos, args.max_length)
        preds = np.stack([label_text(tok.decode([t for t in row.tolist() if t != eos])) for row in pred_ids])
        f1 = micro_f1(preds, vlabels[:300].astype(np.int64))
        entry = dict(epoch=epoch + 1, trainLoss=round(total / count, 4), valLoss=round(vl, 4), valF1Monitor=round(f1, 4), minutes=round((time.time() - t0) / 60, 2))
        log.append(entry)
        print(json.dumps(entry), flush=True)
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tok.save(os.path.join(args.out, 'tokenizer.json'))
    from transformers import GenerationConfig
    gen = GenerationConfig(decoder_start_token_id=bos, bos_token_id=bos, eos_token_id=eos, pad_token_id=tok.token_to_id('<pad>'), max_length=args.max_length,
                           num_beams=1, do_sample=False, no_repeat_ngram_size=0, repetition_penalty=1.0)
    gen.save_pretrained(args.out)
    json.dump(dict(args={k: v for k, v in vars(args).items() if k not in ('train', 'val')}, train=args.train, val=args.val, parameters=params, log=log,
                   trainingReports=len(texts)), open(os.path.join(args.out, 'training.json'), 'w'), indent=2)
    return 0


# ---------------------------------------------------------------------------------------------
# Export


class MergedDecoder(torch.nn.Module):
    """GPT-2 with cross-attention, written out with the HF module's own weights so the self-attention
    cache is plain tensors: past [B, H, P, hd] (P may be 0) + S new tokens -> logits, present [B, H, P+S, hd]."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm
        c = lm.config
        self.layers, self.heads, self.hd = c.n_layer, c.n_head, c.n_embd // c.n_head
        self.eps = c.layer_norm_epsilon
        self.d = c.n_embd

    def split(self, x):
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.hd).transpose(1, 2)

    def forward(self, input_ids, encoder_hidden_states, *past):
        t = self.lm.transformer
        b, s = input_ids.shape
        p = past[0].shape[2]
        pos = torch.arange(s, dtype=torch.long)[None] + p
        x = t.wte(input_ids) + t.wpe(pos)
        keys = torch.arange(p + s)[None, :]
        allowed = keys <= (pos[0][:, None])  # [S, P+S]
        bias = torch.where(allowed, torch.zeros((), dtype=x.dtype), torch.full((), torch.finfo(x.dtype).min, dtype=x.dtype))[None, None]
        present = []
        scale = 1.0 / math.sqrt(self.hd)
        for i, block in enumerate(t.h):
            h = F.layer_norm(x, (self.d,), block.ln_1.weight, block.ln_1.bias, self.eps)
            qkv = block.attn.c_attn(h)
            q, k, v = qkv.split(qkv.shape[-1] // 3, dim=2)
            q, k, v = self.split(q), self.split(k), self.split(v)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            present += [k, v]
            a = torch.softmax(q @ k.transpose(-1, -2) * scale + bias, dim=-1) @ v
            x = x + block.attn.c_proj(a.transpose(1, 2).reshape(b, s, self.d))
            h = F.layer_norm(x, (self.d,), block.ln_cross_attn.weight, block.ln_cross_attn.bias, self.eps)
            cq = self.split(block.crossattention.q_attn(h))
            ckv = block.crossattention.c_attn(encoder_hidden_states)
            ck, cv = ckv.split(ckv.shape[-1] // 2, dim=2)
            ck, cv = self.split(ck), self.split(cv)
            a = torch.softmax(cq @ ck.transpose(-1, -2) * scale, dim=-1) @ cv
            x = x + block.crossattention.c_proj(a.transpose(1, 2).reshape(b, s, self.d))
            h = F.layer_norm(x, (self.d,), block.ln_2.weight, block.ln_2.bias, self.eps)
            x = x + block.mlp(h)
        x = F.layer_norm(x, (self.d,), t.ln_f.weight, t.ln_f.bias, self.eps)
        return (self.lm.lm_head(x), *present)


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()


def export(args):
    import onnx
    import onnxruntime as ort
    from onnx import compose
    from tokenizers import Tokenizer
    from transformers import VisionEncoderDecoderModel
    register()
    torch.set_num_threads(args.threads)
    model = VisionEncoderDecoderModel.from_pretrained(args.export, local_files_only=True).eval()
    tok = Tokenizer.from_file(os.path.join(args.export, 'tokenizer.json'))
    gen = json.load(open(os.path.join(args.export, 'generation_config.json')))
    out = os.path.abspath(args.package)
    os.makedirs(out, exist_ok=True)
    work = os.path.join(args.export, 'onnx-work')
    os.makedirs(work, exist_ok=True)
    lm = model.decoder
    L, H, hd = lm.config.n_layer, lm.config.n_head, lm.config.n_embd // lm.config.n_head

    # 1. The token projection as its own graph (conditioning -> last_hidden_state), then appended to the CNN.
    c = torch.randn(2, COND)
    proj_path = os.path.join(work, 'projection.onnx')
    torch.onnx.export(model.encoder, (c,), proj_path, dynamo=False, opset_version=17, input_names=['conditioning'], output_names=['last_hidden_state'],
                      dynamic_axes={'conditioning': {0: 'N'}, 'last_hidden_state': {0: 'N'}})
    vision = onnx.load(args.vision)
    proj = onnx.load(proj_path)
    if vision.opset_import[0].version != proj.opset_import[0].version:
        proj = onnx.version_converter.convert_version(proj, vision.opset_import[0].version)
    proj = compose.add_prefix(proj, 'text_projection/', rename_inputs=False, rename_outputs=False)
    vision_outputs = [o.name for o in vision.graph.output]
    merged = compose.merge_models(vision, proj, io_map=[('conditioning', 'conditioning')], outputs=vision_outputs + ['last_hidden_state'])
    old_input = merged.graph.input[0].name
    for node in merged.graph.node:
        for j, name in enumerate(node.input):
            if name == old_input:
                node.input[j] = 'pixel_values'
    merged.graph.input[0].name = 'pixel_values'
    merged.graph.name = 'cxr-reference-encoder'
    onnx.checker.check_model(merged)
    enc_path = os.path.join(out, 'encoder_model.onnx')
    onnx.save(merged, enc_path)

    # 2. The decoder with past.
    dec = MergedDecoder(lm).eval()
    enc_h = model.encoder(pixel_values=c).last_hidden_state.detach()
    ids = torch.tensor([[5, 7], [9, 11]])
    past = [torch.randn(2, H, 3, hd) for _ in range(2 * L)]
    past_names = [f'past_key_values.{i}.{kv}' for i in range(L) for kv in ('key', 'value')]
    present_names = [n.replace('past_key_values', 'present') for n in past_names]
    dec_path = os.path.join(out, 'decoder_model_merged.onnx')
    torch.onnx.export(dec, (ids, enc_h, *past), dec_path, dynamo=False, opset_version=17, input_names=['input_ids', 'encoder_hidden_states', *past_names],
                      output_names=['logits', *present_names],
                      dynamic_axes={'input_ids': {0: 'batch_size', 1: 'sequence_length'}, 'encoder_hidden_states': {0: 'batch_size', 1: 'encoder_sequence_length'},
                                    'logits': {0: 'batch_size', 1: 'sequence_length'},
                                    **{n: {0: 'batch_size', 2: 'past_sequence_length'} for n in past_names},
                                    **{n: {0: 'batch_size', 2: 'total_sequence_length'} for n in present_names}})

    # 3. Parity: the encoder graph's last_hidden_state against PyTorch on the CNN's own conditioning;
    # teacher-forced logits one token at a time with the cache against the uncached forward; greedy tokens.
    es = ort.InferenceSession(enc_path, providers=['CPUExecutionProvider'])
    ds = ort.InferenceSession(dec_path, providers=['CPUExecutionProvider'])
    rng = np.random.default_rng(0)
    px = rng.standard_normal((2, 1, 256, 256)).astype(np.float32)
    eo = dict(zip([o.name for o in es.get_outputs()], es.run(None, {'pixel_values': px})))
    with torch.no_grad():
        ref_h = model.encoder(pixel_values=torch.from_numpy(eo['conditioning'])).last_hidden_state.numpy()
    diffs = dict(encoder=float(np.abs(ref_h - eo['last_hidden_state']).max()))
    vcond, vtexts, _, _ = load_split([args.val])
    vc = torch.from_numpy(vcond[:8])
    with torch.no_grad():
        vh = model.encoder(pixel_values=vc).last_hidden_state
    bos, eos = gen['decoder_start_token_id'], gen['eos_token_id']
    worst = 0.0
    for n in range(4):
        tokens = [bos] + tok.encode(vtexts[n]).ids
        with torch.no_grad():
            full = model.decoder(input_ids=torch.tensor([tokens]), encoder_hidden_states=vh[n:n + 1]).logits[0].numpy()
        cache = {nm: np.zeros((1, H, 0, hd), np.float32) for nm in past_names}
        for t_i, t in enumerate(tokens):
            r = ds.run(None, {'input_ids': np.array([[t]], np.int64), 'encoder_hidden_states': vh[n:n + 1].numpy(), **cache})
            worst = max(worst, float(np.abs(r[0][0, 0] - full[t_i]).max()))
            cache = dict(zip(past_names, r[1:]))
    diffs['teacherForcedWithPast'] = worst
    ref_ids = greedy(model, vc, bos, eos, gen['max_length'])
    cache = {nm: np.zeros((8, H, 0, hd), np.float32) for nm in past_names}
    cur = np.full((8, 1), bos, np.int64)
    onnx_ids, done = [], np.zeros(8, bool)
    for _ in range(gen['max_length']):
        r = ds.run(None, {'input_ids': cur, 'encoder_hidden_states': vh.numpy(), **cache})
        nxt = np.where(done, eos, r[0][:, -1].argmax(-1))
        onnx_ids.append(nxt)
        done |= nxt == eos
        cache = dict(zip(past_names, r[1:]))
        cur = nxt[:, None].astype(np.int64)
        if done.all():
            break
    onnx_ids = np.stack(onnx_ids, 1)
    w = min(onnx_ids.shape[1], ref_ids.shape[1])
    greedy_equal = bool((onnx_ids[:, :w] == ref_ids[:, :w]).all())
    print(json.dumps(dict(parity=diffs, greedyTokensEqual=greedy_equal, sample=tok.decode([t for t in ref_ids[0].tolist() if t != eos]))), flush=True)
    if max(diffs.values()) > 1e-4 or not greedy_equal:
        print('error: the ONNX graphs differ from PyTorch', file=sys.stderr)
        return 1

    # 4. The Hugging Face files beside the graphs.
    tok.save(os.path.join(out, 'tokenizer.json'))
    json.dump(dict(model_max_length=gen['max_length'], bos_token='<bos>', eos_token='<eos>', pad_token='<pad>', unk_token='<unk>', tokenizer_class='PreTrainedTokenizerFast',
                   clean_up_tokenization_spaces=False), open(os.path.join(out, 'tokenizer_config.json'), 'w'), indent=2)
    cfg = model.config.to_dict()
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, 'generation_config.json'), 'w') as f:
        json.dump(gen, f, indent=2)
    json.dump(dict(parity=diffs, greedyTokensEqual=greedy_equal, layers=L, heads=H, headDim=hd), open(os.path.join(args.export, 'export.json'), 'w'), indent=2)
    if args.fixture:
        # 4 validation images as they are, and the same 4 with their states scaled down (a less
        # certain decoder, so beam search and the processors change the tokens).
        write_generation_fixture(model, torch.cat([vh[:4], 0.25 * vh[:4]]), gen, args.fixture)
    return 0


def write_generation_fixture(model, states, gen, path):
    """transformers' own generate() on validation images' encoder states, with the shipped settings
    and with beam search, n-gram and repetition settings, for the Node generation test."""
    from transformers.modeling_outputs import BaseModelOutput
    variants = [
        dict(name='shipped'),
        dict(name='beam-3', num_beams=3),
        dict(name='beam-4-length-penalty', num_beams=4, length_penalty=0.6),
        dict(name='greedy-no-repeat-3-penalty-1.5', no_repeat_ngram_size=3, repetition_penalty=1.5),
        dict(name='beam-3-no-repeat-4', num_beams=3, no_repeat_ngram_size=4),
        dict(name='beam-3-early-stopping', num_beams=3, early_stopping=True, repetition_penalty=1.3),
    ]
    out = []
    base = {k: gen[k] for k in ('decoder_start_token_id', 'bos_token_id', 'eos_token_id', 'pad_token_id', 'max_length')}
    for v in variants:
        settings = dict(base, num_beams=1, do_sample=False, no_repeat_ngram_size=0, repetition_penalty=1.0, length_penalty=1.0, early_stopping=False)
        settings.update({k: x for k, x in v.items() if k != 'name'})
        with torch.no_grad():
            ids = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=states), **settings).numpy()
        rows = []
        for row in ids.tolist():
            row = row[1:]
            rows.append(row[:row.index(gen['eos_token_id'])] if gen['eos_token_id'] in row else row)
        out.append(dict(name=v['name'], generationConfig=settings, ids=rows))
    states_np = states.numpy()
    json.dump(dict(note='transformers generate() on the encoder states of 4 validation phantoms (seeds 2000000..2000003), then the same states x 0.25; see train-hf-decoder.py',
                   shape=list(states_np.shape), states=[round(float(x), 7) for x in states_np.reshape(-1)], variants=out), open(path, 'w'))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--train', nargs='*')
    p.add_argument('--val')
    p.add_argument('--out')
    p.add_argument('--export', help='a folder written by training: export it')
    p.add_argument('--vision', help='the reference CNN graph (vision.onnx) the encoder is appended to')
    p.add_argument('--package', help='where the export writes encoder_model.onnx, decoder_model_merged.onnx and the HF files')
    p.add_argument('--fixture', help='with --export: write transformers generate() results here for the Node generation test')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--noise', type=float, default=0.02)
    p.add_argument('--vocab', type=int, default=400)
    p.add_argument('--layers', type=int, default=3)
    p.add_argument('--heads', type=int, default=4)
    p.add_argument('--max-length', type=int, default=96)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--threads', type=int, default=2)
    args = p.parse_args()
    if args.export:
        return export(args)
    return train(args)


if __name__ == '__main__':
    sys.exit(main())
