"""Trains DenseNet-121 (python/densenet.py, torchvision's parameter names) in the CheXNet layout on
phantom sets written by make-phantom-dataset.ts, for a time budget, on the CPU.

  python train_phantoms.py --train data/train-a data/train-b --val data/val --out data/run --minutes 38

Random initialisation (torchvision's: Kaiming-normal convolutions, BatchNorm 1/0, Linear bias 0):
no pretrained weights are used or available here. The head keeps CheXNet's 14 ChestX-ray14
outputs so the importer's `chexnet` format takes the weights unchanged; phantoms show only 5 of
those findings (Nodule, Mass, Effusion, Cardiomegaly, Pneumothorax), so the other 9 labels
(Atelectasis, Infiltration, Pneumonia, Consolidation, Edema, Emphysema, Fibrosis,
Pleural_Thickening, Hernia) are trained as always negative: their outputs mean nothing.

Progressive resizing (--low-size, --low-fraction): for the first part of the budget the 224 px
tensors are scaled down (bilinear, antialiased) to --low-size px, about half the cost per image
at 160 px, so more images are seen; the rest of the budget, and all validation, is at the
package's 224 px. (DenseNet's global average pooling takes any input size.)

Loss: binary cross-entropy on all 14 logits. Adam, learning rate warmed up over 50 steps then
cosine-decayed over the time budget (not over a fixed number of epochs). Light augmentation:
a random shift of up to --shift px (edge-replicated) and Gaussian noise (--noise, in grey units).

Writes into --out:
  model.safetensors   float32 state_dict with torchvision's names (the best validation mean AUC
                      over the 5 mapped labels, checked after every epoch and at the end)
  last.safetensors    the latest weights (saved every epoch and every --checkpoint-minutes)
SIGTERM stops the loop early and still writes all of these.
  thresholds.json     {label name: probability}: F1-optimal on the validation split for the 5
                      mapped labels, 0.5 for the 9 the phantoms never show
  training.json       settings, time, steps, images seen, per-epoch validation AUCs
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from densenet import DenseNet121  # noqa: E402
from formats import CHEXNET_LABELS  # noqa: E402

# @cxr/phantom FINDING_CODES order (meta.json's `codes`) → CheXNet label names.
CODE_TO_LABEL = {'nodule': 'Nodule', 'mass': 'Mass', 'pleural_effusion': 'Effusion', 'cardiomegaly': 'Cardiomegaly', 'pneumothorax': 'Pneumothorax'}


def load_set(dirs):
    images, labels, tiers, meta = [], [], [], None
    for d in dirs:
        with open(os.path.join(d, 'meta.json')) as f:
            m = json.load(f)
        if meta is not None and (m['size'], m['imageScale'], m['codes'], m['input']) != (meta['size'], meta['imageScale'], meta['codes'], meta['input']):
            raise SystemExit(f'{d}: made with other settings than {dirs[0]}')
        meta = meta or m
        n, s, k = m['count'], m['size'], len(m['codes'])
        images.append(np.fromfile(os.path.join(d, 'images.i16'), dtype='<i2').reshape(n, s, s))
        labels.append(np.fromfile(os.path.join(d, 'labels.u8'), dtype=np.uint8).reshape(n, k))
        tiers.append(np.fromfile(os.path.join(d, 'tiers.u8'), dtype=np.uint8).reshape(n, k))
    return np.concatenate(images), np.concatenate(labels), np.concatenate(tiers), meta


def chexnet_targets(labels, codes):
    """[N, 5] in FINDING_CODES order → [N, 14] in CheXNet order (the 9 unmapped labels 0)."""
    t = np.zeros((labels.shape[0], len(CHEXNET_LABELS)), dtype=np.float32)
    for j, code in enumerate(codes):
        t[:, CHEXNET_LABELS.index(CODE_TO_LABEL[code])] = labels[:, j]
    return t


class Rebuild:
    """Channel 0 (int16) → the 3-channel tensor the manifest's preprocessing writes."""

    def __init__(self, meta):
        norm = meta['input']['normalisation']
        self.scale = float(meta['imageScale'])
        self.mean = torch.tensor(norm['mean'], dtype=torch.float32)
        self.std = torch.tensor(norm['std'], dtype=torch.float32)

    def grey(self, i16):
        return torch.from_numpy(i16.astype(np.float32)) / self.scale * self.std[0] + self.mean[0]

    def channels(self, grey):  # grey [N, S, S] → [N, 3, S, S]
        return (grey[:, None] - self.mean[None, :, None, None]) / self.std[None, :, None, None]


def augment(grey, g, shift, noise):
    n, s, _ = grey.shape
    if shift > 0:
        padded = F.pad(grey[:, None], (shift, shift, shift, shift), mode='replicate')[:, 0]
        out = torch.empty_like(grey)
        offs = torch.randint(0, 2 * shift + 1, (n, 2), generator=g)
        for i in range(n):
            dy, dx = int(offs[i, 0]), int(offs[i, 1])
            out[i] = padded[i, dy:dy + s, dx:dx + s]
        grey = out
    if noise > 0:
        grey = grey + noise * torch.rand(n, 1, 1, generator=g) * torch.randn(grey.shape, generator=g)
    return grey


def torchvision_init(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.constant_(m.bias, 0)


def auc(scores, truth):
    """Mann-Whitney AUC with average ranks for ties; NaN when a class is empty."""
    truth = np.asarray(truth).astype(bool)
    npos, nneg = int(truth.sum()), int((~truth).sum())
    if npos == 0 or nneg == 0:
        return float('nan')
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    avg_rank = upper - (counts - 1) / 2  # 1-based average rank of each distinct value
    ranks = avg_rank[inverse]
    return float((ranks[truth].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def f1_threshold(probs, truth):
    """The probability threshold maximising F1 (midpoint between neighbouring scores)."""
    order = np.argsort(-probs)
    p, t = probs[order], truth[order]
    tp = np.cumsum(t)
    fp = np.cumsum(1 - t)
    f1 = 2 * tp / (tp + fp + t.sum())
    best = int(np.argmax(f1))
    thr = float((p[best] + p[best + 1]) / 2) if best + 1 < len(p) else float(p[best])
    return thr, float(f1[best])


def predict(model, images, rebuild, batch):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = rebuild.channels(rebuild.grey(images[i:i + batch])).contiguous(memory_format=torch.channels_last)
            out.append(torch.sigmoid(model(x)[0]).numpy())
    model.train()
    return np.concatenate(out)


def validate(model, val, rebuild, codes, batch):
    images, labels, tiers = val
    probs = predict(model, images, rebuild, batch)
    per = {}
    for j, code in enumerate(codes):
        k = CHEXNET_LABELS.index(CODE_TO_LABEL[code])
        per[CODE_TO_LABEL[code]] = dict(auc=auc(probs[:, k], labels[:, j]), positives=int(labels[:, j].sum()),
                                        subtleAuc=auc(probs[(tiers[:, j] != 1), k], (tiers[(tiers[:, j] != 1), j] == 2).astype(np.uint8)))
    mean_auc = float(np.nanmean([v['auc'] for v in per.values()]))
    return probs, per, mean_auc


def state_dict_f32(model):
    return {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v.detach().contiguous()
            for k, v in model.state_dict().items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--train', nargs='+', required=True)
    p.add_argument('--val', nargs='+', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--minutes', type=float, required=True, help='wall-clock budget for the training loop, per-epoch validation included (the final validation comes on top)')
    p.add_argument('--checkpoint-minutes', type=float, default=8)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--weight-decay', type=float, default=1e-5)
    p.add_argument('--shift', type=int, default=8)
    p.add_argument('--noise', type=float, default=0.01)
    p.add_argument('--low-size', type=int, default=160, help='input size of the first part of training (0: the package size throughout)')
    p.add_argument('--low-fraction', type=float, default=0.5, help='fraction of the time budget trained at --low-size')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=7)
    p.add_argument('--max-steps', type=int, default=0, help='stop after this many steps (smoke tests); 0: the time budget only')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()

    tr_images, tr_labels, _, meta = load_set(args.train)
    va_images, va_labels, va_tiers, va_meta = load_set(args.val)
    if va_meta['input'] != meta['input']:
        raise SystemExit('validation set made with another preprocessing than the training set')
    codes = meta['codes']
    rebuild = Rebuild(meta)
    targets = torch.from_numpy(chexnet_targets(tr_labels, codes))
    print(f'train {len(tr_images)} images ({", ".join(f"{c} {int(tr_labels[:, j].sum())}" for j, c in enumerate(codes))}); val {len(va_images)}', flush=True)

    model = DenseNet121(num_classes=len(CHEXNET_LABELS), in_channels=3)
    torchvision_init(model)
    model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    g = torch.Generator().manual_seed(args.seed)
    budget = args.minutes * 60
    warmup = 50
    step, seen, epoch = 0, 0, 0
    history, best = [], (-1.0, None, None, None)  # mean AUC, tag, validation probabilities, per-label
    last_ckpt = time.time()
    t_train = time.time()
    done = False
    stop = {'asked': False}
    # SIGTERM (or SIGINT) ends the loop early but still validates, keeps the best weights and writes the thresholds.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.update(asked=True))

    def checkpoint(name):
        save_file(state_dict_f32(model), os.path.join(args.out, name))

    def evaluate_and_keep(tag):
        nonlocal best
        probs, per, mean_auc = validate(model, (va_images, va_labels, va_tiers), rebuild, codes, 32)
        row = dict(tag=tag, epoch=epoch, step=step, imagesSeen=seen, trainingSeconds=round(time.time() - t_train, 1), meanAuc=mean_auc, perLabel=per)
        history.append(row)
        print(json.dumps(dict(validation=row)), flush=True)
        checkpoint('last.safetensors')
        if mean_auc > best[0]:
            best = (mean_auc, tag, probs, per)
            checkpoint('model.safetensors')

    while not done:
        order = torch.randperm(len(tr_images), generator=g).numpy()
        losses = []
        for b in range(0, len(order) - args.batch + 1, args.batch):
            elapsed = time.time() - t_train
            if elapsed >= budget or stop['asked'] or (args.max_steps and step >= args.max_steps):
                done = True
                break
            lr = args.lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget)))
            for group in opt.param_groups:
                group['lr'] = lr
            idx = np.sort(order[b:b + args.batch])
            grey = augment(rebuild.grey(tr_images[idx]), g, args.shift, args.noise)
            x = rebuild.channels(grey)
            if args.low_size and elapsed < args.low_fraction * budget:
                x = F.interpolate(x, size=(args.low_size, args.low_size), mode='bilinear', antialias=True, align_corners=False)
            logits, _ = model(x.contiguous(memory_format=torch.channels_last))
            loss = F.binary_cross_entropy_with_logits(logits, targets[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += len(idx)
            losses.append(float(loss.detach()))
            if step % 20 == 0:
                print(f'epoch {epoch} step {step} seen {seen} size {x.shape[-1]} loss {np.mean(losses[-20:]):.4f} lr {lr:.2e} '
                      f'{(time.time() - t_train) / seen * 1000:.0f} ms/image, {(time.time() - t_train) / 60:.1f} min', flush=True)
            if time.time() - last_ckpt > args.checkpoint_minutes * 60:
                checkpoint('last.safetensors')
                last_ckpt = time.time()
        if not done:
            evaluate_and_keep(f'epoch {epoch}')
            epoch += 1
    train_seconds = time.time() - t_train
    evaluate_and_keep('end')

    # Thresholds from the kept (best) weights' validation probabilities.
    mean_auc, _, probs, per = best
    thresholds, f1s = {name: 0.5 for name in CHEXNET_LABELS}, {}
    for j, code in enumerate(codes):
        name = CODE_TO_LABEL[code]
        thresholds[name], f1s[name] = f1_threshold(probs[:, CHEXNET_LABELS.index(name)], va_labels[:, j])
    with open(os.path.join(args.out, 'thresholds.json'), 'w') as f:
        json.dump(thresholds, f, indent=2)
    summary = dict(
        settings=vars(args), torch=torch.__version__, trainImages=int(len(tr_images)), valImages=int(len(va_images)),
        trainingSeconds=round(train_seconds, 1), trainingSecondsNote='wall clock of the training loop, per-epoch validations included', totalSeconds=round(time.time() - t_start, 1), steps=step, imagesSeen=seen, epochs=round(seen / len(tr_images), 2),
        kept=best[1], keptValidation=dict(meanAuc=mean_auc, perLabel=per, f1AtThreshold=f1s), thresholds=thresholds, history=history,
        untrainedLabels=[n for n in CHEXNET_LABELS if n not in CODE_TO_LABEL.values()],
    )
    with open(os.path.join(args.out, 'training.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(dict(kept=best[1], meanAuc=mean_auc, thresholds=thresholds, f1=f1s)), flush=True)


if __name__ == '__main__':
    main()
