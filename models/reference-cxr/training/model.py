"""Reference CXR model: a small fully convolutional vision encoder and a GRU report decoder.

Vision encoder (input [N,1,256,256], already normalised as the manifest says):
  local path, stride 8, receptive field 75 px (117 mm at a 400 mm field of view)
      -> per-class spatial logit map S_local [N,5,32,32];
  global path (two more strided convs + average pool) -> per-class bias g [N,5] and features [N,64];
  S = S_local + g (broadcast)                      spatial logit map
  heatmaps = sigmoid(S)                             [N,5,32,32], in [0,1]
  logits   = LSE_r(S) = (logsumexp(r*S) - log(HW)) / r   [N,5]
so each class logit is a smooth maximum of its own heatmap's logits: the heatmap is exactly what the
decision comes from. The global bias lets classes that need context (cardiomegaly: heart width
against thoracic width) use it without blurring where the map points.

conditioning [N,C] for the decoder = (logits - threshold logits) | 4x4 mean of heatmaps |
4x4 max of heatmaps | soft peak position (x, y in 0..1 of the input) of each map | global features.
The soft peak is there because 4x4 pooling cannot tell the lung zones apart (the zone borders at
about 36% and 53% of the image height fall inside one pooled row): the 128 px model 0.2.0 wrote
"lower zone" for nodules its heatmap put in the upper zone. Thresholds are baked in as a buffer
after they have been chosen on the validation split, so text and positive flags agree.

Why 256 px (0.3.0) instead of 128 px (0.2.0): a subtle nodule (8-13 mm) is 2-4 input pixels
across at 128 px and cannot be told from lung texture there; at 256 px it is a visible disc of
4-8 pixels (training/visibility.ts measures it). The grid stays 32x32, so a heatmap cell is
still 12.5 mm across the 400 mm field of view.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 5
INPUT = 256
GRID = 32
LSE_R = 4.0
PEAK_BETA = 4.0  # sharpness of the soft peak (softmax over beta * spatial logits)


def conv_bn(cin, cout, stride=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Vision(nn.Module):
    def __init__(self, width=1.0):
        super().__init__()
        c = [int(round(v * width)) for v in (16, 24, 32, 48)]
        # Plain 3x3 convolutions only: dilated convolutions run about 3x slower on this CPU build.
        self.local = nn.Sequential(
            conv_bn(1, c[0], stride=2),       # 128, rf 3
            conv_bn(c[0], c[0]),              # 128, rf 7
            conv_bn(c[0], c[1], stride=2),    # 64, rf 11
            conv_bn(c[1], c[2]),              # 64, rf 19
            conv_bn(c[2], c[3], stride=2),    # 32, rf 27
            conv_bn(c[3], c[3]),              # 32, rf 43
            conv_bn(c[3], c[3]),              # 32, rf 59
            conv_bn(c[3], c[3]),              # 32, rf 75
        )
        self.head = nn.Conv2d(c[3], NUM_CLASSES, 1)
        self.glob = nn.Sequential(conv_bn(c[3], 64, stride=2), conv_bn(64, 64, stride=2))  # 16, 8
        self.glob_fc = nn.Linear(64, NUM_CLASSES)
        self.register_buffer('threshold_logits', torch.zeros(NUM_CLASSES))
        self.cond_dim = NUM_CLASSES + 2 * NUM_CLASSES * 16 + 2 * NUM_CLASSES + 64
        centres = (torch.arange(GRID, dtype=torch.float32) + 0.5) / GRID
        self.register_buffer('grid_y', centres.repeat_interleave(GRID))  # flat index -> row centre
        self.register_buffer('grid_x', centres.repeat(GRID))             # flat index -> column centre

    def spatial(self, x):
        f = self.local(x)
        s_local = self.head(f)
        gfeat = self.glob(f).mean(dim=(2, 3))
        g = self.glob_fc(gfeat)
        return s_local + g[:, :, None, None], gfeat

    def forward(self, x):
        s, gfeat = self.spatial(x)
        n = s.shape[0]
        flat = s.reshape(n, NUM_CLASSES, GRID * GRID)
        logits = (torch.logsumexp(LSE_R * flat, dim=2) - math.log(GRID * GRID)) / LSE_R
        heatmaps = torch.sigmoid(s)
        pooled_mean = F.avg_pool2d(heatmaps, 8).reshape(n, NUM_CLASSES * 16)
        pooled_max = F.max_pool2d(heatmaps, 8).reshape(n, NUM_CLASSES * 16)
        w = torch.softmax(PEAK_BETA * flat, dim=2)
        peak = torch.cat([(w * self.grid_x).sum(2), (w * self.grid_y).sum(2)], dim=1)  # [N, 2K]: x of each class, then y
        cond = torch.cat([logits - self.threshold_logits, pooled_mean, pooled_max, peak, gfeat], dim=1)
        return logits, heatmaps, cond, s


class Decoder(nn.Module):
    """Teacher-forced training uses nn.GRU; `step` is the same cell written out for ONNX export."""

    def __init__(self, vocab, cond_dim, emb=48, cond_emb=96, hidden=192):
        super().__init__()
        self.hidden = hidden
        self.emb = nn.Embedding(vocab, emb)
        self.cond = nn.Sequential(nn.Linear(cond_dim, cond_emb), nn.ReLU())
        self.gru = nn.GRU(emb + cond_emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens, cond):
        # tokens [N,T] (inputs, starting with <bos>), cond [N,C] -> logits [N,T,V]
        x = self.emb(tokens)
        c = self.cond(cond)[:, None, :].expand(-1, tokens.shape[1], -1)
        y, _ = self.gru(torch.cat([x, c], dim=2))
        return self.out(y)

    def step(self, token, hidden, cond):
        x = torch.cat([self.emb(token), self.cond(cond)], dim=1)
        gx = F.linear(x, self.gru.weight_ih_l0, self.gru.bias_ih_l0)
        gh = F.linear(hidden, self.gru.weight_hh_l0, self.gru.bias_hh_l0)
        xr, xz, xn = gx.chunk(3, dim=1)
        hr, hz, hn = gh.chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * hidden
        return self.out(h), h


class DecoderStep(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, token, hidden, conditioning):
        return self.decoder.step(token, hidden, conditioning)
