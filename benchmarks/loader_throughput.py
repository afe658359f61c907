"""Loader throughput with augmentation: medcls_nb's in-memory `BatchLoader` against medmnist's `Dataset` +
torchvision transforms + `DataLoader` (the reference pipeline), on pneumoniamnist at 28 px.

    python benchmarks/loader_throughput.py [--data-root DIR] [--epochs 3] [--batch-size 128] [--resize 64 128]

Prints images/s for each pipeline (one full pass over the training split per epoch, best of `--epochs`).
Both do the same work: random horizontal flip, shift up to 10 %, brightness/contrast jitter 0.1, normalisation.
With `--resize`, a second table: the same `BatchLoader` enlarging each batch to each size (bilinear and nearest), as a
pretrained network is fed (`data.resize`), against no resize.
"""
import argparse, os, time
import torch, medmnist
import torchvision.transforms as T
from torch.utils.data import DataLoader
from medcls_nb.data import load_dataset, BatchLoader, Augment, data_root

def images_per_s(loader, n, epochs):
    best = 0.
    for e in range(epochs):
        if hasattr(loader, 'set_epoch'): loader.set_epoch(e)
        t0, seen = time.perf_counter(), 0
        for x,y in loader: seen += len(x)
        assert seen==n, (seen, n)
        best = max(best, n/(time.perf_counter()-t0))
    return best

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default=None, help="folder of the MedMNIST .npz files (default: $MEDCLS_DATA, else medmnist's)")
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--resize', type=int, nargs='*', default=[], help='also time BatchLoader(resize=...) at these sides')
    a = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    root = data_root(a.data_root)
    ds = load_dataset('pneumoniamnist', root=root)
    n = len(ds.train)
    ours = BatchLoader(ds.train, ds.task, a.batch_size, shuffle=True, augment=Augment(flip=True, shift=0.1, jitter=0.1), seed=0)
    tf = T.Compose([T.RandomHorizontalFlip(), T.RandomAffine(0, translate=(0.1, 0.1)), T.ColorJitter(0.1, 0.1),
                    T.ToTensor(), T.Normalize([.5], [.5])])
    ref = medmnist.PneumoniaMNIST(split='train', root=str(root), transform=tf)
    rows = [('medcls_nb BatchLoader (in-memory tensors, batched augmentation)', images_per_s(ours, n, a.epochs))]
    for w in (0, 2):
        dl = DataLoader(ref, batch_size=a.batch_size, shuffle=True, num_workers=w, persistent_workers=w>0)
        rows.append((f'medmnist Dataset + torchvision transforms + DataLoader(num_workers={w})', images_per_s(dl, n, a.epochs)))
    print(f'pneumoniamnist train ({n} images, 28 px), batch {a.batch_size}, best of {a.epochs} passes, {os.cpu_count()} CPUs, torch {torch.__version__}')
    print(f"| pipeline | images/s | vs reference (workers=0) |\n|---|---:|---:|")
    for name,v in rows: print(f'| {name} | {v:,.0f} | {v/rows[1][1]:.1f}x |')
    if not a.resize: return
    print(f"\n| BatchLoader, same augmentation | images/s | vs no resize |\n|---|---:|---:|")
    print(f'| 28 px, no resize | {rows[0][1]:,.0f} | 1.0x |')
    for side in a.resize:
        for mode in ('bilinear', 'nearest'):
            dl = BatchLoader(ds.train, ds.task, a.batch_size, shuffle=True, augment=Augment(flip=True, shift=0.1, jitter=0.1),
                             seed=0, resize=side, resize_mode=mode)
            v = images_per_s(dl, n, a.epochs)
            print(f'| resize to {side} px, {mode} | {v:,.0f} | {v/rows[0][1]:.2f}x |')

if __name__=='__main__': main()
