"""MedMNIST v2 benchmark: ResNet-18 at 28 px trained with this package's fast recipes
(the presets `breastmnist-fast` and `pneumoniamnist-fast`), against the MedMNIST v2 table and the
wall time of the reference protocol run the reference way.

    python benchmarks/medmnist_v2.py [--data DIR] [--device cpu|cuda] [--seeds 0 1 2] [--datasets breastmnist pneumoniamnist]
                                     [--preset '{dataset}-fast'] [--set train.epochs=20 ...] [--ref-batches 8] [--out results.md]

For each dataset and seed it trains with `medcls_nb.recipes.train_run` (data loading, training with per-epoch validation,
best-validation-AUC checkpoint), evaluates the test split, and reports test AUC and ACC by the official definitions
(`medmnist.Evaluator`, cross-checked against `medcls_nb.metrics`), wall time, CPU time and training images/s.
With test-time augmentation (`eval.tta`, e.g. `breastmnist-fast`'s mirror views) the row also holds the same weights' scores
without it (`auc_no_tta`, `acc_no_tta`, computed after the clock stops).

The reference protocol (Adam 1e-3, 100 epochs, batch 128, per-sample PIL transforms through `torch.utils.data.DataLoader`,
and, as in MedMNIST's `train_and_eval_pytorch.py`, an evaluation of the train, val and test splits after every epoch) is timed
on the same device for `--ref-batches` batches of each phase; its 100-epoch time is extrapolated from that and labelled so.
The reference is timed with MedMNIST's ResNet-18 for 28 px (stride-1 stem, no max-pool); the table names the stem each
recipe used (`small_stem='pool'` keeps the max-pool).
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch

PAPER = {'breastmnist': (0.901, 0.863), 'pneumoniamnist': (0.944, 0.854)}  # MedMNIST v2 (Yang et al. 2023), ResNet-18 (28): AUC, ACC


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def run_ours(flag, seed, a, dev):
    "Train and test one seed of the recipe; returns a row of figures"
    from medmnist import Evaluator
    from medcls_nb.recipes import load_config, parse_overrides, train_run, build_loaders, metric_fn
    from medcls_nb.train import predict
    cfg = load_config(a.preset.format(dataset=flag), {'data.dataset': flag, 'data.root': a.data, 'train.seed': seed, 'train.device': str(dev),
                                 **({'train.amp': a.amp} if a.amp else {}), **parse_overrides(a.set)})
    t0, c0 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as d:
        res = train_run(cfg, d, progress=False)
        test = build_loaders(cfg, res.dataset, dev, ('test',))['test']
        logits, y = predict(res.model, test, amp=cfg.train.amp, channels_last=cfg.train.channels_last, tta=cfg.eval.tta)
        _sync(dev)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        # with test-time augmentation, also the same weights' plain predictions (after the clock stops): the exact paired comparison
        plain = predict(res.model, test, amp=cfg.train.amp, channels_last=cfg.train.channels_last)[0] if cfg.eval.tta != 'none' else None
    probs = res.dataset.task.activation(logits)
    ev = Evaluator(flag, 'test', root=a.data).evaluate(probs.numpy())
    ours = metric_fn(res.dataset.task)(probs, y)
    assert abs(ev.AUC - ours['auc']) < 1e-9 and abs(ev.ACC - ours['acc']) < 1e-9, (ev, ours)   # official definitions agree
    h = res.history
    n_img = len(res.dataset.train) * len(h)
    no_tta = {} if plain is None else {f'{k}_no_tta': v for k, v in metric_fn(res.dataset.task)(res.dataset.task.activation(plain), y).items()}
    return dict(dataset=flag, seed=seed, stem=res.model.config['small_stem'], augment=cfg.data.augment, tta=cfg.eval.tta, weights='best' if cfg.train.restore_best else 'last', auc=ev.AUC, acc=ev.ACC, val_auc=h.attrs['best_metric'], best_epoch=h.attrs['best_epoch'],
                epochs=len(h), wall_s=wall, cpu_s=cpu, train_img_s=float(n_img / h.time_s.sum()), **no_tta)


def reference_time(flag, a, dev, n_batches):
    "Seconds per training image and per evaluated image of the reference pipeline; the extrapolated 100-epoch time"
    import medmnist, torchvision.transforms as T
    from torch.utils.data import DataLoader
    from medcls_nb.models import ModelFactory
    info = medmnist.INFO[flag]
    tf = T.Compose([T.ToTensor(), T.Normalize(mean=[.5], std=[.5])])
    cls = getattr(medmnist, info['python_class'])
    split = {s: cls(split=s, transform=tf, root=a.data, size=28) for s in ('train', 'val', 'test')}
    torch.manual_seed(0)
    model = ModelFactory.create('resnet', 'resnet18', num_classes=len(info['label']), in_chans=info['n_channels'], img_size=28).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = torch.nn.CrossEntropyLoss()

    def timed(loader, train):
        model.train(train); n, t, c = 0, 0., 0.
        it = iter(loader)
        for i in range(min(n_batches + 1, len(loader))):
            t0, c0 = time.perf_counter(), time.process_time()
            x, y = next(it)
            x = x.to(dev)
            if train:
                opt.zero_grad(); loss = crit(model(x), y.squeeze(1).long().to(dev)); loss.backward(); opt.step()
            else:
                with torch.no_grad(): model(x).softmax(1).cpu()
            _sync(dev)
            if i > 0 or len(loader) == 1:   # first batch: warm-up
                n, t, c = n + len(x), t + time.perf_counter() - t0, c + time.process_time() - c0
        return t / n, c / n
    t_train, c_train = timed(DataLoader(split['train'], batch_size=128, shuffle=True), True)
    t_eval, c_eval = timed(DataLoader(split['train'], batch_size=128, shuffle=False), False)
    n = {s: len(d) for s, d in split.items()}
    per_epoch = lambda tr, ev: n['train'] * tr + (n['train'] + n['val'] + n['test']) * ev
    full = n_batches + 1 >= -(-n['train'] // 128)
    return dict(epoch_s=per_epoch(t_train, t_eval), total_s=100 * per_epoch(t_train, t_eval), total_cpu_s=100 * per_epoch(c_train, c_eval),
                how=f"{'one full epoch' if full else f'{n_batches} batches per phase'}, x100 epochs")


def _weights(r):
    "Which weights a row evaluated: the best validation epoch's, or the last epoch's (the fast presets)"
    w = r.get('weights', 'last' if r.get('stem') == 'pool' else 'best')   # logs written before the column: the fast presets ended with 'last'
    return f"best val epoch {r['best_epoch']}" if w == 'best' else f"last epoch; best val AUC at {r['best_epoch']}"


def table(rows, refs, dev_name, torch_version=torch.__version__):
    out = [f'MedMNIST v2 benchmark, ResNet-18 (28), {dev_name}, torch {torch_version}', '',
           '| dataset | run | test AUC | test ACC | wall s | CPU s | train img/s |', '|---|---|---:|---:|---:|---:|---:|']
    for flag in dict.fromkeys([r['dataset'] for r in rows] + list(refs)):
        rs = [r for r in rows if r['dataset'] == flag]
        if not rs:
            out.append(f"| {flag} | reference protocol, measured here ({refs[flag]['how']}) | | | {refs[flag]['total_s']:.0f} | {refs[flag]['total_cpu_s']:.0f} | |")
            continue
        for r in rs:
            tta = f", test-time {r['tta']}" if r.get('tta', 'none') != 'none' else ''
            out.append(f"| {flag} | seed {r['seed']} (stem {r['stem']}, {r['epochs']} ep, {_weights(r)}{tta}) | {r['auc']:.3f} | {r['acc']:.3f} | "
                       f"{r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['train_img_s']:.0f} |")
        m = {k: float(np.mean([r[k] for r in rs])) for k in ('auc', 'acc', 'wall_s', 'cpu_s', 'train_img_s')}
        sd = {k: float(np.std([r[k] for r in rs])) for k in ('auc', 'acc')}
        out.append(f"| {flag} | **mean of {len(rs)}** | **{m['auc']:.4f}** ± {sd['auc']:.3f} | **{m['acc']:.4f}** ± {sd['acc']:.3f} | "
                   f"**{m['wall_s']:.0f}** | {m['cpu_s']:.0f} | {m['train_img_s']:.0f} |")
        pa, pc = PAPER[flag]
        out.append(f'| {flag} | MedMNIST v2 paper, ResNet-18 (28) | {pa:.3f} | {pc:.3f} | | | |')
        if flag in refs:
            ref = refs[flag]
            out.append(f"| {flag} | reference protocol, measured here ({ref['how']}) | | | {ref['total_s']:.0f} | {ref['total_cpu_s']:.0f} | |")
            miss = [k for k, ok in (('AUC', m['auc'] >= pa), ('ACC', m['acc'] >= pc), ('time', m['wall_s'] < ref['total_s'] / 10)) if not ok]
            out.append(f"| {flag} | ours / reference (wall time, CPU time) | | | {m['wall_s'] / ref['total_s']:.3f} | "
                       f"{m['cpu_s'] / ref['total_cpu_s']:.3f} | |")
            out.append(f"| {flag} | target (AUC, ACC >= paper; time < 1/10 of reference) | | | {'met' if not miss else 'NOT met: ' + ', '.join(miss)} | | |")
    return '\n'.join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=os.environ.get('MEDCLS_DATA', str(Path(__file__).resolve().parents[2] / 'shared/data/medmnist')))
    p.add_argument('--device', default='cpu')
    p.add_argument('--datasets', nargs='+', default=['breastmnist', 'pneumoniamnist'])
    p.add_argument('--seeds', nargs='*', type=int, default=[0, 1, 2], help='training seeds (none: only time the reference)')
    p.add_argument('--preset', default='{dataset}-fast', help="preset; '{dataset}' becomes the dataset's flag")
    p.add_argument('--set', nargs='*', default=[], help='config overrides on top of the preset, e.g. train.epochs=20')
    p.add_argument('--amp', default=None, help="override train.amp ('auto' picks bf16/fp16 on CUDA, off on CPUs without bf16)")
    p.add_argument('--ref-batches', type=int, default=8, help='timed batches per phase of the reference pipeline (0: skip)')
    p.add_argument('--out', default=None, help='also write the table (markdown) here')
    p.add_argument('--from-log', nargs='+', default=None, help="only redraw the table from the row lines of earlier runs' logs")
    a = p.parse_args()
    if a.from_log:
        rows, refs, dev_name, version = from_logs(a.from_log)
        return write(table(rows, refs, dev_name, version), a.out)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    dev = torch.device(a.device)
    dev_name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)'
    print(f'data {a.data}; device {dev_name}; preset {a.preset} {a.set}', flush=True)
    rows, refs = [], {}
    for flag in a.datasets:
        for s in a.seeds:
            rows.append(run_ours(flag, s, a, dev))
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
        if a.ref_batches:
            refs[flag] = reference_time(flag, a, dev, a.ref_batches)
            print(flag, 'reference', {k: round(v, 2) if isinstance(v, float) else v for k, v in refs[flag].items()}, flush=True)
    write(table(rows, refs, dev_name), a.out)


def write(t, out):
    print(t)
    if out: Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text(t + '\n')


def from_logs(paths):
    "Rows, reference times, device name and torch version from the lines this script printed (its `.log` files)"
    import ast
    rows, refs, dev_name, version = [], {}, None, 'unknown'
    for line in (l for p in paths for l in Path(p).read_text().splitlines()):
        if line.startswith("{'dataset'"): rows.append(ast.literal_eval(line))
        elif ' reference {' in line: flag, d = line.split(' reference ', 1); refs[flag] = ast.literal_eval(d)
        elif line.startswith('data ') and '; device ' in line: dev_name = line.split('; device ', 1)[1].split('; preset')[0]
        elif line.startswith('MedMNIST v2 benchmark, ') and ', torch ' in line: version = line.rsplit(', torch ', 1)[1]
    return rows, refs, f'{dev_name}, from {", ".join(Path(p).name for p in paths)}', version


if __name__ == '__main__':
    main()
