"""DenseNet-121 with the parameter names real chest X-ray checkpoints use.

torchvision's densenet121 (which torchxrayvision copies and CheXNet wraps) names its parameters
`features.conv0.weight`, `features.denseblock1.denselayer1.norm1.weight`, ...,
`features.transition1.conv.weight`, `features.norm5.running_var`, `classifier.weight`. This module
defines the same network with the same names, so those state_dicts load with `strict=True` and no
renaming beyond the wrappers checkpoint.py strips. It is written out here rather than imported
from torchvision or timm: the package index's torchvision wheel does not load beside its CPU torch
(and timm imports torchvision), and a definition of our own cannot change names under us.

forward() returns (logits, features): `features` is relu(norm5(...)), the last feature map before
global average pooling, [N, 1024, H/32, W/32]. Because logits = classifier(mean over space of
features), the class activation map of class c, sum_k W[c, k] * features[k] + b[c], has logit c as
its spatial mean.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

GROWTH_RATE = 32
BLOCK_CONFIG = (6, 12, 24, 16)
NUM_INIT_FEATURES = 64
BN_SIZE = 4
NUM_FEATURES = 1024  # channels of the final feature map of DenseNet-121


class DenseLayer(nn.Sequential):
    def __init__(self, num_input_features):
        super().__init__(OrderedDict([
            ('norm1', nn.BatchNorm2d(num_input_features)),
            ('relu1', nn.ReLU()),
            ('conv1', nn.Conv2d(num_input_features, BN_SIZE * GROWTH_RATE, kernel_size=1, stride=1, bias=False)),
            ('norm2', nn.BatchNorm2d(BN_SIZE * GROWTH_RATE)),
            ('relu2', nn.ReLU()),
            ('conv2', nn.Conv2d(BN_SIZE * GROWTH_RATE, GROWTH_RATE, kernel_size=3, stride=1, padding=1, bias=False)),
        ]))

    def forward(self, x):
        return torch.cat([x, super().forward(x)], 1)


class DenseBlock(nn.Sequential):
    def __init__(self, num_layers, num_input_features):
        super().__init__(OrderedDict(
            (f'denselayer{i + 1}', DenseLayer(num_input_features + i * GROWTH_RATE)) for i in range(num_layers)
        ))


class Transition(nn.Sequential):
    def __init__(self, num_input_features, num_output_features):
        super().__init__(OrderedDict([
            ('norm', nn.BatchNorm2d(num_input_features)),
            ('relu', nn.ReLU()),
            ('conv', nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)),
            ('pool', nn.AvgPool2d(kernel_size=2, stride=2)),
        ]))


class DenseNet121(nn.Module):
    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ('conv0', nn.Conv2d(in_channels, NUM_INIT_FEATURES, kernel_size=7, stride=2, padding=3, bias=False)),
            ('norm0', nn.BatchNorm2d(NUM_INIT_FEATURES)),
            ('relu0', nn.ReLU()),
            ('pool0', nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        n = NUM_INIT_FEATURES
        for i, num_layers in enumerate(BLOCK_CONFIG):
            self.features.add_module(f'denseblock{i + 1}', DenseBlock(num_layers, n))
            n += num_layers * GROWTH_RATE
            if i != len(BLOCK_CONFIG) - 1:
                self.features.add_module(f'transition{i + 1}', Transition(n, n // 2))
                n //= 2
        self.features.add_module('norm5', nn.BatchNorm2d(n))
        assert n == NUM_FEATURES
        self.classifier = nn.Linear(n, num_classes)

    def reset_parameters(self, seed, calibration):
        """Random weights from a fixed seed: torchvision's initialisation (Kaiming-normal
        convolutions; BatchNorm weight ~1 and bias ~0, jittered so they are exercised), then the
        BatchNorm running statistics set to those of `calibration` (a batch of inputs in the model's
        input range), as training would leave them. Without that, eval-mode BatchNorm with mean 0
        and variance 1 passes inputs in [-1024, 1024] through unnormalised and the activations grow
        to sizes no trained model has."""
        g = torch.Generator().manual_seed(seed)
        for m in self.modules():
            with torch.no_grad():
                if isinstance(m, nn.Conv2d):
                    fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_out) ** 0.5)
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                elif isinstance(m, nn.Linear):
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
        self.train()
        with torch.no_grad():
            self(calibration)
        for m in norms:
            m.momentum = 0.1
        self.eval()

    def forward(self, x):
        features = F.relu(self.features(x))
        logits = self.classifier(torch.flatten(F.adaptive_avg_pool2d(features, 1), 1))
        return logits, features
