"""Reading a checkpoint file into a DenseNet-121 state_dict with our (torchvision's) names.

Accepted files:
- `.safetensors`: a flat state_dict.
- anything else torch.load reads: a state_dict, a dict holding one under `state_dict` / `model` /
  `model_state_dict` (CheXNet's `model.pth.tar` is `{'epoch', 'state_dict', ...}`), or a whole
  pickled model (torchxrayvision's release files are `torch.save(model)` of its DenseNet class).

A plain state_dict is read with `weights_only=True` (no code runs). A whole pickled model cannot be:
it is read with a restricted unpickler that builds torch's own modules and tensors and stands an
empty nn.Module in for every other class (torchxrayvision's, whose package we do not install), so
no class outside torch is imported and nothing but module construction runs. Import only
checkpoints you trust all the same.

Key mapping (documented in models/importers/README.md):
- a `module.` prefix (torch.nn.DataParallel) is removed;
- CheXNet (arnoweng/CheXNet): `densenet121.` prefix removed, `classifier.0.` -> `classifier.`
  (its head is Sequential(Linear, Sigmoid); the Sigmoid has no parameters);
- torchvision < 0.3 layer names `denselayerN.norm.1` / `relu.1` / `conv.1` (and `.2`) -> `norm1`,
  `conv1`, ... (CheXNet's checkpoint was saved with them);
- `op_threshs` (torchxrayvision's operating-point thresholds, a buffer in its newer DenseNet) is
  taken out of the state_dict and returned as thresholds;
- `num_batches_tracked` buffers may be absent (old checkpoints): they are not used in eval mode.
Everything else must match our names and shapes exactly (load_state_dict strict), or the import
fails naming the keys.
"""
import pickle
import re

import torch

_OLD_DENSELAYER = re.compile(r'^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$')


class CheckpointError(Exception):
    pass


class _Stub(torch.nn.Module):
    """Stands in for a pickled module class we do not import (e.g. torchxrayvision's DenseNet)."""

    def __init__(self, *args, **kwargs):  # pickle builds it with no arguments, then __setstate__
        super().__init__()


def _allowed_torch(module, name):
    """What a pickled torch model needs: tensors, storages, parameters and torch.nn's own modules."""
    if module == 'torch':
        return name.endswith('Storage') or name in ('Size', 'device', 'dtype') or name in _DTYPE_NAMES
    if module in ('torch._utils', 'torch._tensor'):
        return name.startswith('_rebuild')
    if module == 'torch.storage':
        return name in ('_load_from_bytes', 'UntypedStorage', 'TypedStorage')
    if module == 'torch.nn.parameter':
        return name == 'Parameter'
    return module.startswith('torch.nn.modules.')


_DTYPE_NAMES = {'float32', 'float16', 'float64', 'bfloat16', 'int64', 'int32', 'uint8', 'int8', 'bool', 'long', 'float', 'half'}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module == 'collections' and name == 'OrderedDict') or (module in ('builtins', '__builtin__') and name in ('set', 'frozenset')):
            return super().find_class(module, name)
        if module == 'torch' or module.startswith('torch.'):
            if not _allowed_torch(module, name):
                raise pickle.UnpicklingError(f'{module}.{name} is not allowed in a checkpoint')
            found = super().find_class(module, name)
            if module.startswith('torch.nn.modules.') and not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
                raise pickle.UnpicklingError(f'{module}.{name} is not allowed in a checkpoint')
            return found
        # Any other class (torchxrayvision's DenseNet, _DenseLayer, ...): an empty module whose
        # __setstate__ (nn.Module's) restores its children, parameters and buffers. A function
        # referenced here would be called as this class and build nothing but an empty module.
        return type(name, (_Stub,), {'__module__': 'cxr_import.stub.' + module})


class _RestrictedPickleModule:
    Unpickler = _RestrictedUnpickler
    load = pickle.load
    loads = pickle.loads


def _read(path):
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        pass  # a whole pickled model: read it with the restricted unpickler below
    return torch.load(path, map_location='cpu', weights_only=False, pickle_module=_RestrictedPickleModule)


def _state_dict_of(obj):
    if isinstance(obj, torch.nn.Module):
        for mod in obj.modules():  # modules pickled by torch < 1.6
            if not hasattr(mod, '_non_persistent_buffers_set'):
                mod._non_persistent_buffers_set = set()
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ('state_dict', 'model_state_dict', 'model'):
            if key in obj and (isinstance(obj[key], dict) or isinstance(obj[key], torch.nn.Module)):
                return _state_dict_of(obj[key])
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise CheckpointError(f'not a state_dict, a dict holding one, or a pickled model (found {type(obj).__name__})')


def map_keys(state, fmt):
    """Returns (state_dict with our names, op_threshs tensor or None)."""
    out = {}
    op_threshs = None
    for key, value in state.items():
        k = key[len('module.'):] if key.startswith('module.') else key
        if fmt == 'chexnet':
            if k.startswith('densenet121.'):
                k = k[len('densenet121.'):]
            if k.startswith('classifier.0.'):
                k = 'classifier.' + k[len('classifier.0.'):]
        m = _OLD_DENSELAYER.match(k)
        if m:
            k = m.group(1) + m.group(2)  # denselayer1.norm + 1.weight -> denselayer1.norm1.weight
        if k == 'op_threshs':
            op_threshs = value
            continue
        out[k] = value
    return out, op_threshs


def load_densenet_checkpoint(model, path, fmt):
    """Loads `path` into `model` (a DenseNet121); returns the op_threshs found, if any."""
    try:
        obj = _read(path)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as err:
        raise CheckpointError(f'{path}: cannot read it as a checkpoint ({err})') from err
    state, op_threshs = map_keys(_state_dict_of(obj), fmt)
    ours = model.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state if k not in ours]
    wrong = [f'{k} {tuple(state[k].shape)} (ours {tuple(ours[k].shape)})' for k in ours if k in state and state[k].shape != ours[k].shape]
    if missing or unexpected or wrong:
        def some(keys):
            return ', '.join(keys[:6]) + (f' and {len(keys) - 6} more' if len(keys) > 6 else '')
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing ({some(missing)})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected ({some(unexpected)})')
        if wrong:
            parts.append(f'{len(wrong)} of another shape ({some(wrong)})')
        raise CheckpointError(f'{path}: not a DenseNet-121 checkpoint in the {fmt} layout: ' + '; '.join(parts))
    for k in ours:
        if k.endswith('num_batches_tracked') and k not in state:
            state[k] = ours[k]
    model.load_state_dict(state, strict=True)
    return op_threshs
