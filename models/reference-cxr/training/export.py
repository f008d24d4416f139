"""Exports the trained checkpoint to ONNX, checks onnxruntime-node against PyTorch, writes the manifest.

  /usr/bin/python3 export.py --checkpoint data/checkpoint.pt --val data/val --out .. [--version 0.1.0]

Writes ../vision.onnx, ../decoder.onnx and ../manifest.json. The parity check runs
check-parity.ts (onnxruntime-node, the runtime the services use) on real validation images and
fails the export if any output differs from PyTorch by more than 1e-4.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch

from model import GRID, INPUT, NUM_CLASSES, Decoder, DecoderStep, Vision

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))

SCT = 'http://snomed.info/sct'
LABELS = [
    # SNOMED CT concept ids checked against a SNOMED CT browser page (786838002) and OMOP/SNOMED
    # mapping tables (36118008, 60046008, 8186001). No concept id for "lung mass" was checked, so
    # its coding is null rather than a guess.
    dict(code='nodule', display='Lung nodule', coding=dict(system=SCT, code='786838002', display='Pulmonary nodule')),
    dict(code='mass', display='Lung mass', coding=None),
    dict(code='pleural_effusion', display='Pleural effusion', coding=dict(system=SCT, code='60046008', display='Pleural effusion')),
    dict(code='cardiomegaly', display='Cardiomegaly', coding=dict(system=SCT, code='8186001', display='Cardiomegaly')),
    dict(code='pneumothorax', display='Pneumothorax', coding=dict(system=SCT, code='36118008', display='Pneumothorax')),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def write_f32(path, arr):
    np.ascontiguousarray(arr, dtype='<f4').tofile(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--checkpoint', required=True)
    p.add_argument('--val', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--version', default='0.1.0')
    p.add_argument('--metrics', default=None, help='evaluation JSON (@cxr/model-evaluation) whose summary goes into the model card')
    p.add_argument('--reuse-onnx', action='store_true', help='keep the ONNX files already in --out (only rewrite the manifest)')
    args = p.parse_args()
    ck = torch.load(args.checkpoint)
    vocab, codes = ck['vocab'], ck['codes']
    vision = Vision(ck['vision_width'])
    vision.load_state_dict(ck['vision'])
    vision.eval()
    dec = Decoder(len(vocab), ck['cond_dim'])
    dec.load_state_dict(ck['decoder'])
    dec.eval()
    step = DecoderStep(dec).eval()

    class VisionExport(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image):
            logits, heatmaps, cond, _ = self.m(image)
            return logits, heatmaps, cond

    vexp = VisionExport(vision).eval()
    out = os.path.abspath(args.out)
    vpath, dpath = os.path.join(out, 'vision.onnx'), os.path.join(out, 'decoder.onnx')
    H, C = dec.hidden, ck['cond_dim']
    meta = json.load(open(os.path.join(args.val, 'meta.json')))
    if not args.reuse_onnx:
        export_and_check(vexp, step, vpath, dpath, H, C, vocab, out, args.val, meta)
    write_manifest(args, ck, meta, out, H, C, vocab, codes)


def export_and_check(vexp, step, vpath, dpath, H, C, vocab, out, val_dir, meta):
    dummy = torch.zeros(2, 1, INPUT, INPUT)
    torch.onnx.export(vexp, (dummy,), vpath, opset_version=17, input_names=['image'],
                      output_names=['logits', 'heatmaps', 'conditioning'],
                      dynamic_axes={'image': {0: 'N'}, 'logits': {0: 'N'}, 'heatmaps': {0: 'N'}, 'conditioning': {0: 'N'}})
    torch.onnx.export(step, (torch.zeros(2, dtype=torch.long), torch.zeros(2, H), torch.zeros(2, C)), dpath, opset_version=17,
                      input_names=['token', 'hidden', 'conditioning'], output_names=['logits', 'hidden_out'],
                      dynamic_axes={'token': {0: 'N'}, 'hidden': {0: 'N'}, 'conditioning': {0: 'N'}, 'logits': {0: 'N'}, 'hidden_out': {0: 'N'}})

    # Parity: real validation images through both graphs, compared in onnxruntime-node.
    if meta['size'] != INPUT:
        sys.exit(f"validation set is {meta['size']} px, the model takes {INPUT} px")
    imgs = np.fromfile(os.path.join(val_dir, 'images.i16'), dtype='<i2', count=8 * INPUT * INPUT).reshape(8, 1, INPUT, INPUT)
    x = torch.from_numpy(imgs.astype(np.float32) / meta['imageScale'])
    pdir = os.path.join(HERE, 'data', 'parity')
    os.makedirs(pdir, exist_ok=True)
    with torch.no_grad():
        logits, heatmaps, cond = vexp(x)
        tok = torch.tensor([1, 5, 9, 20, 2, 3, 7, 11])
        hid = torch.randn(8, H) * 0.5
        dlog, dh = step(tok, hid, cond)
    for name, arr in dict(image=x, logits=logits, heatmaps=heatmaps, conditioning=cond, hidden=hid, dec_logits=dlog, dec_hidden=dh).items():
        write_f32(os.path.join(pdir, name + '.f32'), arr.numpy())
    tok.numpy().astype('<i8').tofile(os.path.join(pdir, 'token.i64'))
    json.dump(dict(n=8, size=INPUT, hidden=H, cond=C, vocab=len(vocab)), open(os.path.join(pdir, 'shapes.json'), 'w'))
    r = subprocess.run([os.path.join(REPO, 'node_modules', '.bin', 'tsx'), os.path.join(HERE, 'check-parity.ts'), out, pdir])
    if r.returncode != 0:
        sys.exit('parity check failed')


def write_manifest(args, ck, meta, out, H, C, vocab, codes):
    metrics = None
    if args.metrics:
        ev = json.load(open(args.metrics))
        metrics = dict(summary=ev['summary'], perFinding={c: dict(
            auc=m['all']['auc'], aucObvious=m['obvious']['auc'], aucSubtle=m['subtle']['auc'],
            sensitivity=m['all']['sensitivity'], specificity=m['all']['specificity'], f1=m['all']['f1'],
            pointingGame=m['all']['pointingGame'], meanIoU=m['all']['meanIoU']) for c, m in ev['perFinding'].items()},
            report=dict(findingF1=ev['report']['findingF1'], perFinding=ev['report']['perFinding']),
            robustness=ev['robustness'], note='measured by @cxr/model-evaluation through @cxr/inference on the ONNX files with the sha256 values in files')
    manifest = dict(
        schemaVersion=1,
        id='reference-cxr',
        version=args.version,
        name='Reference CXR (synthetic phantoms)',
        files={name: dict(sha256=sha256(os.path.join(out, name)), bytes=os.path.getsize(os.path.join(out, name)))
               for name in ('vision.onnx', 'decoder.onnx')},
        input=dict(
            file='vision.onnx', name='image', dtype='float32', shape=['N', 1, INPUT, INPUT], size=INPUT, channels=1,
            photometric='presentation: grey16 where bright = dense (MONOCHROME1 already inverted, VOI/window already applied)',
            resize=dict(method='letterbox', kernel='linear', align='center', padValue=0,
                        description=f'scale to fit {INPUT}x{INPUT} keeping the aspect ratio (sharp resize, linear kernel), centre, pad with raw 0 (black)'),
            normalisation=dict(method='zscore-content', scale=65535, epsilon=1e-3,
                               description='v = raw/65535; mean and std over the image content only (padding excluded); x = (v - mean) / max(std, epsilon), padding included'),
        ),
        outputs=[
            dict(file='vision.onnx', name='logits', dtype='float32', shape=['N', NUM_CLASSES],
                 meaning='per-finding logit in label order; probability = sigmoid(logit). logit = log-mean-exp (r=4) of the heatmap logit map'),
            dict(file='vision.onnx', name='heatmaps', dtype='float32', shape=['N', NUM_CLASSES, GRID, GRID],
                 meaning='sigmoid of the per-finding spatial logit map the decision pools; values 0..1; covers the whole %dx%d letterboxed input (crop' % (INPUT, INPUT) + ' the padding to map it to the image)'),
            dict(file='vision.onnx', name='conditioning', dtype='float32', shape=['N', C],
                 meaning='decoder conditioning: logits minus threshold logits (5), 4x4 mean and 4x4 max of each heatmap (80+80), soft peak x of each heatmap (5) then y (5), global features (64)'),
        ],
        labels=LABELS,
        thresholds=dict(
            method='F1-optimal probability threshold per finding on the validation split (phantom seeds %d..%d)' % (meta['seed'], meta['seed'] + meta['count'] - 1),
            values={c: round(float(t), 6) for c, t in zip(codes, ck['thresholds'])},
        ),
        decoder=dict(
            file='decoder.onnx',
            inputs=[dict(name='token', dtype='int64', shape=['N']), dict(name='hidden', dtype='float32', shape=['N', H]),
                    dict(name='conditioning', dtype='float32', shape=['N', C])],
            outputs=[dict(name='logits', dtype='float32', shape=['N', len(vocab)]), dict(name='hidden_out', dtype='float32', shape=['N', H])],
            hiddenSize=H,
            initialHidden='zeros',
            vocabulary=vocab,
            specialTokens=dict(pad='<pad>', bos='<bos>', eos='<eos>', sep='<sep>', unk='<unk>'),
            maxLength=64,
            decoding=dict(method='greedy', startToken='<bos>', stopToken='<eos>',
                          layout='findings tokens, <sep>, impression tokens, <eos>',
                          detokenize='join tokens with single spaces, then remove the space before "." and ","'),
        ),
        intendedUse=('Reference model for developing and testing the CXR microservices end to end. Trained only on synthetic '
                     'phantoms from @cxr/phantom; NOT a medical device and NOT for clinical use on real radiographs.'),
        modelCard=dict(
            trainingData=('%d synthetic phantoms (@cxr/phantom seeds %d.., rendered %d px wide; the generator\'s random finding mix, '
                          '50%% obvious / 50%% subtle tier, except that %d%% of them are forced to one subtle nodule (70%%) or '
                          'subtle pneumothorax (30%%): make-dataset.ts --subtle-boost)') % (
                ck['train_meta']['count'] * len(ck['args']['train']), ck['train_meta']['seed'], ck['train_meta']['size'],
                round(100 * ck['train_meta'].get('subtleBoost', 0))),
            training=dict((k, ck['args'][k]) for k in ('epochs', 'decoder_epochs', 'batch', 'lr', 'width', 'mask_weight', 'seed')),
            validationMetrics=ck['val_metrics'],
            evaluationMetrics=metrics,
            limitations=['synthetic data only; no real radiograph has been seen',
                         'heatmap grid is %dx%d over the %d px input (12.5 mm per cell at a 400 mm field of view)' % (GRID, GRID, INPUT),
                         'sizes written in the report text are estimates from pooled heatmaps'],
            notForClinicalUse=True,
        ),
    )
    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    for name, v in manifest['files'].items():
        print(f'{name}: {v["bytes"]} bytes sha256 {v["sha256"]}')


if __name__ == '__main__':
    main()
