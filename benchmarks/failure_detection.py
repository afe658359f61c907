"""Failure detection on clean and corrupted test images: softmax confidence, predictive entropy, MC dropout, TTA and a deep ensemble.

    python benchmarks/failure_detection.py [--datasets breastmnist pneumoniamnist] [--seeds 0 1 2 3 4] [--runs-dir DIR]
        [--preset '{dataset}-fast'] [--set k=v ...] [--severities 3] [--mc-samples 10] [--tta-samples 8] [--n-boot 1000]
        [--max-images N] [--threads 2] --out X.md [--json X.json]

For each dataset, one run per seed of the preset (trained into `--runs-dir/{dataset}-s{seed}` unless it is there already; by default
with `model.dropout_rate=0.3`, so that MC dropout has something to sample), temperature scaling fitted on each run's clean validation
split. Two test sets: the clean test split, and the corrupted one (every corruption of the dataset's MedMNIST-C set at each of
`--severities`, `medcls_nb.robustness`). Per method: ACC, AURC, AUGRC and error-detection AUROC, each with a percentile-bootstrap 95 %
interval over test images and seeds (an image's corrupted copies are resampled together); the deep ensemble (all seeds' runs averaged)
is one model, so its interval is over images only. `--max-images N` scores the first N test images only (for time). The tables are
drawn by `medcls_nb.robustness.failure_table`.
"""
import argparse, json, os, time
from pathlib import Path
import numpy as np
import torch
from medcls_nb.cli import load_run
from medcls_nb.data import Split, to_float
from medcls_nb.recipes import load_config, train_run, parse_overrides
from medcls_nb.robustness import (corrupt, corruption_set, method_scores, ensemble_scores, failure_table, split_logits,
                                  fit_temperature, stored_images)

def get_run(dataset, seed, a):
    "The run folder of `dataset` and `seed`: trained now unless it holds last.pt already"
    d = Path(a.runs_dir)/f'{dataset}-s{seed}'
    if not (d/'last.pt').exists():
        cfg = load_config(a.preset.format(dataset=dataset), {'model.dropout_rate': 0.3, 'train.seed': seed, **parse_overrides(a.set)})
        t0 = time.perf_counter()
        train_run(cfg, d, progress=False, overwrite=True)
        print(f'trained {d.name} in {time.perf_counter()-t0:.0f} s', flush=True)
    return d

def corrupted_split(ds, dataset, severities):
    "Every corruption of the set at `severities`, corruption-major: (copies x n_img) images, and the corruption names"
    x = to_float(ds.test.images)
    keys = [(c, s) for c in corruption_set(dataset) for s in severities]
    imgs = torch.cat([corrupt(x, c, s, dataset, seed=0) for c,s in keys])
    return Split(stored_images(imgs), np.concatenate([ds.test.labels]*len(keys))), keys

def by_image(scores:dict, n:int)->dict:
    "Method -> (probs, u) of a corruption-major split regrouped as (n_img, copies, ...)"
    return {k: (p.reshape(-1, n, p.shape[-1]).transpose(1, 0, 2), u.reshape(-1, n).T) for k,(p,u) in scores.items()}

def run_dataset(dataset, a)->dict:
    per = {'clean': [], 'corrupted': []}
    members = {'clean': [], 'corrupted': []}
    for seed in a.seeds:
        cfg,model,ds = load_run(get_run(dataset, seed, a))
        ts = fit_temperature(cfg, model, ds)
        ds.test = ds.test.head(a.max_images)
        corr,keys = corrupted_split(ds, dataset, a.severities)
        n = len(ds.test)
        for name,split in (('clean', ds.test), ('corrupted', corr)):
            t0 = time.perf_counter()
            sc = method_scores(cfg, model, split, ds.task, ts, a.mc_samples, a.tta_samples, seed=seed)
            sc = sc if name=='clean' else by_image(sc, n)
            per[name].append(sc)
            members[name].append(sc['softmax'][0])
            print(f'{dataset} seed {seed} {name}: {len(split)} images scored in {time.perf_counter()-t0:.0f} s', flush=True)
    y = {'clean': ds.test.labels, 'corrupted': np.stack([ds.test.labels]*len(keys), 1)}
    out = {}
    for name in per:
        extra = {f'deep ensemble ({len(a.seeds)})': ensemble_scores(members[name], ds.task)} if len(a.seeds)>1 else {}
        out[name] = failure_table(per[name], y[name], ds.task, extra, n_boot=a.n_boot)
    return dict(tables=out, corruptions=[f'{c}@{s}' for c,s in keys])

def md(df)->str:
    "One markdown table: value [lo, hi] per metric"
    ms = list(dict.fromkeys(k for k,_ in df.columns))
    head = '| method | ' + ' | '.join(ms) + ' |\n|---|' + '---:|'*len(ms)
    cell = lambda r, m: f"{r[(m, 'value')]:.4f} [{r[(m, 'lo')]:.4f}, {r[(m, 'hi')]:.4f}]"
    return head + ''.join(f"\n| {i} | " + ' | '.join(cell(r, m) for m in ms) + ' |' for i,r in df.iterrows())

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--datasets', nargs='+', default=['breastmnist', 'pneumoniamnist'])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4], help='one run per seed; all of them form the ensemble')
    p.add_argument('--runs-dir', default='runs/failure_detection', help='where the runs are (trained there if missing)')
    p.add_argument('--preset', default='{dataset}-fast', help='preset of the runs ({dataset} is filled in)')
    p.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help='more config overrides for the runs')
    p.add_argument('--severities', type=int, nargs='+', default=[3], help='severities of the corrupted test set')
    p.add_argument('--mc-samples', type=int, default=10, help='MC-dropout passes')
    p.add_argument('--tta-samples', type=int, default=8, help='TTA copies')
    p.add_argument('--n-boot', type=int, default=1000, help='bootstrap resamples')
    p.add_argument('--max-images', type=int, default=None, help='score the first N test images only (default: all)')
    p.add_argument('--threads', type=int, default=2, help='torch threads')
    p.add_argument('--out', required=True, help='markdown file for the tables')
    p.add_argument('--json', default=None, help='also write the tables as JSON')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0, res, text = time.perf_counter(), {}, []
    for d in a.datasets:
        r = run_dataset(d, a)
        res[d] = {k: json.loads(v.to_json(orient='index')) for k,v in r['tables'].items()} | {'corruptions': r['corruptions']}
        for k,v in r['tables'].items():
            what = 'clean test split' if k=='clean' else f"corrupted test split ({len(r['corruptions'])} corruption x severity copies per image)"
            text.append(f"### {d}: {what}\n\n{md(v)}")
    head = (f"Failure detection, seeds {a.seeds}, preset {a.preset} with model.dropout_rate=0.3 {' '.join(a.set)}; "
            f"test images: {a.max_images or 'all'}; severities {a.severities}; MC dropout {a.mc_samples} passes, TTA {a.tta_samples} copies; 95 % bootstrap intervals "
            f"({a.n_boot} resamples of images and seeds; the ensemble: images only). AURC and AUGRC: lower is better; AUROC: error "
            f"detection, higher is better. {os.cpu_count()} CPUs shared with other jobs; {time.perf_counter()-t0:.0f} s in all.")
    Path(a.out).write_text(head + '\n\n' + '\n\n'.join(text) + '\n')
    print(Path(a.out).read_text())
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))

if __name__=='__main__': main()
