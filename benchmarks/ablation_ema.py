"""Ablation (not part of the package): does an exponential moving average of the weights help the BreastMNIST recipe?

    OMP_NUM_THREADS=1 python benchmarks/ablation_ema.py SEED [THREADS] [DATASET]

Trains `{DATASET}-fast` (default breastmnist) once with `fit`, while timm's `ModelEmaV3` averages the weights after every
optimizer step (patched into `medcls_nb.train._optimizer_step`) at several decays, and prints validation and test AUC/ACC of
the last weights and of each average as one JSON line. The trainer has no EMA option: in the session-3 runs (seeds 0 and 1)
no average beat the last weights, which cosine decay to zero already settles.
"""
import json, sys, tempfile
import torch
from timm.utils import ModelEmaV3
import medcls_nb.train as T
from medcls_nb.recipes import load_config, validate, build_data, build_model, build_loaders, build_loss, build_strategy, metric_fn, config_dict
from medcls_nb.train import fit, predict, seed_everything

SPECS = {'d0.9': dict(decay=0.9), 'd0.95': dict(decay=0.95), 'd0.98': dict(decay=0.98),
         'w0.99': dict(decay=0.99, use_warmup=True), 'w0.995': dict(decay=0.995, use_warmup=True)}


def main(seed, threads=1, flag='breastmnist', root='../shared/data/medmnist'):
    torch.set_num_threads(threads)
    cfg = validate(load_config(f'{flag}-fast', {'data.root': root, 'train.seed': seed}))
    seed_everything(cfg.train.seed)
    ds = build_data(cfg); model = build_model(cfg, ds.task)
    dl = build_loaders(cfg, ds, 'cpu', ('train', 'val', 'test'))
    emas, step, orig = {}, [0], T._optimizer_step
    def patched(L):
        orig(L); step[0] += 1
        if not emas: emas.update({k: ModelEmaV3(L.model, **s) for k, s in SPECS.items()})
        for e in emas.values(): e.update(L.model, step=step[0])
    T._optimizer_step = patched
    mf = metric_fn(ds.task)
    with tempfile.TemporaryDirectory() as d:
        fit(model, dl['train'], dl['val'], ds.task, build_loss(cfg, ds.task, ds.train), build_strategy(cfg), cfg.train, run_dir=d,
            progress=False, metric_fn=mf, config=config_dict(cfg))
    def scores(m):
        out = {}
        for s in ('val', 'test'):
            lg, y = predict(m, dl[s], channels_last=cfg.train.channels_last)
            out[s] = {k: round(v, 4) for k, v in mf(ds.task.activation(lg), y).items() if k in ('auc', 'acc')}
        return out
    print(json.dumps(dict(seed=seed, last=scores(model), **{k: scores(e.module) for k, e in emas.items()})))


if __name__ == '__main__':
    main(int(sys.argv[1]), *(int(sys.argv[2]),) if len(sys.argv) > 2 else (), *sys.argv[3:4])
