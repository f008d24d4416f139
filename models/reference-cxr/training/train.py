"""Trains the reference CXR model on datasets written by make-dataset.ts.

  /usr/bin/python3 train.py --train data/train-a data/train-b --val data/val \
      --out data/checkpoint.pt --epochs 5 --seed 7 --vision-minutes 34

Stages: (1) vision encoder with classification + per-pixel mask supervision; (2) per-finding
F1-optimal thresholds on the validation split, baked into the encoder; (3) report decoder trained
with teacher forcing on the frozen encoder's conditioning vectors.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from model import GRID, NUM_CLASSES, Decoder, Vision
from metrics import auc, f1_threshold, label_tokens, pointing_hits

torch.set_num_threads(2)


def load(dirs):
    parts = []
    for d in dirs:
        meta = json.load(open(os.path.join(d, 'meta.json')))
        n, s, g, L = meta['count'], meta['size'], meta['grid'], meta['maxTokens']
        parts.append(dict(
            meta=meta,
            images=np.fromfile(os.path.join(d, 'images.i16'), dtype='<i2').reshape(n, 1, s, s),
            labels=np.fromfile(os.path.join(d, 'labels.u8'), dtype=np.uint8).reshape(n, NUM_CLASSES),
            tiers=np.fromfile(os.path.join(d, 'tiers.u8'), dtype=np.uint8).reshape(n, NUM_CLASSES),
            masks=np.fromfile(os.path.join(d, 'masks.u8'), dtype=np.uint8).reshape(n, NUM_CLASSES, g, g),
            tokens=np.fromfile(os.path.join(d, 'tokens.u16'), dtype='<u2').reshape(n, L).astype(np.int64),
            forced=(np.fromfile(os.path.join(d, 'forced.u8'), dtype=np.uint8) if os.path.exists(os.path.join(d, 'forced.u8'))
                    else np.zeros(n, dtype=np.uint8)),
        ))
    out = {k: np.concatenate([p[k] for p in parts]) for k in ('images', 'labels', 'tiers', 'masks', 'tokens', 'forced')}
    out['meta'] = parts[0]['meta']
    return out


def images_tensor(arr, scale):
    return torch.from_numpy(arr.astype(np.float32) / scale)


@torch.no_grad()
def run_vision(model, data, scale, batch=128):
    model.eval()
    logits, heat, cond = [], [], []
    for i in range(0, len(data['images']), batch):
        lo, hm, c, _ = model(images_tensor(data['images'][i:i + batch], scale))
        logits.append(lo)
        heat.append(hm)
        cond.append(c)
    return torch.cat(logits).numpy(), torch.cat(heat).numpy(), torch.cat(cond)


def vision_report(codes, probs, heat, data):
    rows = {}
    for k, code in enumerate(codes):
        y = data['labels'][:, k]
        subtle = (data['tiers'][:, k] != 1)  # negatives plus subtle positives
        obvious = (data['tiers'][:, k] != 2)
        rows[code] = dict(
            auc=auc(y, probs[:, k]),
            aucSubtle=auc(y[subtle], probs[subtle, k]),
            aucObvious=auc(y[obvious], probs[obvious, k]),
            pointing=float(pointing_hits(heat[:, k], data['masks'][:, k], y).mean()) if y.sum() else float('nan'),
        )
    return rows


def balanced_pixel_loss(s, m, pos_weight):
    """Per-cell BCE against mask coverage, averaged separately over covered and uncovered cells of
    each class (then summed, pos_weight scaling the covered part), so a 2-cell nodule teaches the
    map as much as a 200-cell effusion does."""
    bce = F.binary_cross_entropy_with_logits(s, m, reduction='none')  # [B,K,G,G]
    pos = (m > 0).float()
    neg = 1.0 - pos
    dims = (0, 2, 3)
    pos_term = (bce * pos).sum(dims) / pos.sum(dims).clamp(min=1.0)
    neg_term = (bce * neg).sum(dims) / neg.sum(dims).clamp(min=1.0)
    return (pos_weight * pos_term + neg_term).mean()


def train_vision(args, train, val, scale, codes):
    torch.manual_seed(args.seed)
    model = Vision(args.width)
    print('vision params', sum(p.numel() for p in model.parameters()))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    n = len(train['images'])
    steps = args.epochs * math.ceil(n / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    step = 0
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(n)
        tot = 0.0
        for b in range(0, n, args.batch):
            idx = np.sort(perm[b:b + args.batch])
            x = images_tensor(train['images'][idx], scale)
            if args.noise > 0:
                x = x + torch.randn_like(x) * (args.noise * torch.rand(x.shape[0], 1, 1, 1))
            y = torch.from_numpy(train['labels'][idx].astype(np.float32))
            m = torch.from_numpy(train['masks'][idx].astype(np.float32) / 255.0)
            logits, _, _, s = model(x)
            loss_cls = F.binary_cross_entropy_with_logits(logits, y)
            loss_px = balanced_pixel_loss(s, m, args.mask_pos_weight)
            loss = loss_cls + args.mask_weight * loss_px
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step < steps - 1:
                sched.step()
            step += 1
            tot += loss.item() * len(idx)
        probs_logits, heat, _ = run_vision(model, val, scale)
        rep = vision_report(codes, 1 / (1 + np.exp(-probs_logits)), heat, val)
        macro = np.mean([r['auc'] for r in rep.values()])
        macro_s = np.mean([r['aucSubtle'] for r in rep.values()])
        pg = ' '.join(f"{c[:4]}={r['pointing']:.2f}" for c, r in rep.items())
        print(f'epoch {epoch + 1}/{args.epochs} loss {tot / n:.4f} val macroAUC {macro:.4f} subtle {macro_s:.4f} pointing {pg} '
              f'({time.time() - t0:.0f}s)', flush=True)
        if time.time() - t0 > args.vision_minutes * 60:
            print('vision time budget reached')
            break
    return model


def train_decoder(args, vision, train, val, scale, vocab):
    # Only images with the generator's own finding mix: the ones --subtle-boost forced to a subtle
    # nodule/pneumothorax would teach the decoder a prior three times too high for "nodule" and
    # make it write nodules the encoder did not call (seen: text-vs-encoder disagreement on nodules
    # 21% with them, report F1 0.83).
    keep = np.where(train['forced'] == 0)[0]
    train = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in train.items()}
    print(f'decoder trains on {len(keep)} images (forced ones left out)')
    _, _, cond_train = run_vision(vision, train, scale)
    _, _, cond_val = run_vision(vision, val, scale)
    torch.manual_seed(args.seed + 1)
    dec = Decoder(len(vocab), vision.cond_dim)
    bos = vocab.index('<bos>')
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    tokens = torch.from_numpy(train['tokens'])
    n = len(tokens)
    length = int((tokens != 0).sum(1).max()) + 1
    tokens = tokens[:, :length]
    steps = args.decoder_epochs * math.ceil(n / 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    t0 = time.time()
    step = 0
    for epoch in range(args.decoder_epochs):
        dec.train()
        perm = torch.randperm(n)
        tot = 0.0
        for b in range(0, n, 256):
            idx = perm[b:b + 256]
            tgt = tokens[idx]
            inp = torch.cat([torch.full((len(idx), 1), bos, dtype=torch.long), tgt[:, :-1]], dim=1)
            c = cond_train[idx]
            # A little noise on the conditioning makes the decoder less brittle to encoder errors.
            c = c + 0.05 * torch.randn_like(c)
            out = dec(inp, c)
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), tgt.reshape(-1), ignore_index=0)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(dec.parameters(), 1.0)
            opt.step()
            if step < steps - 1:
                sched.step()
            step += 1
            tot += loss.item() * len(idx)
        print(f'decoder epoch {epoch + 1}/{args.decoder_epochs} loss {tot / n:.4f} ({time.time() - t0:.0f}s)', flush=True)
    f1 = decoder_f1(dec, cond_val, val, vocab)
    print(f'decoder val report finding-level F1 (python labeller) {f1:.4f}')
    return dec, f1


@torch.no_grad()
def greedy(dec, cond, vocab, max_len=64):
    dec.eval()
    n = cond.shape[0]
    tok = torch.full((n,), vocab.index('<bos>'), dtype=torch.long)
    h = torch.zeros(n, dec.hidden)
    out = []
    for _ in range(max_len):
        logits, h = dec.step(tok, h, cond)
        tok = logits.argmax(1)
        out.append(tok)
    return torch.stack(out, 1).numpy()


def decoder_f1(dec, cond, data, vocab):
    seqs = greedy(dec, cond, vocab)
    tp = fp = fn = 0
    for i, seq in enumerate(seqs):
        pred = label_tokens([vocab[t] for t in seq])
        truth = data['labels'][i]
        tp += int(((pred == 1) & (truth == 1)).sum())
        fp += int(((pred == 1) & (truth == 0)).sum())
        fn += int(((pred == 0) & (truth == 1)).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--train', nargs='+', required=True)
    p.add_argument('--val', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--decoder-epochs', type=int, default=10)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--width', type=float, default=1.0)
    p.add_argument('--noise', type=float, default=0.0)
    p.add_argument('--mask-weight', type=float, default=1.0)
    p.add_argument('--mask-pos-weight', type=float, default=1.0, help='weight of covered cells in the balanced pixel loss')
    p.add_argument('--vision-minutes', type=float, default=18.0)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--vision-from', default=None, help='reuse the encoder and thresholds of this checkpoint; train only the decoder')
    args = p.parse_args()
    train, val = load(args.train), load([args.val])
    scale = float(train['meta']['imageScale'])
    codes = train['meta']['labels']
    vocab = train['meta']['vocabulary']
    print(f'train {len(train["images"])} val {len(val["images"])}; positives/class', train['labels'].mean(0).round(3))
    if args.vision_from:
        prev = torch.load(args.vision_from)
        vision = Vision(prev['vision_width'])
        vision.load_state_dict(prev['vision'])
        for k in ('epochs', 'batch', 'lr', 'width', 'noise', 'mask_weight', 'mask_pos_weight', 'vision_minutes', 'seed'):
            setattr(args, k, prev['args'][k])  # the card records how the encoder was trained
        print('encoder from', args.vision_from)
    else:
        vision = train_vision(args, train, val, scale, codes)

    logits, heat, _ = run_vision(vision, val, scale)
    probs = 1 / (1 + np.exp(-logits))
    thresholds = [f1_threshold(val['labels'][:, k], probs[:, k]) for k in range(NUM_CLASSES)]
    vision.threshold_logits.copy_(torch.tensor([math.log(t / (1 - t)) for t in thresholds], dtype=torch.float32))
    rep = vision_report(codes, probs, heat, val)
    print('thresholds', dict(zip(codes, [round(t, 4) for t in thresholds])))
    print(json.dumps(rep, indent=1))

    dec, f1 = train_decoder(args, vision, train, val, scale, vocab)
    torch.save(dict(
        vision=vision.state_dict(), vision_width=args.width, decoder=dec.state_dict(), vocab=vocab, codes=codes,
        thresholds=thresholds, val_metrics=dict(perFinding=rep, reportF1Python=f1), args=vars(args),
        train_meta={k: v for k, v in train['meta'].items() if k != 'vocabulary'}, cond_dim=vision.cond_dim,
        decoder_hidden=dec.hidden,
    ), args.out)
    print('saved', args.out)


if __name__ == '__main__':
    main()
