"Resume across processes: a run killed with SIGKILL in the middle of an epoch and resumed from `last.pt` ends with exactly the weights of an uninterrupted run."
import os, signal, subprocess, sys, textwrap
import pytest, torch

SCRIPT = textwrap.dedent('''
    import os, signal, sys, torch
    from collections import OrderedDict
    from pathlib import Path
    from torch import nn
    from medcls_nb.data import synthetic_dataset, BatchLoader, Augment
    from medcls_nb.losses import loss_for
    from medcls_nb.finetune import get_strategy
    from medcls_nb.train import fit, TrainOptions
    torch.set_num_threads(1)
    run_dir, mode = Path(sys.argv[1]), sys.argv[2]

    class Net(nn.Module):  # BaseModel's interface, small: dropout, BatchNorm, layer groups for gradual unfreezing
        def __init__(self):
            super().__init__()
            blk = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1, stride=2), nn.BatchNorm2d(o), nn.ReLU())
            self.backbone = nn.Sequential(OrderedDict(stem=blk(1, 8), layer1=blk(8, 16), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten()))
            self.classifier = nn.Sequential(nn.Dropout(0.3), nn.Linear(16, 2))
        def forward(self, x): return self.classifier(self.backbone(x))
        def layer_groups(self): return [self.backbone.stem, self.backbone.layer1, self.classifier]

    class KillAt:  # SIGKILLs this process at batch `b` of epoch `e`: no cleanup, no exception handlers
        def __init__(self, dl, e, b): self.dl, self.e, self.b, self.cur = dl, e, b, 0
        def __len__(self): return len(self.dl)
        def set_epoch(self, e): self.cur = e; self.dl.set_epoch(e)
        def __iter__(self):
            for i, batch in enumerate(self.dl):
                if (self.cur, i) == (self.e, self.b): os.kill(os.getpid(), signal.SIGKILL)
                yield batch

    ds = synthetic_dataset('binary', n_train=96, n_val=64, n_test=4, n_ood=0, seed=2)
    train = BatchLoader(ds.train, ds.task, 16, shuffle=True, augment=Augment(rotate=10), seed=5)
    val = BatchLoader(ds.val, ds.task, 64)
    torch.manual_seed(0); model = Net()
    opts = TrainOptions(epochs=4, lr=3e-3, warmup_epochs=1, amp='off', clip_grad=1.0, accum_steps=2, seed=7)
    fit(model, KillAt(train, 2, 3) if mode == 'kill' else train, val, ds.task, loss_for(ds.task),
        strategy=get_strategy('gradual', every=1), opts=opts, run_dir=run_dir, resume=(mode == 'resume'), progress=False)
    torch.save(model.state_dict(), run_dir/'final.pt')
''')

def _run(tmp_path, run_dir, mode):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1'}
    return subprocess.run([sys.executable, str(tmp_path/'resume_script.py'), str(run_dir), mode], env=env,
                          capture_output=True, text=True, timeout=240)

@pytest.mark.timeout(600)
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    (tmp_path/'resume_script.py').write_text(SCRIPT)
    r = _run(tmp_path, tmp_path/'full', 'full')
    assert r.returncode==0, r.stderr[-3000:]
    keys = {'epoch', 'model_state_dict', 'optimizer_state_dict', 'scheduler_state_dict', 'best_metric', 'config', 'model_config'}
    for f in ('best.pt', 'last.pt'):                                  # the system description's checkpoint keys, in both files
        ck = torch.load(tmp_path/'full'/f, weights_only=True)
        assert keys <= set(ck), (f, keys-set(ck))

    r = _run(tmp_path, tmp_path/'cut', 'kill')
    assert r.returncode==-signal.SIGKILL, (r.returncode, r.stderr[-3000:])
    ck = torch.load(tmp_path/'cut'/'last.pt', weights_only=True)
    assert ck['epoch']==2 and len(ck['history'])==2                  # killed during epoch 2: epochs 0-1 are on disk
    assert not (tmp_path/'cut'/'final.pt').exists()
    assert not [f for f in os.listdir(tmp_path/'cut') if f.endswith('.tmp')]

    r = _run(tmp_path, tmp_path/'cut', 'resume')
    assert r.returncode==0, r.stderr[-3000:]
    a = torch.load(tmp_path/'full'/'final.pt', weights_only=True)
    b = torch.load(tmp_path/'cut'/'final.pt', weights_only=True)
    assert a.keys()==b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]  # bit-identical
    la = torch.load(tmp_path/'full'/'last.pt', weights_only=True); lb = torch.load(tmp_path/'cut'/'last.pt', weights_only=True)
    assert all(torch.equal(la['model_state_dict'][k], lb['model_state_dict'][k]) for k in la['model_state_dict'])
    drop = lambda h: [{k: v for k, v in row.items() if k not in ('time_s', 'train_img_s')} for row in h]
    assert drop(la['history'])==drop(lb['history'])
