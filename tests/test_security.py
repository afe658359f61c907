"Checkpoints are loaded with weights_only=True: a file carrying a pickled payload is refused and the payload never runs."
import os, shutil, subprocess, sys
from pathlib import Path
import pytest, torch
from medcls_nb.train import load_checkpoint, CheckpointError

class Payload:
    "Unpickling this creates the file `path` (a harmless stand-in for running arbitrary code)"
    def __init__(self, path): self.path = str(path)
    def __reduce__(self): return (open, (self.path, 'w'))

def poison(path, marker):
    ck = torch.load(path, weights_only=True) if Path(path).exists() else {'model_state_dict': {}}
    ck['config'] = Payload(marker)
    torch.save(ck, path)

def test_load_checkpoint_refuses_pickled_payload(tmp_path):
    marker = tmp_path/'pwned'; p = tmp_path/'evil.pt'
    poison(p, marker)
    with pytest.raises(CheckpointError, match='refusing to load'): load_checkpoint(p)
    assert not marker.exists()
    with pytest.raises(Exception): torch.load(p, weights_only=True)    # plain torch.load with weights_only refuses too
    assert not marker.exists()

def test_plain_checkpoint_loads(tmp_path):
    torch.save({'epoch': 3, 'model_state_dict': {'w': torch.ones(2)}, 'best_metric': 0.9, 'config': {'a': [1, 2]}}, tmp_path/'ok.pt')
    assert load_checkpoint(tmp_path/'ok.pt')['epoch']==3

def _medcls(*args):
    exe = Path(sys.executable).parent/'medcls'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-c', 'import sys; from medcls_nb.cli import main; sys.exit(main())']
    return subprocess.run(cmd+[str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'})

def test_cli_refuses_poisoned_run(tmp_path):
    run = tmp_path/'run'
    r = _medcls('train', '--architecture', 'timm', '--variant', 'test_resnet', '--epochs', '1', '--no-progress', '--out', run, '--set',
                'model.small_stem=false', 'data.synthetic.n_train=64', 'data.synthetic.n_val=32', 'data.synthetic.n_test=32', 'data.synthetic.n_ood=0')
    assert r.returncode==0, r.stderr[-3000:]
    marker = tmp_path/'pwned'
    poison(run/'best.pt', marker); poison(run/'last.pt', marker)
    for args in (('evaluate', run), ('train', '--architecture', 'timm', '--variant', 'test_resnet', '--epochs', '2', '--out', run, '--resume',
                                     '--set', 'model.small_stem=false', 'data.synthetic.n_train=64', 'data.synthetic.n_val=32',
                                     'data.synthetic.n_test=32', 'data.synthetic.n_ood=0')):
        r = _medcls(*args)
        assert r.returncode==2 and 'refusing to load' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert not marker.exists()
