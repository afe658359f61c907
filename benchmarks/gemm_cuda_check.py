"""GemmConv2d against nn.Conv2d on CUDA: outputs and gradients (fp32), and under bf16 autocast; then one training step's time with
gemm_conv_max 0 and 2. Its log (results/gemm_cuda_h100.md) was taken before GemmConv2d fell back to the ordinary convolution off the CPU;
with today's code both sides run cuDNN, so it now checks the fallback. Figures only, besides the equality asserts.

    python benchmarks/gemm_cuda_check.py
"""
import time, torch
from torch import nn
from medcls_nb.models import GemmConv2d, ModelFactory
dev = torch.device('cuda'); torch.backends.cudnn.allow_tf32 = False; torch.backends.cuda.matmul.allow_tf32 = False
for kw, side in ((dict(kernel_size=3, padding=1, bias=False), 2), (dict(kernel_size=1, stride=2, bias=True), 5), (dict(kernel_size=(3, 5), dilation=(2, 1), stride=(1, 2)), 7)):
    torch.manual_seed(0)
    ref = nn.Conv2d(8, 16, **kw).to(dev); g = GemmConv2d(8, 16, **kw).to(dev); g.load_state_dict(ref.state_dict())
    x = torch.randn(4, 8, side, side + 1, device=dev, requires_grad=True); x2 = x.detach().clone().requires_grad_()
    a, b = ref(x), g(x2); a.square().sum().backward(); b.square().sum().backward()
    err = max((a - b).abs().max().item(), (x.grad - x2.grad).abs().max().item(), (ref.weight.grad - g.weight.grad).abs().max().item())
    with torch.autocast('cuda', torch.bfloat16): ab, bb = ref(x), g(x2)
    print(f'{kw} side {side}: fp32 max abs diff {err:.2e}; bf16 autocast dtypes {ab.dtype} {bb.dtype}, max abs diff {(ab.float() - bb.float()).abs().max().item():.2e}')
    assert err < 1e-4 and bb.dtype == ab.dtype
torch.backends.cudnn.benchmark = True
for gm in (0, 2):
    torch.manual_seed(0)
    m = ModelFactory.create('resnet', 'resnet18', num_classes=2, in_chans=1, img_size=28, small_stem='pool', gemm_conv_max=gm).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), 2e-3)
    x = torch.randn(64, 1, 28, 28, device=dev).contiguous(memory_format=torch.channels_last); y = torch.randint(0, 2, (64,), device=dev)
    def step():
        with torch.autocast('cuda', torch.bfloat16): loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(20): step()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(200): step()
    torch.cuda.synchronize(); dt = (time.perf_counter() - t0) / 200
    print(f'gemm_conv_max {gm}: one training step (batch 64, bf16 autocast) {dt*1e3:.2f} ms, {64/dt:.0f} img/s')
