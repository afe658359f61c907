"""Corruption throughput: medcls_nb's batched torch MedMNIST-C corruptions against `medmnistc`'s own per-image pipeline, and the time
of a full `medcls robustness` evaluation.

    python benchmarks/robustness.py [--data-root DIR] [--dataset pneumoniamnist] [--sizes 28 224] [--threads 2]
        [--medmnistc PYTHON] [--medmnistc-images 64] [--run RUN_DIR] [--json X.json] > X.md
    python benchmarks/robustness.py --from-json X.json   # the table again

For every corruption of the dataset's set, at every severity 1-5: images/s of `medcls_nb.robustness.corrupt` on the whole test split
(one batch), and, with `--medmnistc PYTHON` (the interpreter of a separate environment where `medmnistc` 0.1.0 imports: it pins
medmnist 3.0.1 and scikit-image 0.23.2 and loads ImageMagick through `wand`), images/s of medmnistc's pipeline as its
`DatasetManager` runs it (PIL RGB image -> `apply` -> grey PIL image -> array), on the first `--medmnistc-images` test images, in the
same run. 224 px images are the 28 px file enlarged (bilinear): this machine has no 224 px MedMNIST files.
With `--run RUN_DIR` it also times `robustness_eval` on that run (every corruption x severity of its set, on its test split).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from medcls_nb.data import load_dataset, to_float, data_root
from medcls_nb.robustness import corrupt, corruption_set, robustness_eval, robustness_summary_text

_MEDMNISTC = r'''
import json, sys, time
import numpy as np
from PIL import Image
from medmnistc.corruptions.registry import CORRUPTIONS_DS
images, dataset = np.load(sys.argv[1]), sys.argv[2]
out = {}
for name, c in CORRUPTIONS_DS[dataset].items():
    c.rng = np.random.default_rng(0)          # impulse_noise reads it (DatasetManager sets it)
    np.random.seed(0)
    t0 = time.perf_counter()
    for sev in range(5):
        for a in images:
            y = c.apply(Image.fromarray(a).convert('RGB'), sev)
            y = np.array(Image.fromarray(y).convert('L'))
    out[name] = 5*len(images)/(time.perf_counter()-t0)
print(json.dumps(out))
'''

def torch_rate(x, dataset, name, repeats:int=2)->float:
    "Images/s of `corrupt` at severities 1-5 on the batch `x` (best of `repeats`)"
    best = 0.
    for _ in range(repeats):
        t0 = time.perf_counter()
        for s in range(1, 6): corrupt(x, name, s, dataset, seed=s)
        best = max(best, 5*len(x)/(time.perf_counter()-t0))
    return best

def medmnistc_rates(python:str, x, dataset:str)->dict:
    "Images/s of medmnistc's per-image pipeline, per corruption, run by the interpreter `python`"
    u8 = (x[:, 0]*255).round().to(torch.uint8).numpy()
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d)/'x.npy', u8)
        r = subprocess.run([python, '-c', _MEDMNISTC, str(Path(d)/'x.npy'), dataset], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(f"medmnistc failed under {python}: {r.stderr.strip().splitlines()[-1]}")
    return json.loads(r.stdout.strip().splitlines()[-1])

def print_table(res:dict):
    "The markdown table of a result: images/s per corruption and size; the last row is all corruptions in one pass"
    sizes = list(res['sizes'])
    has_ref = all('medmnistc' in res['sizes'][s] for s in sizes)
    print(f"{res['dataset']} test split ({res['n_test']} images), severities 1-5, images/s; {res['threads']} torch threads, "
          f"torch {res['torch']}, 2 CPUs shared with other jobs (the rates are lower bounds)\n")
    cols = [(s, k) for s in sizes for k in res['sizes'][s]]
    names = list(res['sizes'][sizes[0]]['torch'])
    allr = lambda d: len(d)/sum(1/v for v in d.values())     # every corruption once: total images / total time
    print('| corruption | ' + ' | '.join(f'{k} {s} px' for s,k in cols) + (' | torch / medmnistc |' if has_ref else ' |'))
    print('|---|' + '---:|'*(len(cols) + has_ref))
    for c in names + ['all (one pass each)']:
        v = {(s, k): allr(res['sizes'][s][k]) if c.startswith('all') else res['sizes'][s][k][c] for s,k in cols}
        up = ' | ' + ', '.join(f"{v[(s, 'torch')]/v[(s, 'medmnistc')]:.1f}x at {s} px" for s in sizes) if has_ref else ''
        print(f'| {c} | ' + ' | '.join(f'{v[sk]:,.0f}' for sk in cols) + up + ' |')

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None, help="folder of the MedMNIST .npz files (default: $MEDCLS_DATA, else medmnist's)")
    p.add_argument('--dataset', default='pneumoniamnist', help='a MedMNIST 2D dataset with a grey-level corruption set')
    p.add_argument('--sizes', type=int, nargs='+', default=[28, 224], help='image sides to time (224: the 28 px images enlarged)')
    p.add_argument('--threads', type=int, default=2, help='torch threads')
    p.add_argument('--medmnistc', default=None, help="python of an environment with medmnistc installed (default: skip it)")
    p.add_argument('--medmnistc-images', type=int, default=64, help='test images medmnistc corrupts per corruption and severity')
    p.add_argument('--run', default=None, help='a run folder: also time robustness_eval on it')
    p.add_argument('--json', default=None, help='also write the numbers to this JSON file')
    p.add_argument('--from-json', default=None, help='print the table of a JSON file written by --json, and stop')
    a = p.parse_args()
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text())
        print_table(res)
        if 'robustness_eval' in res:
            r = res['robustness_eval']
            print(f"\nrobustness_eval of {r['run']}: {r['images_scored']} images in {r['seconds']:.1f} s")
        return
    torch.set_num_threads(a.threads)
    ds = load_dataset(a.dataset, root=data_root(a.data_root))
    x28 = to_float(ds.test.images)
    names = list(corruption_set(a.dataset))
    res = dict(dataset=a.dataset, n_test=len(x28), threads=a.threads, torch=torch.__version__, sizes={})
    for side in a.sizes:
        x = x28 if side==28 else F.interpolate(x28, size=side, mode='bilinear', align_corners=False).clamp(0, 1)
        row = {'torch': {c: torch_rate(x, a.dataset, c) for c in names}}
        if a.medmnistc: row['medmnistc'] = medmnistc_rates(a.medmnistc, x[:a.medmnistc_images], a.dataset)
        res['sizes'][side] = row
    print_table(res)
    if a.run:
        r = robustness_eval(a.run, write=False)
        res['robustness_eval'] = dict(run=Path(a.run).name, seconds=r['seconds'], images_scored=r['images_scored'], summary=r['summary'])
        print(f"\nrobustness_eval of {Path(a.run).name}: {r['images_scored']} images ({len(r['corrupted'])} corruption x severity "
              f"cells + clean) in {r['seconds']:.1f} s\n\n```\n{robustness_summary_text(r)}\n```")
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))

if __name__=='__main__': main()
