"""Complexity table of every registered variant at 28 and 224 px: parameters, MACs/FLOPs, peak activation memory
for a batch of 64 (meta device, so every variant) and CPU latency at batch 1 and 64 where a forward is affordable here.

    HF_HUB_OFFLINE=1 python benchmarks/complexity.py [--max-gflops 150] [--threads N] [--sizes 28 224] [--repeats 3] [--csv out.csv]

Latency is the median of `--repeats` forwards after one warm-up, in eval mode under `torch.inference_mode`, with `--threads`
CPU threads (default: torch's); a batch whose forward needs more than `--max-gflops` GFLOPs is reported as "not timed".
The header line gives the machine, the threads and the load average before and after, since other work on the machine slows timings.
"""
import argparse, os, platform, time
import torch
from medcls_nb.models import complexity_table

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--max-gflops', type=float, default=150., help='time only batches needing at most this many GFLOPs')
    ap.add_argument('--sizes', type=int, nargs='+', default=[28, 224])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads for the timings')
    ap.add_argument('--variants', nargs='*', default=None, help='architecture/variant, e.g. resnet/resnet18 (default: all)')
    ap.add_argument('--csv', default=None, help='also write the table here')
    a = ap.parse_args()
    variants = [tuple(v.split('/', 1)) for v in a.variants] if a.variants else None
    if a.threads: torch.set_num_threads(a.threads)
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    df = complexity_table(variants, sizes=a.sizes, max_flops=a.max_gflops*1e9, repeats=a.repeats)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"latency timed up to {a.max_gflops:g} GFLOPs per batch; {time.perf_counter()-t0:.0f} s; load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    with __import__('pandas').option_context('display.width', 250, 'display.max_columns', 20):
        print(df.round(2).to_string(index=False, na_rep='not timed'))
    if a.csv: df.to_csv(a.csv, index=False)

if __name__ == '__main__': main()
