"""MedMNIST v2 benchmark: ResNet-18 at 28 px trained with this package's fast recipes
(the presets `breastmnist-fast` and `pneumoniamnist-fast`), against the MedMNIST v2 table and the
wall time of the reference protocol run the reference way.

    python benchmarks/medmnist_v2.py [--data-root DIR] [--device cpu|cuda] [--seeds 0 1 2] [--datasets breastmnist pneumoniamnist]
                                     [--preset '{dataset}-fast'] [--set train.epochs=20 ...] [--ref-batches 8] [--out results.md]
    python benchmarks/medmnist_v2.py --from-log run1.log [run2.log ...] [--seeds 0 1 2] [--out results.md]

For each dataset and seed it trains and tests one run (`medcls_nb.benchmark.run_recipe`: `train_run`, then the test split scored
by the official definitions of `medmnist.Evaluator`), prints it as one line, and times the reference protocol on the same device
for `--ref-batches` batches of each phase (`medcls_nb.benchmark.reference_time`, extrapolated to 100 epochs and labelled so).
The table (`medcls_nb.benchmark.medmnist_v2_table`) goes to stdout and `--out`. `--from-log` draws it again from the lines of
earlier runs' logs (only the rows of `--seeds`, when given). The data folder defaults to `$MEDCLS_DATA`, else medmnist's.
"""
import argparse, os
from pathlib import Path
import torch
from medcls_nb.benchmark import device_name, from_logs, log_header, medmnist_v2_table, ref_line, reference_time, row_line, run_recipe
from medcls_nb.data import data_root
from medcls_nb.recipes import parse_overrides


def write(t, out):
    "Print the table `t` and write it to `out` (if given)"
    print(t)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(t + '\n')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None, help='folder of the MedMNIST .npz files (default: $MEDCLS_DATA, else medmnist\'s)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--datasets', nargs='+', default=['breastmnist', 'pneumoniamnist'])
    p.add_argument('--seeds', nargs='*', type=int, default=None,
                   help='training seeds (default 0 1 2; none: only time the reference); with --from-log: the rows to keep')
    p.add_argument('--preset', default='{dataset}-fast', help="preset; '{dataset}' becomes the dataset's flag")
    p.add_argument('--set', nargs='*', default=[], help='config overrides on top of the preset, e.g. train.epochs=20')
    p.add_argument('--amp', default=None, help="override train.amp ('auto' picks bf16/fp16 on CUDA, off on CPUs without bf16)")
    p.add_argument('--ref-batches', type=int, default=8, help='timed batches per phase of the reference pipeline (0: skip)')
    p.add_argument('--out', default=None, help='also write the table (markdown) here')
    p.add_argument('--from-log', nargs='+', default=None, help="only redraw the table from the row lines of earlier runs' logs")
    a = p.parse_args()
    if a.from_log:
        rows, refs, dev_name, version = from_logs(a.from_log)
        if a.seeds is not None: rows = [r for r in rows if r['seed'] in a.seeds]
        return write(medmnist_v2_table(rows, refs, dev_name, version), a.out)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    root, dev = data_root(a.data_root), torch.device(a.device)
    seeds = [0, 1, 2] if a.seeds is None else a.seeds
    overrides = {**({'train.amp': a.amp} if a.amp else {}), **parse_overrides(a.set)}
    print(log_header(root, device_name(dev), a.preset, a.set), flush=True)
    rows, refs = [], {}
    for flag in a.datasets:
        for s in seeds:
            rows.append(run_recipe(flag, s, a.preset, root, str(dev), overrides))
            print(row_line(rows[-1]), flush=True)
        if a.ref_batches:
            refs[flag] = reference_time(flag, root, str(dev), a.ref_batches)
            print(ref_line(flag, refs[flag]), flush=True)
    write(medmnist_v2_table(rows, refs, device_name(dev)), a.out)


if __name__ == '__main__':
    main()
