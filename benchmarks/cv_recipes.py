"""Compare recipe variants without looking at the test split: stratified k-fold cross-validation on train + val.

    python benchmarks/cv_recipes.py --dataset breastmnist [--preset breastmnist-fast] [--folds 5] [--seeds 0 1] [--device cuda]
        [--set train.amp=off ...] --candidate base 'data.augment="none"' --candidate flip 'data.augment={"flip":true,"shift":0,"jitter":0}' ...
        [--min-se 2] [--rule acc|either] [--jsonl rows.jsonl] [--out cv.md] [--chosen chosen.txt]
    python benchmarks/cv_recipes.py --rows rows_*.jsonl [--min-se 2] [--rule either] [--out cv.md]   # the table of rows written earlier (--jsonl)

For each seed the train and val images are pooled and cut into `--folds` stratified folds (the cut depends on the seed only, so
every candidate sees the same folds). Each fold is held out once: the candidate (the preset plus its overrides) trains on the other
folds, ends with its last epoch's weights, and predicts the held-out fold. The out-of-fold predictions cover every pooled image once;
their AUC and ACC (this package's metrics, the official definitions) are the candidate's score for that seed. On BreastMNIST that is
624 images scored per seed, against 78 in the val split.

Rule (fixed before any run): the first candidate is the baseline; a candidate replaces it only if its mean out-of-fold AUC and its
mean out-of-fold ACC are both higher and, with `--min-se z`, its mean per-seed ACC gain over the baseline (paired by seed: same folds)
is at least z standard errors of that gain; among those, the highest mean ACC wins. `--chosen` writes the winner's overrides, one per
line. Only seeds on which every candidate finished count (`--rows` can collect rows of runs cut short).
`--rule either` is for a change that should cost neither metric: neither mean gain may be below zero, and at least one must be above
zero (and at least z standard errors of its per-seed gains).

Candidates whose overrides differ only in `eval.*` keys (e.g. `eval.tta="hflip"`, test-time flips) share one set of fold models per
seed, so they are compared on the same weights. Rows also hold the AUC and ACC of each held-out fold on its own (`fold_auc`, `fold_acc`).
Candidates must end with the last epoch's weights (`train.restore_best: false`): the held-out fold must not pick the epoch.
"""
import argparse, json, os, tempfile, time
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


def oof_scores(cfgs, ds, k, dev):
    """Out-of-fold scores of each config in `cfgs` on train + val of `ds`: dicts of AUC, ACC, per-fold AUC and ACC, and seconds.
    The configs differ only in `eval` settings, so they share one set of fold models (trained with `cfgs[0]`): a paired comparison."""
    from medcls_nb.data import MedDataset, Split
    from medcls_nb.recipes import train_run, build_loaders, metric_fn
    from medcls_nb.train import predict
    x, y = pooled(ds)
    probs, fold_m, mf = [None] * len(cfgs), [[] for _ in cfgs], metric_fn(ds.task)
    t0 = time.perf_counter()
    for tr, ho in folds(y, ds.task, k, cfgs[0].train.seed):
        fold = MedDataset(ds.name, ds.size, ds.task, Split(x[tr], y[tr]), Split(x[ho], y[ho]), None)
        with tempfile.TemporaryDirectory() as d:
            res = train_run(cfgs[0], d, progress=False, dataset=fold)
        for i, cfg in enumerate(cfgs):
            logits, yh = predict(res.model, build_loaders(cfg, fold, dev, ('val',))['val'], amp=cfg.train.amp,
                                 channels_last=cfg.train.channels_last, tta=cfg.eval.tta)
            p = ds.task.activation(logits)
            fold_m[i].append(mf(p, yh))
            if probs[i] is None: probs[i] = np.zeros((len(y), p.shape[1]), np.float32)
            probs[i][ho] = p.numpy()
    wall = time.perf_counter() - t0
    out = []
    for pr, fm in zip(probs, fold_m):
        m = mf(torch.from_numpy(pr), torch.from_numpy(y))
        out.append(dict(auc=m['auc'], acc=m['acc'], fold_auc=[f['auc'] for f in fm], fold_acc=[f['acc'] for f in fm], wall_s=wall))
    return out


def shared_training(candidates):
    "Groups of candidate indices whose overrides differ only in `eval.*` keys: each group trains one set of fold models"
    groups = {}
    for i, (name, *ovr) in enumerate(candidates):
        groups.setdefault(tuple(sorted(o for o in ovr if not o.startswith('eval.'))), []).append(i)
    return list(groups.values())


def complete(rows):
    "The rows of the seeds on which every candidate has a row"
    names = list(dict.fromkeys(r['candidate'] for r in rows))
    seeds = [s for s in dict.fromkeys(r['seed'] for r in rows) if all(any(r['candidate'] == n and r['seed'] == s for r in rows) for n in names)]
    return [r for r in rows if r['seed'] in seeds]


def gain(rows, name, key):
    "Mean per-seed gain of candidate `name` over the baseline (the first candidate) in `key`, and its standard error"
    base = rows[0]['candidate']
    by = lambda n: {r['seed']: r[key] for r in rows if r['candidate'] == n}
    b, c = by(base), by(name)
    d = np.array([c[s] - b[s] for s in b])
    return float(d.mean()), (float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float('nan'))


def beats(rows, name, min_se=0., rule='acc'):
    """Does `name` beat the baseline by the rule of the module docstring? `rule='acc'`: AUC gain > 0, ACC gain > 0 (and >= `min_se`
    standard errors). `rule='either'`: neither gain < 0, and at least one > 0 (and >= `min_se` standard errors)."""
    (da, sa), (dc, sc) = gain(rows, name, 'auc'), gain(rows, name, 'acc')
    big = lambda d, se: d > 0 and (min_se == 0 or d >= min_se * se)
    if rule == 'either': return da >= 0 and dc >= 0 and (big(da, sa) or big(dc, sc))
    return da > 0 and big(dc, sc)


def choose(rows, min_se=0., rule='acc'):
    "The rule of the module docstring: the winner's name"
    names = list(dict.fromkeys(r['candidate'] for r in rows))
    mean = lambda name: float(np.mean([r['acc'] for r in rows if r['candidate'] == name]))
    better = [n for n in names[1:] if beats(rows, n, min_se, rule)]
    return max(better, key=mean) if better else names[0]


def table(rows, head, min_se=0., rule='acc'):
    names = list(dict.fromkeys(r['candidate'] for r in rows))
    base = names[0]
    out = [head, '', '| candidate | overrides | out-of-fold AUC per seed | mean AUC | out-of-fold ACC per seed | mean ACC | '
           'AUC gain ± SE | ACC gain ± SE | beats baseline | s per seed |', '|---|---|---|---:|---|---:|---:|---:|---|---:|']
    mean = lambda name, k: float(np.mean([r[k] for r in rows if r['candidate'] == name]))
    for n in names:
        rs = [r for r in rows if r['candidate'] == n]
        per_seed = lambda k: ', '.join('%.4f' % r[k] for r in rs)
        if n == base: g, verdict = '| - | - |', '(baseline)'
        else:
            (da, sa), (dc, se) = gain(rows, n, 'auc'), gain(rows, n, 'acc')
            g, verdict = f'| {da:+.4f} ± {sa:.4f} | {dc:+.4f} ± {se:.4f} |', 'yes' if beats(rows, n, min_se, rule) else 'no'
        out.append(f"| {n} | {', '.join(rs[0]['overrides']) or '-'} | {per_seed('auc')} | {mean(n, 'auc'):.4f} | "
                   f"{per_seed('acc')} | {mean(n, 'acc'):.4f} {g} {verdict} | {mean(n, 'wall_s'):.0f} |")
    how = (' (either: no gain below zero, one that counts)' if rule == 'either' else '') + (f'; a gain counts from {min_se:g} standard errors' if min_se else '')
    out += ['', f'chosen by the rule{how}: **{choose(rows, min_se, rule)}**']
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
    p.add_argument('--candidate', nargs='+', action='append', metavar='NAME [KEY=VALUE ...]',
                   help='a named variant: the preset plus these overrides; the first one is the baseline')
    p.add_argument('--min-se', type=float, default=0., help='a winning ACC gain must be at least this many standard errors (0: any gain)')
    p.add_argument('--rule', choices=['acc', 'either'], default='acc',
                   help="acc: AUC and ACC gains > 0, the ACC gain counts; either: neither gain < 0, one of them counts")
    p.add_argument('--jsonl', default=None, help='append each (candidate, seed) row to this file as it finishes')
    p.add_argument('--rows', nargs='+', default=None, help='no training: the table of the rows in these --jsonl files')
    p.add_argument('--only', nargs='+', default=None, metavar='NAME', help='with --rows: only these candidates (the first stays the baseline)')
    p.add_argument('--out', default=None, help='also write the table (markdown) here')
    p.add_argument('--chosen', default=None, help="write the winner's overrides here, one KEY=VALUE per line")
    a = p.parse_args()
    if a.rows: rows = [json.loads(l) for f in a.rows for l in Path(f).read_text().splitlines() if l.strip()]
    elif a.candidate: rows = run_candidates(a)
    else: p.error('give --candidate (to train) or --rows (to tabulate)')
    if a.only: rows = [r for r in rows if r['candidate'] in a.only]
    rows = complete(sorted(rows, key=lambda r: (r['order'], r['seed'])))
    if not rows: raise SystemExit('no seed has a row for every candidate')
    r0 = rows[0]
    t = table(rows, f"{r0['folds']}-fold cross-validation on train + val of {r0['dataset']} ({r0['n_images']} images), preset {r0['preset']} "
                    f"{r0['common']}, seeds {sorted(set(r['seed'] for r in rows))}, {r0['device']}, torch {r0['torch']}", a.min_se, a.rule)
    print(t)
    if a.out: Path(a.out).write_text(t + '\n')
    if a.chosen:
        ovr = next(r['overrides'] for r in rows if r['candidate'] == choose(rows, a.min_se, a.rule))
        Path(a.chosen).write_text(''.join(f'{kv}\n' for kv in ovr))


def run_candidates(a):
    "Train every candidate on every seed (those that differ only in eval.* share fold models); the rows, also appended to `a.jsonl`"
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from medcls_nb.recipes import load_config, parse_overrides, build_data
    dev = torch.device(a.device)
    dev_name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    rows, ds = [], None
    for group in shared_training(a.candidate):
        for seed in a.seeds:
            cfgs = [load_config(a.preset.format(dataset=a.dataset), {'data.dataset': a.dataset, 'data.root': a.data, 'train.seed': seed,
                                'train.device': str(dev), **parse_overrides(a.set + a.candidate[i][1:])}) for i in group]
            for i, cfg in zip(group, cfgs):
                if cfg.train.restore_best: raise SystemExit(f"candidate {a.candidate[i][0]!r} restores the best epoch, which the held-out fold "
                                                            "would pick: add train.restore_best=false")
            if ds is None: ds = build_data(cfgs[0])
            for i, sc in zip(group, oof_scores(cfgs, ds, a.folds, dev)):
                name, *ovr = a.candidate[i]
                rows.append(dict(candidate=name, order=i, overrides=ovr, seed=seed, **sc, folds=a.folds, dataset=a.dataset,
                                 n_images=len(pooled(ds)[1]), preset=a.preset.format(dataset=a.dataset), common=a.set, device=dev_name,
                                 torch=torch.__version__))
                print({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items() if k in ('candidate', 'seed', 'auc', 'acc', 'wall_s')}, flush=True)
                if a.jsonl:
                    with open(a.jsonl, 'a') as f: f.write(json.dumps(rows[-1]) + '\n')
    return rows


if __name__ == '__main__':
    main()
