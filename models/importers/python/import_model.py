"""Imports a chest X-ray classifier checkpoint as a v2 model package (docs/model-package.md).

  python import_model.py --format torchxrayvision|chexnet (<checkpoint> | --random-init [--seed S]) --out <dir>

Builds DenseNet-121 (densenet.py), loads the checkpoint into it (checkpoint.py) or gives it random
weights from a fixed seed, exports model.onnx with three outputs, `logits` [N, labels], `features`
[N, 1024, 7, 7] (the ReLU'd last feature map, for class activation maps) and `pooled` [N, 1024]
(its global average, the classifier's input: an image descriptor for the out-of-distribution
detector, `npm run model:fit-ood -- --output pooled`), writes the classifier's
weight and bias as classifier.json, and writes manifest.json. It then checks onnxruntime (Python)
against PyTorch on a few synthetic inputs and leaves those inputs and PyTorch's outputs under
<out>/.parity/ for the Node side (models/importers/src) to check onnxruntime-node the same way;
that folder is not part of the package. Run through `npm run model:import`, which does both.
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

from checkpoint import CheckpointError, load_densenet_checkpoint
from densenet import NUM_FEATURES, DenseNet121
from formats import FORMATS, PHOTOMETRIC, label_entry

IMPORTER_VERSION = '1'
PARITY_TOLERANCE = 1e-4


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def f32(values):
    """Shortest decimal that reads back as the same float32 (JSON stays small and exact)."""
    return [float(str(np.float32(v))) for v in values]


class Export(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, image):
        logits, features = self.m(image)
        return logits, features, features.mean(dim=(2, 3))


def parity_inputs(spec, count, seed):
    """Synthetic grey images already preprocessed the format's way: smooth shapes plus noise on 0..1,
    then normalised like the manifest says (so the values have the range the model expects)."""
    g = np.random.default_rng(seed)
    size, channels = spec['size'], spec['channels']
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    images = []
    for _ in range(count):
        v = 0.2 + 0.3 * yy
        for _ in range(4):
            cx, cy, r, a = g.uniform(0.2, 0.8), g.uniform(0.2, 0.8), g.uniform(0.05, 0.3), g.uniform(-0.3, 0.5)
            v = v + a * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        v = np.clip(v + g.normal(0, 0.02, v.shape), 0, 1)
        norm = spec['normalisation']
        if norm['method'] == 'linear-range':
            (a, b), (c, d) = norm['from'], norm['to']
            x = np.stack([c + (v - a) * (d - c) / (b - a)] * channels)
        else:
            x = np.stack([(v - norm['mean'][ch]) / norm['std'][ch] for ch in range(channels)])
        images.append(x)
    return np.asarray(images, dtype=np.float32)


def export_onnx(model, path, spec):
    dummy = torch.zeros(2, spec['channels'], spec['size'], spec['size'])
    torch.onnx.export(
        Export(model).eval(), (dummy,), path, dynamo=False, opset_version=17,
        input_names=['image'], output_names=['logits', 'features', 'pooled'],
        dynamic_axes={'image': {0: 'N'}, 'logits': {0: 'N'}, 'features': {0: 'N'}, 'pooled': {0: 'N'}},
    )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--format', required=True, choices=sorted(FORMATS))
    p.add_argument('checkpoint', nargs='?', help='the checkpoint file (omit with --random-init)')
    p.add_argument('--random-init', action='store_true', help='random weights from --seed instead of a checkpoint (testing the path only)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--id', default=None)
    p.add_argument('--version', default='0.1.0')
    p.add_argument('--thresholds', default=None, help='JSON {label name: probability threshold}; overrides the checkpoint\'s op_threshs')
    p.add_argument('--parity-count', type=int, default=3)
    args = p.parse_args()
    if bool(args.checkpoint) == args.random_init:
        p.error('give a checkpoint file or --random-init, not both and not neither')
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    spec = FORMATS[args.format]
    names = spec['labels']
    labels = [label_entry(n) for n in names]
    timings = {}

    t0 = time.perf_counter()
    model = DenseNet121(num_classes=len(names), in_channels=spec['channels'])
    op_threshs = None
    if args.random_init:
        model.reset_parameters(args.seed, torch.from_numpy(parity_inputs(spec, 8, seed=args.seed + 1000)))
        source = dict(kind='random-init', seed=args.seed)
    else:
        if not os.path.isfile(args.checkpoint):
            print(f'error: {args.checkpoint}: no such file', file=sys.stderr)
            return 2
        try:
            op_threshs = load_densenet_checkpoint(model, args.checkpoint, args.format)
        except CheckpointError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
        source = dict(kind='checkpoint', file=os.path.basename(args.checkpoint), sha256=sha256(args.checkpoint))
    model.eval()
    timings['buildSeconds'] = round(time.perf_counter() - t0, 2)

    # Thresholds: --thresholds, else the checkpoint's op_threshs (torchxrayvision), else 0.5.
    values, method = {}, None
    if args.thresholds:
        with open(args.thresholds) as f:
            given = json.load(f)
        unknown = sorted(set(given) - set(names))
        if unknown:
            print(f'error: --thresholds names labels this format does not have: {", ".join(unknown)}', file=sys.stderr)
            return 2
        method = f'given with --thresholds ({os.path.basename(args.thresholds)}); 0.5 for labels it does not name'
        for l in labels:
            values[l['code']] = float(given.get(l['name'], 0.5))
    elif op_threshs is not None:
        method = "torchxrayvision's op_threshs from the checkpoint (probability at each label's operating point); 0.5 where it is NaN (label not trained)"
        for l, t in zip(labels, op_threshs.tolist()):
            values[l['code']] = 0.5 if math.isnan(t) else float(str(np.float32(t)))
    else:
        method = ('random weights: 0.5 for every label, meaningless' if args.random_init
                  else 'no operating points came with the checkpoint: 0.5 for every label (choose them on your own validation set)')
        values = {l['code']: 0.5 for l in labels}

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    onnx_path, weights_path = os.path.join(out, 'model.onnx'), os.path.join(out, 'classifier.json')
    t0 = time.perf_counter()
    export_onnx(model, onnx_path, spec)
    timings['exportSeconds'] = round(time.perf_counter() - t0, 2)
    with open(weights_path, 'w') as f:
        json.dump(dict(weight=[f32(row) for row in model.classifier.weight.detach().numpy()], bias=f32(model.classifier.bias.detach().numpy())), f)

    # Parity: PyTorch vs onnxruntime (Python) here; the Node side repeats it with onnxruntime-node.
    t0 = time.perf_counter()
    import onnxruntime as ort
    x = parity_inputs(spec, args.parity_count, seed=args.seed + 1)
    with torch.no_grad():
        logits, features, pooled = (t.numpy() for t in Export(model).eval()(torch.from_numpy(x)))
    sess = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    o_logits, o_features, o_pooled = sess.run(['logits', 'features', 'pooled'], {'image': x})
    # Logits to 1e-4 absolute. The feature map reaches values of ~10 after 120 layers, where
    # float32 rounding of the fused graph (BatchNorm folded into convolutions) alone is ~1e-5..1e-4:
    # it is held to 1e-4 of its own largest value (and 1e-4 absolute when that is below 1).
    feature_scale = max(1.0, float(np.abs(features).max()))
    parity = dict(
        images=int(x.shape[0]),
        featureScale=feature_scale,
        onnxruntimePython=dict(logits=float(np.abs(o_logits - logits).max()), features=float(np.abs(o_features - features).max()),
                               pooled=float(np.abs(o_pooled - pooled).max())),
        logitRange=[float(logits.min()), float(logits.max())],
    )
    # The CAM identity the worker relies on: the spatial mean of W·F + b is the logit.
    with open(weights_path) as f:
        cw = json.load(f)
    cam = np.einsum('kc,nchw->nkhw', np.asarray(cw['weight'], dtype=np.float64), features.astype(np.float64)) + np.asarray(cw['bias'])[None, :, None, None]
    parity['camMeanVsLogit'] = float(np.abs(cam.mean(axis=(2, 3)) - logits).max())
    timings['paritySeconds'] = round(time.perf_counter() - t0, 2)
    pdir = os.path.join(out, '.parity')
    os.makedirs(pdir, exist_ok=True)
    for name, arr in (('image', x), ('logits', logits), ('features', features), ('pooled', pooled)):
        np.ascontiguousarray(arr, dtype='<f4').tofile(os.path.join(pdir, f'{name}.f32'))
    with open(os.path.join(pdir, 'shapes.json'), 'w') as f:
        json.dump(dict(input=dict(name='image', file='image.f32', shape=list(x.shape)), tolerance=PARITY_TOLERANCE,
                       tolerances=dict(logits=PARITY_TOLERANCE, features=PARITY_TOLERANCE * feature_scale, pooled=PARITY_TOLERANCE)), f)

    size, fh = spec['size'], features.shape[2]
    random_note = 'RANDOM WEIGHTS (--random-init, seed %d): no real checkpoint was read; the outputs mean nothing. ' % args.seed if args.random_init else ''
    manifest = dict(
        formatVersion=2,
        id=args.id or f'{args.format}-densenet121' + ('-random' if args.random_init else ''),
        version=args.version,
        name=f'DenseNet-121 ({args.format} layout)' + (', random weights' if args.random_init else ''),
        files={n: dict(sha256=sha256(os.path.join(out, n)), bytes=os.path.getsize(os.path.join(out, n))) for n in ('model.onnx', 'classifier.json')},
        input=dict(file='model.onnx', name='image', dtype='float32', shape=['N', spec['channels'], size, size], size=size, channels=spec['channels'],
                   photometric=PHOTOMETRIC, resize=spec['resize'], normalisation=spec['normalisation']),
        outputs=[
            dict(file='model.onnx', name='logits', dtype='float32', shape=['N', len(names)], meaning=spec['scores_meaning']),
            dict(file='model.onnx', name='features', dtype='float32', shape=['N', NUM_FEATURES, fh, fh],
                 meaning="ReLU'd last feature map (after norm5, before global average pooling); CAM input"),
            dict(file='model.onnx', name='pooled', dtype='float32', shape=['N', NUM_FEATURES],
                 meaning='global average of features (the classifier\'s input): image descriptor for the out-of-distribution detector'),
        ],
        scores=dict(output='logits', kind='logits'),
        heatmaps=dict(method='cam', featureMap='features', weights='classifier.json', weightsFormat='json', channels=NUM_FEATURES),
        labels=labels,
        thresholds=dict(method=method, values=values),
        text=dict(decoder='none', style='structured-findings'),
        intendedUse=(random_note + f'A DenseNet-121 chest radiograph classifier imported from the {args.format} checkpoint layout by npm run model:import. '
                     'This project has not evaluated it on any data: it is not for clinical use, and its scope and accuracy are those its authors state for it.'),
        modelCard=dict(
            importer=dict(command='npm run model:import', format=args.format, version=IMPORTER_VERSION, torch=torch.__version__, onnxOpset=17),
            source=source,
            architecture='DenseNet-121 (torchvision layout: growth 32, blocks 6-12-24-16, 64 initial features), %d input channel(s), %d outputs' % (spec['channels'], len(names)),
            parity=parity,
            timings=timings,
            syntheticOrRandom=bool(args.random_init),
        ),
    )
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print(json.dumps(dict(out=out, parity=parity, timings=timings)))
    diffs = parity['onnxruntimePython']
    if not (diffs['logits'] <= PARITY_TOLERANCE and diffs['features'] <= PARITY_TOLERANCE * feature_scale and diffs['pooled'] <= PARITY_TOLERANCE
            and parity['camMeanVsLogit'] <= PARITY_TOLERANCE):
        print(f'error: onnxruntime differs from PyTorch: logits by {diffs["logits"]:.3g} (tolerance {PARITY_TOLERANCE}), features by {diffs["features"]:.3g} '
              f'(tolerance {PARITY_TOLERANCE * feature_scale:.3g}), pooled by {diffs["pooled"]:.3g}; CAM mean vs logit {parity["camMeanVsLogit"]:.3g}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
