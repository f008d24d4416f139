"""What each checkpoint format is: its labels in output order, input channels and preprocessing.

Labels map to our finding codes where they name the same finding (the reference model's five,
and the report-text library's atelectasis, consolidation, opacity, edema, so the second read can
compare them with final reports); any other label keeps its own name under a snake_case code.
SNOMED CT codings as docs/model-package.md's label table gives them; null for the labels it
has none for, rather than a guess.
"""
import re

SCT = 'http://snomed.info/sct'
OUR_CODES = {
    'Nodule': ('nodule', 'Lung nodule', dict(system=SCT, code='786838002', display='Pulmonary nodule')),
    'Mass': ('mass', 'Lung mass', None),
    'Effusion': ('pleural_effusion', 'Pleural effusion', dict(system=SCT, code='60046008', display='Pleural effusion')),
    'Cardiomegaly': ('cardiomegaly', 'Cardiomegaly', dict(system=SCT, code='8186001', display='Cardiomegaly')),
    'Pneumothorax': ('pneumothorax', 'Pneumothorax', dict(system=SCT, code='36118008', display='Pneumothorax')),
    'Atelectasis': ('atelectasis', 'Atelectasis', dict(system=SCT, code='46621007', display='Atelectasis')),
    'Consolidation': ('consolidation', 'Consolidation', dict(system=SCT, code='95436008', display='Lung consolidation')),
    'Lung Opacity': ('opacity', 'Lung opacity', None),
    'Edema': ('edema', 'Pulmonary oedema', dict(system=SCT, code='19242006', display='Pulmonary edema')),
}

# torchxrayvision's default_pathologies: the output order of all its DenseNet-121 weights
# (densenet121-res224-all and the per-dataset ones, whose untrained outputs are '' there).
XRV_LABELS = [
    'Atelectasis', 'Consolidation', 'Infiltration', 'Pneumothorax', 'Edema', 'Emphysema', 'Fibrosis', 'Effusion', 'Pneumonia',
    'Pleural_Thickening', 'Cardiomegaly', 'Nodule', 'Mass', 'Hernia', 'Lung Lesion', 'Fracture', 'Lung Opacity', 'Enlarged Cardiomediastinum',
]
# ChestX-ray14's 14 labels in CheXNet's (arnoweng/CheXNet) CLASS_NAMES order.
CHEXNET_LABELS = [
    'Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule', 'Pneumonia', 'Pneumothorax', 'Consolidation',
    'Edema', 'Emphysema', 'Fibrosis', 'Pleural_Thickening', 'Hernia',
]

PHOTOMETRIC = 'presentation: grey16 where bright = dense (MONOCHROME1 already inverted, VOI/window already applied)'

FORMATS = {
    'torchxrayvision': dict(
        labels=XRV_LABELS,
        channels=1,
        size=224,
        resize=dict(method='center-crop', kernel='linear',
                    description="torchxrayvision's XRayCenterCrop then XRayResizer(224): the centred square of the image scaled to 224x224"),
        normalisation=dict(method='linear-range', **{'from': [0, 1]}, to=[-1024, 1024],
                           description="torchxrayvision's normalize(img, maxval): grey values 0..max scaled linearly to -1024..1024"),
        scores_meaning='per-label logit in label order (torchxrayvision DenseNet classifier output before its sigmoid / op_norm); probability = sigmoid(logit)',
    ),
    'chexnet': dict(
        labels=CHEXNET_LABELS,
        channels=3,
        size=224,
        resize=dict(method='center-crop', kernel='linear',
                    description='short side scaled to 224, centred 224x224 window (CheXNet itself averaged ten 224 crops of the image resized to 256; one centred view here)'),
        normalisation=dict(method='mean-std', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                           description='ImageNet mean/std per channel on 0..1 grey values replicated into R, G and B'),
        scores_meaning="per-label logit in label order (CheXNet's classifier Linear, before the Sigmoid of its Sequential head); probability = sigmoid(logit)",
    ),
}


def label_entry(name):
    if name in OUR_CODES:
        code, display, coding = OUR_CODES[name]
        return dict(name=name, code=code, display=display, coding=coding)
    code = re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')
    return dict(name=name, code=code, display=name.replace('_', ' '), coding=None)
