"""Writes a checkpoint file in a real checkpoint's layout, with random weights, for the tests.

  python make_fixture.py --layout torchxrayvision-pickle|chexnet-tar|hf-save-pretrained --out <file or folder> --expected <file.f32> [--seed S] [--channels C]

- torchxrayvision-pickle: torch.save of a whole model whose classes live in a module named
  `torchxrayvision.models` (as the release files of densenet121-res224-all are), with the
  `op_threshs` buffer of torchxrayvision's newer DenseNet;
- chexnet-tar: arnoweng/CheXNet's model.pth.tar layout: {'epoch', 'state_dict', 'best_loss',
  'optimizer'} with DataParallel's `module.` prefix, `densenet121.` and `classifier.0.`, and the
  pre-0.3 torchvision names (`denselayer1.norm.1.weight`).
- state-dict-safetensors: a plain state_dict with torchvision's names in a .safetensors file (what a
  training script using python/densenet.py saves);
- hf-save-pretrained: a tiny VisionEncoderDecoderModel folder as save_pretrained writes it (--channels
  input channels, 224 px), with tokenizer.json and a ViT preprocessor_config.json (mean 0.5, std 0.5).
No real weights: random ones from --seed. --expected gets this model's own logits on the inputs
import_model.py's parity check uses (its --seed 0), so a test can tell the weights arrived unchanged.
"""
import argparse
import sys
import types

import numpy as np
import torch

import densenet
from formats import FORMATS
from import_model import parity_inputs


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--layout', required=True, choices=['torchxrayvision-pickle', 'chexnet-tar', 'state-dict-safetensors', 'hf-save-pretrained'])
    p.add_argument('--out', required=True)
    p.add_argument('--expected', required=True)
    p.add_argument('--seed', type=int, default=11)
    p.add_argument('--channels', type=int, default=3, help='hf-save-pretrained: the encoder\'s input channels')
    args = p.parse_args()
    if args.layout == 'hf-save-pretrained':
        return hf_folder(args)
    fmt = 'torchxrayvision' if args.layout == 'torchxrayvision-pickle' else 'chexnet'  # the safetensors one: 3 channels, 14 labels
    spec = FORMATS[fmt]
    model = densenet.DenseNet121(len(spec['labels']), spec['channels'])
    model.reset_parameters(args.seed, torch.from_numpy(parity_inputs(spec, 8, seed=args.seed)))
    with torch.no_grad():
        expected = model(torch.from_numpy(parity_inputs(spec, 3, seed=1)))[0].numpy()
    np.ascontiguousarray(expected, dtype='<f4').tofile(args.expected)

    if args.layout == 'torchxrayvision-pickle':
        mod = types.ModuleType('torchxrayvision.models')
        sys.modules['torchxrayvision'] = types.ModuleType('torchxrayvision')
        sys.modules['torchxrayvision.models'] = mod
        renamed = {densenet.DenseNet121: 'DenseNet', densenet.DenseLayer: '_DenseLayer', densenet.DenseBlock: '_DenseBlock', densenet.Transition: '_Transition'}
        for cls, name in renamed.items():
            setattr(mod, name, type(name, (cls,), {'__module__': 'torchxrayvision.models'}))
        for m in model.modules():
            if type(m) in renamed:
                m.__class__ = getattr(mod, renamed[type(m)])
        g = torch.Generator().manual_seed(args.seed)
        model.register_buffer('op_threshs', 0.01 + 0.3 * torch.rand(len(spec['labels']), generator=g))
        model.op_threshs[13] = float('nan')  # a label the weights were not trained on
        torch.save(model, args.out)
    elif args.layout == 'state-dict-safetensors':
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
    else:
        state = {}
        for k, v in model.state_dict().items():
            if k.endswith('num_batches_tracked'):
                continue  # torch 0.3 had none
            k = k.replace('classifier.', 'classifier.0.')
            for part in ('norm1', 'relu1', 'conv1', 'norm2', 'relu2', 'conv2'):
                if 'denselayer' in k:
                    k = k.replace(f'.{part}.', f'.{part[:-1]}.{part[-1]}.')
            state['module.densenet121.' + k] = v
        torch.save({'epoch': 7, 'arch': 'DenseNet121', 'state_dict': state, 'best_loss': 0.16, 'optimizer': {'state': {}, 'param_groups': []}}, args.out)


def hf_folder(args):
    """A VisionEncoderDecoderModel saved with save_pretrained (+ tokenizer.json, preprocessor_config.json)
    into --out; --expected gets its encoder's output on pixel_values torch.randn(2, C, 224, 224) of
    torch.Generator seed 1, so a test can run the imported encoder on the same values."""
    import json
    from hf_encoder_decoder import tiny_model
    model, tok = tiny_model(args.seed, args.channels, 224)
    model.save_pretrained(args.out)
    tok.save(f'{args.out}/tokenizer.json')
    with open(f'{args.out}/preprocessor_config.json', 'w') as f:
        json.dump(dict(image_processor_type='ViTImageProcessor', do_resize=True, size=dict(height=224, width=224), do_rescale=True, rescale_factor=1 / 255,
                       do_normalize=True, image_mean=[0.5] * args.channels, image_std=[0.5] * args.channels), f)
    cfg = model.config.encoder
    px = torch.randn(2, cfg.num_channels, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model.encoder(pixel_values=px).last_hidden_state.numpy()
    np.ascontiguousarray(px.numpy(), dtype='<f4').tofile(args.expected.replace('.f32', '.pixel_values.f32'))
    np.ascontiguousarray(expected, dtype='<f4').tofile(args.expected)


if __name__ == '__main__':
    main()
