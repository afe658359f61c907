"""Why `gemm_conv_max` exists: PyTorch's CPU convolution (oneDNN) against `medcls_nb.models.GemmConv2d` (unfold + one matmul).

    python benchmarks/small_map_convs.py [--threads 2] [--batch 64]

Part 1: one 3x3 convolution (channels -> channels) at the map sizes ResNet-18's stages see at 28 px with the pooled stem
(14, 7, 4, 2 px): median forward milliseconds, and backward as the median of forward+backward minus forward.
Part 2: one whole training step (forward, backward, AdamW) of ResNet-18 (pooled stem, 28 px, channels-last) with
`gemm_conv_max` 0, 2 and 4: images per second. Figures only; nothing is asserted.
"""
import argparse, statistics, time
import torch
from torch import nn
from medcls_nb.models import GemmConv2d, ModelFactory


def median_ms(f, repeats=8, warmup=3):
    ts = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts[warmup:]) * 1e3


def conv_row(cls, c, side, bs):
    torch.manual_seed(0)
    conv = cls(c, c, 3, padding=1, bias=False).to(memory_format=torch.channels_last)
    x = torch.randn(bs, c, side, side).contiguous(memory_format=torch.channels_last).requires_grad_()
    g = torch.randn(bs, c, side, side)
    fwd = median_ms(lambda: conv(x))
    bwd = median_ms(lambda: conv(x).backward(g)) - fwd
    return fwd, bwd


def step_img_s(gemm, bs):
    torch.manual_seed(0)
    m = ModelFactory.create('resnet', 'resnet18', num_classes=2, in_chans=1, img_size=28, small_stem='pool', gemm_conv_max=gemm)
    m = m.train().to(memory_format=torch.channels_last); opt = torch.optim.AdamW(m.parameters(), 1e-3)
    x, y = torch.randn(bs, 1, 28, 28).contiguous(memory_format=torch.channels_last), torch.randint(0, 2, (bs,))
    def step(): nn.functional.cross_entropy(m(x), y).backward(); opt.step(); opt.zero_grad()
    return bs / median_ms(step, repeats=6, warmup=2) * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, default=torch.get_num_threads())
    p.add_argument('--batch', type=int, default=64)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    print(f'torch {torch.__version__}, {a.threads} threads, batch {a.batch}')
    print('\n| channels | map | oneDNN fwd ms | oneDNN bwd ms | GemmConv2d fwd ms | GemmConv2d bwd ms |\n|---:|---:|---:|---:|---:|---:|')
    for c, side in [(64, 14), (128, 7), (256, 4), (512, 2)]:
        (f0, b0), (f1, b1) = conv_row(nn.Conv2d, c, side, a.batch), conv_row(GemmConv2d, c, side, a.batch)
        print(f'| {c} | {side}x{side} | {f0:.1f} | {b0:.1f} | {f1:.1f} | {b1:.1f} |')
    print('\n| ResNet-18 training step, gemm_conv_max | img/s |\n|---|---:|')
    for gemm in (0, 2, 4): print(f'| {gemm} | {step_img_s(gemm, a.batch):.0f} |')


if __name__ == '__main__':
    main()
