"""Inference benchmark: float32 against mixed precision, int8 quantization and torch.compile, for a ResNet-18 trained at 28 px.

Trains the model with `medcls_nb.train.fit` on a MedMNIST dataset, then measures every inference variant of
`medcls_nb.inference` on the whole test split with `compare_variants`: size, latency at batch 1 and 64, AUC/ACC and
their change from float32, prediction agreement and the largest probability change. Prints the conditions and the
tables, and writes them as CSV (atomically) to the folder --out, one file per device:
`inference_{dataset}_{recipe}_{device}.csv`, the recipe being e.g. `resnet18-stride1-10ep`.

    HF_HUB_OFFLINE=1 python benchmarks/inference.py                             # CPU, 2 threads; data from $MEDCLS_DATA
    HF_HUB_OFFLINE=1 python benchmarks/inference.py --device cuda --cpu-too [--data-root DIR]
"""
import argparse, copy, os, sys, time
from pathlib import Path
import torch
from medcls_nb.benchmark import shown_root
from medcls_nb.data import BatchLoader, class_weights, data_root, load_dataset, synthetic_dataset
from medcls_nb.models import ModelFactory, profile_model
from medcls_nb.losses import loss_for
from medcls_nb.train import fit, TrainOptions
from medcls_nb.inference import Variant, compare_variants, conditions, cpu_variants

def train_model(ds, epochs:int, n_train:int|None, device:str, small_stem:bool=True, seed:int=0):
    task = ds.task
    tr = ds.train.head(n_train)
    torch.manual_seed(seed)
    model = ModelFactory.create('resnet', 'resnet18', num_classes=task.num_classes, in_chans=task.channels, img_size=ds.size, small_stem=small_stem)
    t = time.perf_counter()
    hist = fit(model, BatchLoader(tr, task, 128, shuffle=True, seed=seed, device=device), BatchLoader(ds.val, task, 256, device=device),
               task, loss_for(task, 'weighted_ce', class_weights=class_weights(tr, task)), opts=TrainOptions(optimizer='adam', lr=1e-3, weight_decay=0., epochs=epochs, amp='off', device=device, seed=seed),
               progress=False)
    note = (f"resnet18 ({'stride-1' if small_stem else 'standard'} stem, class-weighted CE) trained on {len(tr)} {ds.name} images for {epochs} epochs in {time.perf_counter()-t:.0f} s on {device}; "
            f"best epoch {hist.attrs['best_epoch']}, val AUC {hist.attrs['best_metric']:.4f}")
    print(note, flush=True)
    return model.eval(), note

def cuda_variants(model, compile_too:bool)->list:
    m = copy.deepcopy(model).cuda().eval()
    vs = [Variant('fp32 (CUDA)', m), Variant('fp32 channels_last (CUDA)', copy.deepcopy(m).to(memory_format=torch.channels_last), channels_last=True),
          Variant('fp16 autocast (CUDA)', m, amp=torch.float16), Variant('bf16 autocast (CUDA)', m, amp=torch.bfloat16)]
    if compile_too: vs.append(Variant('fp32 + torch.compile (CUDA)', torch.compile(copy.deepcopy(m))))
    return vs

def recipe_name(a)->str:
    "The recipe part of the result file names, e.g. 'resnet18-stride1-10ep' (or '...-n1000' with --n-train 1000)"
    return f"resnet18-{'standard' if a.standard_stem else 'stride1'}-{a.epochs}ep" + (f'-n{a.n_train}' if a.n_train else '')

def report(name:str, variants:list, ds, out:Path, repeats:int, note:str='', batch_sizes=(1, 64), command:str=''):
    "Measure `variants` on the test split of `ds`, print the table and write it to `out/name.csv` with a conditions line"
    t = time.perf_counter()
    table = compare_variants(variants, ds.test, ds.task, batch_sizes=batch_sizes, repeats=repeats)
    cond = f"{conditions()}; {note}; command: {command}"
    print(f"\n== {name}: {ds.name} test split, {len(ds.test)} images; latency in ms per forward pass ({time.perf_counter()-t:.0f} s)\n{cond}")
    print(table.round(4).to_string(), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out/f'.{name}.csv.tmp'
    with open(tmp, 'w') as f:
        f.write(f'# {cond}\n')
        table.to_csv(f)
    os.replace(tmp, out/f'{name}.csv')
    return table

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dataset', default='pneumoniamnist', help="a MedMNIST 2D dataset, or 'synthetic' (a small built-in set, for smoke tests)")
    ap.add_argument('--data-root', default=None, help="folder of the MedMNIST .npz files (default: $MEDCLS_DATA, else medmnist's)")
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--n-train', type=int, default=None)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--standard-stem', action='store_true', help="timm's stride-4 stem instead of the reference stride-1 stem")
    ap.add_argument('--cpu-too', action='store_true', help='with --device cuda: also measure the CPU variants of the trained model')
    ap.add_argument('--compile', action='store_true', help='also time torch.compile (slow to compile)')
    ap.add_argument('--n-bf16', type=int, default=None, help='CPU bf16 autocast on the first N test images only')
    ap.add_argument('--batch-sizes', default='1,64', help='latency batch sizes, comma-separated')
    ap.add_argument('--repeats', type=int, default=10)
    ap.add_argument('--out', default='benchmarks/results', help='folder for the CSV files')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    root = data_root(a.data_root)
    if a.dataset=='synthetic': ds = synthetic_dataset(n_train=256, n_val=64, n_test=128, n_ood=0)
    else: ds = load_dataset(a.dataset, root=root)
    command = ' '.join(shown_root(root) if a.data_root and x==a.data_root else x for x in sys.argv)
    model, note = train_model(ds, a.epochs, a.n_train, a.device, small_stem=not a.standard_stem)
    p = profile_model(copy.deepcopy(model).cpu(), ds.size, batch_sizes=(1, 64), repeats=3)
    print(f"profile_model (CPU fp32): {p.params/1e6:.2f} M parameters, {p.macs/1e9:.3f} GMACs/image, "
          f"latency {', '.join(f'bs{b} {s*1e3:.1f} ms' for b,s in p.latency.items())}")
    out, bs = Path(a.out), tuple(int(b) for b in a.batch_sizes.split(','))
    name = lambda dev: f'inference_{a.dataset}_{recipe_name(a)}_{dev}'
    if a.device.startswith('cuda'): report(name('cuda'), cuda_variants(model, a.compile), ds, out, a.repeats, note, bs, command)
    if a.device=='cpu' or a.cpu_too:
        report(name('cpu'), cpu_variants(model, ds.val, ds.task, a.compile, a.n_bf16), ds, out, a.repeats, note, bs, command)

if __name__=='__main__': main()
