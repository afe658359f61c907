"`medcls robustness` end to end in subprocesses: a synthetic run read as an X-ray, a BreastMNIST run (when the data is there), the refusals."
import json, os, subprocess, sys
from pathlib import Path
import pytest

MEDCLS = Path(sys.executable).parent/'medcls'
QUICK = ['--architecture', 'timm', '--variant', 'test_resnet', '--epochs', '2', '--batch-size', '64', '--set', 'model.small_stem=false',
         'data.synthetic.n_train=192', 'data.synthetic.n_val=96', 'data.synthetic.n_test=96', 'data.synthetic.n_ood=32',
         'eval.mc_samples=0']
DATA = os.environ.get('MEDCLS_DATA')

def medcls(*args, timeout=300):
    cmd = [str(MEDCLS)] if MEDCLS.exists() else [sys.executable, '-c', 'import sys; from medcls_nb.cli import main; sys.exit(main())']
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    return subprocess.run(cmd+[str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)

def _strict_json(path):
    def bad(c): raise ValueError(f'{path} holds {c}, which is not JSON')
    return json.loads(Path(path).read_text(), parse_constant=bad)

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp('rob')/'run'
    r = medcls('train', *QUICK, '--out', d, '--no-progress')
    assert r.returncode==0, r.stderr[-3000:]
    return d

def test_synthetic_run_needs_a_modality(run):
    "A synthetic run has no corruption set: refused in one line that says how to give one, nothing written"
    r = medcls('robustness', run)
    assert r.returncode==2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert len(r.stderr.strip().splitlines())==1
    assert "'synthetic' has no corruption set" in r.stderr and '--modality' in r.stderr and 'xray' in r.stderr
    assert not (run/'robustness.json').exists()

def test_robustness_synthetic_as_xray_then_report(run):
    r = medcls('robustness', run, '--modality', 'xray', '--corruptions', 'gaussian_noise', 'pixelate', '--severities', '1', '5')
    assert r.returncode==0, r.stderr[-3000:]
    assert 'mean corrupted' in r.stdout and 'robustness.json' in r.stdout
    j = _strict_json(run/'robustness.json')
    assert j['corruption_set']=='xray' and j['n_test']==96 and j['images_scored']==96*5
    assert [(x['corruption'], x['severity']) for x in j['corrupted']]==[('gaussian_noise', 1), ('gaussian_noise', 5), ('pixelate', 1), ('pixelate', 5)]
    for x in j['corrupted']:
        assert 0<=x['balanced_error']<=1 and 0<=x['augrc']<=x['error_rate']+1e-12 and 0<=x['ece']<=1
    s = j['summary']
    mean_be = sum(x['balanced_error'] for x in j['corrupted'])/4
    assert abs(s['mean_corrupted_balanced_error']-mean_be)<1e-9
    assert abs(s['balanced_error_increase']-(mean_be-j['clean']['balanced_error']))<1e-9
    assert (run/'plots'/'robustness.png').stat().st_size>1000
    r = medcls('report', run)
    assert r.returncode==0, r.stderr[-3000:]
    md = (run/'report.md').read_text()
    assert 'Robustness: balanced error under the xray corruptions' in md and 'plots/robustness.png' in md
    assert '95 % bootstrap intervals' in md and 'Class-wise recall' in md

def test_robustness_same_seed_same_numbers(run):
    "The Python entry point: corruptions are seeded, so one seed gives the same numbers twice and another seed other ones"
    from medcls_nb.robustness import robustness_eval
    kw = dict(modality='xray', corruptions=['impulse_noise'], severities=[5], write=False)
    a,b,c = (robustness_eval(run, seed=s, **kw)['corrupted'][0] for s in (3, 3, 4))
    assert a==b and a['nll']!=c['nll']

@pytest.mark.parametrize('args,says', [
    (['--modality', 'xray', '--corruptions', 'fog'], ["'fog'", 'no such corruption', 'its corruptions: pixelate, jpeg_compression']),
    (['--modality', 'xray', '--corruptions', 'saturate'], ['saturate', 'defined for pathmnist, bloodmnist', 'gamma_corr_down']),
    (['--modality', 'dermoscopy', '--corruptions', 'characters'], ['characters', 'draws no text']),
    (['--modality', 'xray', '--severities', '0'], ['severities must be integers from 1 to 5']),
    (['--modality', 'xray', '--severities', '6'], ['from 1 to 5']),
    (['--modality', 'mri'], ['no corruption set', 'choose a modality', 'ultrasound']),
])
def test_refusals(run, args, says, capsys):
    "Bad input: exit status 2 and one line naming what was wrong and what would work (in-process `main`, as the shell runs it)"
    from medcls_nb.cli import main
    assert main(['robustness', str(run), *args])==2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines())==1 and all(s in err for s in says), err

def test_not_a_run_folder(tmp_path, capsys):
    from medcls_nb.cli import main
    assert main(['robustness', str(tmp_path), '--modality', 'xray'])==2 and 'not a run folder' in capsys.readouterr().err

@pytest.mark.skipif(not DATA or not (Path(DATA)/'breastmnist.npz').exists(), reason='needs MEDCLS_DATA with breastmnist.npz')
def test_breastmnist_run(tmp_path, capsys):
    "A BreastMNIST run (one epoch of a tiny network): its own ultrasound set applies without --modality; X-ray-only corruptions are refused"
    d = tmp_path/'breast'
    r = medcls('train', 'breastmnist-fast', '--epochs', '1', '--architecture', 'timm', '--variant', 'test_resnet', '--set',
               'model.small_stem=false', '--out', d, '--no-progress', '--no-eval')
    assert r.returncode==0, r.stderr[-3000:]
    from medcls_nb.cli import main
    assert main(['robustness', str(d), '--corruptions', 'gaussian_noise'])==2
    err = capsys.readouterr().err
    assert 'defined for chestmnist' in err and 'speckle_noise' in err, err          # why, and the valid ones
    r = medcls('robustness', d, '--corruptions', 'speckle_noise', 'brightness_down', '--severities', '3')
    assert r.returncode==0, r.stderr[-3000:]
    j = _strict_json(d/'robustness.json')
    assert j['corruption_set']=='breastmnist' and j['n_test']==156 and len(j['corrupted'])==2
