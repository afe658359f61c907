"""Check `peak_activation_bytes` (counted on the meta device) against the CUDA caching allocator, and run every registry
variant for real at every MedMNIST size. Needs a CUDA GPU.

    HF_HUB_OFFLINE=1 python benchmarks/memory_check.py [--batch 64]

Measured: `torch.cuda.max_memory_allocated()` during one forward (after a warm-up forward), minus what was allocated before it
(parameters, input, cuBLAS workspace). The allocator rounds blocks up to 512 bytes and cuDNN adds workspaces, so the GPU
figure should sit a little above the estimate. Attention runs with PyTorch's math backend, as on the meta device; the
flash backend (the CUDA default) never materialises the attention matrix, and its figure is printed too for ViTs.
"""
import argparse, time
import pandas as pd, torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from medcls_nb.models import ModelFactory, list_families, peak_activation_bytes

MB = 2**20

def cuda_peak(m, x, train):
    m.train(train)
    with torch.set_grad_enabled(train): out = m(x)                  # warm-up: cuDNN/cuBLAS set-up
    del out; torch.cuda.synchronize(); torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
    with torch.set_grad_enabled(train): out = m(x)
    torch.cuda.synchronize(); peak = torch.cuda.max_memory_allocated() - base
    del out
    return peak

def memory_rows(bs):
    rows = []
    for a, v in [('resnet', 'resnet18'), ('resnet', 'resnet50'), ('efficientnet', 'b0'), ('efficientnet', 'b3'),
                 ('densenet', 'densenet121'), ('vit', 'vit_base')]:
        for s in (28, 224):
            with torch.device('cuda'): m = ModelFactory.create(a, v, img_size=s)
            x = torch.randn(bs, 3, s, s, device='cuda')
            r = {'variant': v, 'img': s}
            for train in (False, True):
                k = 'train' if train else 'infer'
                m.train(train); r[f'est {k} MB'] = peak_activation_bytes(m, x, train=train)/MB
                with sdpa_kernel([SDPBackend.MATH]): r[f'cuda {k} MB'] = cuda_peak(m, x, train)/MB
                r[f'ratio {k}'] = r[f'cuda {k} MB']/r[f'est {k} MB']
            if a == 'vit': r['cuda infer MB, flash attn'] = cuda_peak(m, x, False)/MB
            rows.append(r); del m, x; torch.cuda.empty_cache()
    return pd.DataFrame(rows)

def forward_all(sizes=(28, 64, 128, 224)):
    "Every registry variant, built on the GPU, one real forward per size (grayscale, batch 2)"
    rows = []
    for a, variants in list_families().items():
        for v in variants:
            r, t = {'architecture': a, 'variant': v}, time.perf_counter()
            for s in sizes:
                with torch.device('cuda'): m = ModelFactory.create(a, v, img_size=s, in_chans=1, num_classes=7).eval()
                with torch.no_grad(): out = m(torch.randn(2, 1, s, s, device='cuda'))
                assert out.shape == (2, 7) and torch.isfinite(out).all(), (v, s)
                r[f'{s} px'] = tuple(out.shape); del m
            r['s'] = round(time.perf_counter() - t, 1); rows.append(r); torch.cuda.empty_cache()
    return pd.DataFrame(rows)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--skip-forward-all', action='store_true')
    a = ap.parse_args()
    print(f'# {torch.cuda.get_device_name()}, torch {torch.__version__}, batch {a.batch}')
    with pd.option_context('display.width', 250, 'display.max_columns', 20):
        print(memory_rows(a.batch).round(2).to_string(index=False), flush=True)
        if not a.skip_forward_all: print(forward_all().to_string(index=False))
