"""Compare recipe variants without looking at the test split: stratified k-fold cross-validation on train + val.

    python benchmarks/cv_recipes.py --dataset breastmnist [--preset breastmnist-fast] [--folds 5] [--seeds 0 1] [--device cuda]
        [--set train.amp=off ...] --candidate base --candidate hflip 'data.augment={"flip":true}' ... [--out cv.md] [--chosen chosen.txt]

For each seed the train and val images are pooled and cut into `--folds` stratified folds (the cut depends on the seed only, so
every candidate sees the same folds). Each fold is held out once: the candidate (the preset plus its overrides) trains on the other
folds, ends with its last epoch's weights, and predicts the held-out fold. The out-of-fold predictions cover every pooled image once;
their AUC and ACC (this package's metrics, the official definitions) are the candidate's score for that seed. On BreastMNIST that is
624 images scored per seed, against 78 in the val split.

Rule (fixed before any run): the first candidate is the baseline; a candidate replaces it only if its mean out-of-fold AUC and its
mean out-of-fold ACC are both higher; among those, the highest mean ACC wins. `--chosen` writes the winner's overrides, one per line.
Candidates must end with the last epoch's weights (`train.restore_best: false`): the held-out fold must not pick the epoch.
"""
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np
import torch
from sklearn.model_selection import KFold, StratifiedKFold


def pooled(ds):
    "Images and labels of train and val together"
    return np.concatenate([ds.train.images, ds.val.images]), np.concatenate([ds.train.labels, ds.val.labels])


def folds(labels, task, k, seed):
    "Index arrays (train, held out) of `k` folds; stratified by class unless the task is multi-label"
    if task.kind == 'multilabel': return list(KFold(k, shuffle=True, random_state=seed).split(labels))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels[:, 0]))


def oof_scores(cfg, ds, k, dev):
    "Out-of-fold AUC and ACC of `cfg` on train + val of `ds`, and the seconds it took"
    from medcls_nb.data import MedDataset, Split
    from medcls_nb.recipes import train_run, build_loaders, metric_fn
    from medcls_nb.train import predict
    x, y = pooled(ds)
    probs = None
    t0 = time.perf_counter()
    for tr, ho in folds(y, ds.task, k, cfg.train.seed):
        fold = MedDataset(ds.name, ds.size, ds.task, Split(x[tr], y[tr]), Split(x[ho], y[ho]), None)
        with tempfile.TemporaryDirectory() as d:
            res = train_run(cfg, d, progress=False, dataset=fold)
        logits, _ = predict(res.model, build_loaders(cfg, fold, dev, ('val',))['val'], amp=cfg.train.amp, channels_last=cfg.train.channels_last)
        p = ds.task.activation(logits).numpy()
        if probs is None: probs = np.zeros((len(y), p.shape[1]), p.dtype)
        probs[ho] = p
    m = metric_fn(ds.task)(torch.from_numpy(probs), torch.from_numpy(y))
    return m['auc'], m['acc'], time.perf_counter() - t0


def choose(rows):
    "The rule of the module docstring: the winner's name"
    mean = lambda name, k: float(np.mean([r[k] for r in rows if r['candidate'] == name]))
    names = list(dict.fromkeys(r['candidate'] for r in rows))
    base = names[0]
    better = [n for n in names[1:] if mean(n, 'auc') > mean(base, 'auc') and mean(n, 'acc') > mean(base, 'acc')]
    return max(better, key=lambda n: mean(n, 'acc')) if better else base


def table(rows, head):
    names = list(dict.fromkeys(r['candidate'] for r in rows))
    base = names[0]
    out = [head, '', '| candidate | overrides | out-of-fold AUC per seed | mean AUC | out-of-fold ACC per seed | mean ACC | '
           'beats baseline on both | s per seed |', '|---|---|---|---:|---|---:|---|---:|']
    mean = lambda name, k: float(np.mean([r[k] for r in rows if r['candidate'] == name]))
    for n in names:
        rs = [r for r in rows if r['candidate'] == n]
        beats = '(baseline)' if n == base else ('yes' if mean(n, 'auc') > mean(base, 'auc') and mean(n, 'acc') > mean(base, 'acc') else 'no')
        per_seed = lambda k: ', '.join('%.4f' % r[k] for r in rs)
        out.append(f"| {n} | {', '.join(rs[0]['overrides']) or '-'} | {per_seed('auc')} | {mean(n, 'auc'):.4f} | "
                   f"{per_seed('acc')} | {mean(n, 'acc'):.4f} | {beats} | {mean(n, 'wall_s'):.0f} |")
    out += ['', f'chosen by the rule: **{choose(rows)}**']
    return '\n'.join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='breastmnist')
    p.add_argument('--preset', default='{dataset}-fast')
    p.add_argument('--data', default=os.environ.get('MEDCLS_DATA', str(Path(__file__).resolve().parents[2] / 'shared/data/medmnist')))
    p.add_argument('--device', default='cpu')
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--set', nargs='*', default=[], help='overrides for every candidate, e.g. train.amp=off')
    p.add_argument('--candidate', nargs='+', action='append', required=True, metavar='NAME [KEY=VALUE ...]',
                   help='a named variant: the preset plus these overrides; the first one is the baseline')
    p.add_argument('--out', default=None, help='also write the table (markdown) here')
    p.add_argument('--chosen', default=None, help="write the winner's overrides here, one KEY=VALUE per line")
    a = p.parse_args()
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from medcls_nb.recipes import load_config, parse_overrides, build_data
    dev = torch.device(a.device)
    rows, ds = [], None
    for name, *ovr in a.candidate:
        for seed in a.seeds:
            cfg = load_config(a.preset.format(dataset=a.dataset), {'data.dataset': a.dataset, 'data.root': a.data, 'train.seed': seed,
                              'train.device': str(dev), **parse_overrides(a.set + ovr)})
            if cfg.train.restore_best: raise SystemExit(f"candidate {name!r} restores the best epoch, which the held-out fold would pick: "
                                                        "add train.restore_best=false")
            if ds is None: ds = build_data(cfg)
            auc, acc, wall = oof_scores(cfg, ds, a.folds, dev)
            rows.append(dict(candidate=name, overrides=ovr, seed=seed, auc=auc, acc=acc, wall_s=wall))
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
    dev_name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    n = len(pooled(ds)[1])
    t = table(rows, f'{a.folds}-fold cross-validation on train + val of {a.dataset} ({n} images), preset {a.preset.format(dataset=a.dataset)} '
                    f'{a.set}, seeds {a.seeds}, {dev_name}, torch {torch.__version__}')
    print(t)
    if a.out: Path(a.out).write_text(t + '\n')
    if a.chosen:
        ovr = next(r['overrides'] for r in rows if r['candidate'] == choose(rows))
        Path(a.chosen).write_text(''.join(f'{kv}\n' for kv in ovr))


if __name__ == '__main__':
    main()
