"""A non-learned baseline for nodule localisation on a dataset written by make-dataset.ts.

  /usr/bin/python3 blob-baseline.py --data data/val [--checkpoint data/checkpoint.pt]

Scores every input pixel with a difference of Gaussians (sigma 1.5 and 4 px: tuned to the subtle
tier's 5-8 px discs at 256 px; every width scales with the dataset's input size, so a 512 px
dataset of the same phantoms is filtered at the same physical scale), divided by the local RMS
of that response (so rib and body edges do not dominate), inside the image content and below the image's median local brightness (lungs are
darker than mediastinum, bone and soft tissue). The peak, pooled to the 32x32 heatmap grid, is then
scored exactly as the evaluation's pointing game scores a model's heatmap (peak cell holds a
ground-truth mask pixel), per tier, with the AUC of the peak value against nodule-negative images
(`auc`; `aucVsNormal` against finding-free images only) and, location known, the response in the
nodule's cell against random lung cells of nodule-free images (`aucLocationKnown`). The subtle tier's
criterion (models/reference-cxr/README.md): peak AUC 0.75-0.90 and pointing >= 0.5 on all-subtle
phantoms. `--scale F` multiplies every width (the obvious tier's nodules are about twice as large).

It is a floor, not a detector: if a trained encoder points at subtle nodules less often than this
fixed filter does, the encoder is not using what the pixels hold. With --checkpoint the encoder's
own heatmap is scored the same way on the same images, beside the filter.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from metrics import auc
from model import Vision


def gaussian_blur(x, sigma):
    r = int(3 * sigma) + 1
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode='replicate'), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode='replicate'), k.view(1, 1, -1, 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--finding', default='nodule')
    p.add_argument('--checkpoint', default=None, help='also score this checkpoint\'s encoder heatmaps')
    p.add_argument('--scale', type=float, default=1.0, help='multiply every filter width (1: matched to the subtle tier\'s nodules; 2: to the obvious tier\'s)')
    args = p.parse_args()
    meta = json.load(open(os.path.join(args.data, 'meta.json')))
    n, s, g = meta['count'], meta['size'], meta['grid']
    k = meta['labels'].index(args.finding)
    images = np.fromfile(os.path.join(args.data, 'images.i16'), dtype='<i2').reshape(n, 1, s, s).astype(np.float32) / meta['imageScale']
    all_labels = np.fromfile(os.path.join(args.data, 'labels.u8'), dtype=np.uint8).reshape(n, -1)
    labels = all_labels[:, k]
    normal = all_labels.sum(1) == 0
    tiers = np.fromfile(os.path.join(args.data, 'tiers.u8'), dtype=np.uint8).reshape(n, -1)[:, k]
    masks = np.fromfile(os.path.join(args.data, 'masks.u8'), dtype=np.uint8).reshape(n, -1, g, g)[:, k]

    if args.checkpoint and s != 256:
        raise SystemExit(f'--checkpoint needs a 256 px dataset (the encoder\'s input); {args.data} is {s} px')
    px = args.scale * s / 256  # filter widths are in 256 px input pixels, times --scale
    peaks, cells, pooled_all = [], [], []
    for i in range(0, n, 100):
        x = torch.from_numpy(images[i:i + 100])
        dog = gaussian_blur(x, 1.5 * px) - gaussian_blur(x, 4.0 * px)
        content = gaussian_blur((x > -1.8).float(), 6.0 * px) > 0.999  # away from the letterbox padding
        local = gaussian_blur(x, 10.0 * px)
        darker = local < torch.quantile(local.view(len(x), -1), 0.5, dim=1).view(-1, 1, 1, 1)
        dog = dog / (gaussian_blur(dog * dog, 6.0 * px).sqrt() + 1e-3)
        score = torch.where(content & darker, dog, torch.full_like(dog, -1e3))
        pooled = F.max_pool2d(score, s // g).view(len(x), -1)
        value, index = pooled.max(1)
        pooled_all.append(pooled.numpy())
        peaks.append(value.numpy())
        cells.append(index.numpy())
    peak = np.concatenate(peaks)
    cell = np.concatenate(cells)
    hit = masks.reshape(n, -1)[np.arange(n), cell] > 0
    # Location known: the response in the cell the nodule covers most, against the response in
    # random lung cells (same eligibility as the search) of nodule-free images.
    pooled_all = np.concatenate(pooled_all)
    at_lesion = pooled_all[np.arange(n), masks.reshape(n, -1).argmax(1)]
    rng = np.random.default_rng(0)
    background = []
    for i in np.flatnonzero(labels == 0):
        eligible = np.flatnonzero(pooled_all[i] > -1e2)
        if len(eligible):
            background.append(pooled_all[i, rng.choice(eligible, size=min(4, len(eligible)), replace=False)])
    background = np.concatenate(background)
    scores = {'blobFilter': (peak, hit)}
    if args.checkpoint:
        ck = torch.load(args.checkpoint)
        model = Vision(ck['vision_width'])
        model.load_state_dict(ck['vision'])
        model.eval()
        logits, heat = [], []
        with torch.no_grad():
            for i in range(0, n, 100):
                lo, hm, _, _ = model(torch.from_numpy(images[i:i + 100]))
                logits.append(lo[:, k].numpy())
                heat.append(hm[:, k].reshape(len(lo), -1).numpy())
        heat = np.concatenate(heat)
        scores['encoder'] = (np.concatenate(logits), masks.reshape(n, -1)[np.arange(n), heat.argmax(1)] > 0)
    result = {'finding': args.finding, 'data': args.data, 'count': n, 'scale': args.scale}
    for who, (value, hits) in scores.items():
        for name, tier in (('obvious', 1), ('subtle', 2)):
            pos = (labels == 1) & (tiers == tier)
            if not pos.any():
                continue  # a dataset made with --tier holds one tier only
            keep = pos | (labels == 0)
            result[f'{who}.{name}'] = {'positives': int(pos.sum()), 'pointingGame': round(float(hits[pos].mean()), 3), 'auc': round(float(auc(labels[keep], value[keep])), 3),
                                        'aucVsNormal': round(float(auc(labels[pos | normal], value[pos | normal])), 3)}
            if who == 'blobFilter':
                known = np.concatenate([at_lesion[pos], background])
                result[f'{who}.{name}']['aucLocationKnown'] = round(float(auc(np.r_[np.ones(pos.sum()), np.zeros(len(background))], known)), 3)
                result[f'{who}.{name}']['outsideSearch'] = round(float((at_lesion[pos] < -1e2).mean()), 3)  # nodules the lung mask leaves out
    print(json.dumps(result, indent=1))


if __name__ == '__main__':
    main()
