"""Metrics used while training (the authoritative evaluation is @cxr/model-evaluation)."""
import numpy as np

CODES = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax']


def auc(y, score):
    """Mann-Whitney AUC with ties counted half."""
    y = np.asarray(y).astype(bool)
    pos, neg = score[y], score[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float('nan')
    order = np.argsort(np.concatenate([pos, neg]), kind='mergesort')
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def f1_threshold(y, prob):
    """Probability threshold maximising F1 (midpoint between neighbouring scores)."""
    order = np.argsort(-prob)
    p, yy = prob[order], np.asarray(y)[order].astype(float)
    tp = np.cumsum(yy)
    fp = np.cumsum(1 - yy)
    f1 = 2 * tp / (tp + fp + yy.sum())
    k = int(np.argmax(f1))
    t = (p[k] + p[k + 1]) / 2 if k + 1 < len(p) else p[k] * 0.999
    return float(min(max(t, 1e-4), 1 - 1e-4))


def pointing_hits(heat, masks, labels):
    """For positives: is the heatmap's peak cell covered by the finding's mask (coverage > 0)?"""
    pos = np.where(labels == 1)[0]
    flat = heat[pos].reshape(len(pos), -1)
    peak = flat.argmax(1)
    cover = masks[pos].reshape(len(pos), -1)
    return cover[np.arange(len(pos)), peak] > 0


NEG = {'No', 'no', 'not', 'without'}
TERMS = {'nodule': 'nodule', 'mass': 'mass', 'effusion': 'pleural_effusion', 'pneumothorax': 'pneumothorax',
         'Cardiomegaly': 'cardiomegaly', 'enlarged': 'cardiomegaly'}


def label_tokens(tokens):
    """Python mirror of @cxr/phantom labelReport for the generator's own wording."""
    out = np.zeros(len(CODES), dtype=np.int64)
    neg = False
    for t in tokens:
        if t == '<eos>':
            break
        if t in ('.', '<sep>'):
            neg = False
            continue
        if t in NEG:
            neg = True
        code = TERMS.get(t)
        if code and not neg:
            out[CODES.index(code)] = 1
    return out
