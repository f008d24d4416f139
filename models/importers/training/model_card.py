"""Writes the model card of the phantom-trained CheXNet-layout package into its manifest.json.

  python model_card.py --manifest ../../chexnet-phantom/manifest.json --training data/run/training.json --evaluation ../../chexnet-phantom/evaluation.json

`npm run model:import` writes the generic card of an imported checkpoint ("not evaluated by this
project"); this package was trained here, on synthetic phantoms only, so its name, intended use
and card say so, with the training time, the data, the labels phantoms never show, and the
validation and evaluation figures. Only manifest.json changes (no hashed file), so the package
stays loadable; run it after model:fit-ood (which also rewrites the manifest).
"""
import argparse
import json


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--manifest', required=True)
    p.add_argument('--training', required=True)
    p.add_argument('--evaluation', required=True)
    args = p.parse_args()
    with open(args.manifest) as f:
        m = json.load(f)
    with open(args.training) as f:
        t = json.load(f)
    with open(args.evaluation) as f:
        e = json.load(f)
    s = t['settings']
    untrained = t['untrainedLabels']
    minutes = round(t['trainingSeconds'] / 60, 1)
    m['name'] = 'DenseNet-121 (CheXNet layout, 14 ChestX-ray14 labels) trained on synthetic phantoms'
    # The heads no phantom ever showed are not read: no finding, heatmap or sentence (manifest labels[].trained).
    for label in m['labels']:
        if label['name'] in untrained:
            label['trained'] = False
    m['intendedUse'] = (
        'Second model package for developing and testing the CXR microservices with a network of real size (DenseNet-121, 224 px). '
        f'Trained from random weights for {minutes} CPU minutes only on synthetic phantoms from @cxr/phantom; NOT a medical device and NOT for '
        'clinical use on real radiographs. Phantoms show only Nodule, Mass, Effusion, Cardiomegaly and Pneumothorax; the other 9 ChestX-ray14 '
        f'outputs ({", ".join(untrained)}) were trained as always negative and mean nothing, so they are marked trained: false and not read (no finding, heatmap or sentence).'
    )
    per = e['perFinding']
    card = m.setdefault('modelCard', {})
    card['syntheticOrRandom'] = True
    card['trainingData'] = (
        f"{t['trainImages']} synthetic phantoms (@cxr/phantom seeds 1100000..1103999, rendered 256..320 px wide, aspect 1 or 1..1.3, "
        "the generator's own finding mix), preprocessed by this manifest's own input section (manifestPreprocessing: centre crop 224, grey in 3 channels, "
        f"ImageNet mean/std); validation {t['valImages']} phantoms, seeds 2100000..; models/importers/training/make-phantom-dataset.ts"
    )
    card['training'] = dict(
        script='models/importers/training/train_phantoms.py (make -C models/importers/training all)',
        initialisation='random (torchvision initialisation); no pretrained weights',
        trainingMinutes=minutes, cpuThreads=s['threads'], steps=t['steps'], imagesSeen=t['imagesSeen'], epochs=t['epochs'],
        batch=s['batch'], optimiser='Adam', lr=s['lr'], weightDecay=s['weight_decay'], schedule='50-step warm-up, cosine over the time budget',
        progressiveResize=dict(size=s['low_size'], fractionOfBudget=s['low_fraction']) if s['low_size'] else None,
        augmentation=dict(shiftPx=s['shift'], noise=s['noise']), loss='binary cross-entropy on all 14 logits',
        kept=t['kept'], untrainedLabels=untrained, torch=t['torch'],
    )
    card['validationMetrics'] = t['keptValidation']
    card['thresholdsChosen'] = 'F1-optimal on the validation split for the 5 labels phantoms show; 0.5 for the 9 they never show'
    card['evaluationMetrics'] = dict(
        command='npm run eval -- --model models/chexnet-phantom --seed %d --count %d' % (e['summary']['seed'], e['summary']['count']),
        macroAuc=e['summary']['macroAuc'], macroAucSubtle=e['summary']['macroAucSubtle'], reportFindingF1=e['summary']['reportFindingF1'],
        perFinding={code: dict(auc=v['all']['auc']['value'], aucSubtle=v['subtle']['auc']['value'], aucObvious=v['obvious']['auc']['value'],
                               sensitivity=v['all']['sensitivity'], specificity=v['all']['specificity'], pointing=v['all']['pointingGame'])
                    for code, v in per.items()},
        ood=dict(inDistributionFalseFlagRate=e['summary']['ood']['falseFlagRate'],
                 realRadiographsFlagged=(e['summary']['ood'].get('realRadiographs') or {}).get('flaggedShare'),
                 nonChestFlagged=(e['summary']['ood'].get('nonChest') or {}).get('flaggedShare')),
    )
    with open(args.manifest, 'w') as f:
        json.dump(m, f, indent=2)
        f.write('\n')
    print(json.dumps(dict(name=m['name'], evaluation=card['evaluationMetrics']['perFinding']), indent=1))


if __name__ == '__main__':
    main()
