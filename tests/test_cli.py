"The `medcls` console command end to end, in subprocesses: train / evaluate / predict / report / demo on synthetic data, exit codes, files, errors."
import json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest

MEDCLS = Path(sys.executable).parent/'medcls'
QUICK = ['--architecture', 'timm', '--variant', 'test_resnet', '--epochs', '2', '--batch-size', '64', '--set', 'model.small_stem=false',
         'model.dropout_rate=0.3', 'data.synthetic.n_train=192', 'data.synthetic.n_val=96', 'data.synthetic.n_test=96', 'data.synthetic.n_ood=32']

def medcls(*args, timeout=300):
    cmd = [str(MEDCLS)] if MEDCLS.exists() else [sys.executable, '-c', 'import sys; from medcls_nb.cli import main; sys.exit(main())']
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1'}
    return subprocess.run(cmd+[str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp('cli')/'run'
    r = medcls('train', *QUICK, '--out', d, '--no-progress')
    assert r.returncode==0, r.stderr[-3000:]
    assert 'run folder:' in r.stdout and sum(l.startswith('epoch ') for l in r.stdout.splitlines())==2
    return d

def test_train_writes_run_folder(run):
    assert sorted(os.listdir(run))==['best.pt', 'config.yaml', 'history.csv', 'last.pt']
    assert len((run/'history.csv').read_text().strip().splitlines())==3   # header + 2 epochs

def test_evaluate_report_predict(run, tmp_path):
    r = medcls('evaluate', run)
    assert r.returncode==0, r.stderr[-3000:]
    m = json.loads((run/'metrics.json').read_text())
    assert {'test', 'calibration', 'temperature', 'selective'} <= set(m) and 0<=m['test']['auc']<=1
    assert (run/'predictions.npz').exists()
    r = medcls('report', run)
    assert r.returncode==0, r.stderr[-3000:]
    assert 'report.html' in r.stdout
    assert {'report.md', 'report.html'} <= set(os.listdir(run))
    assert sorted(os.listdir(run/'plots'))==['reliability.png', 'risk_coverage.png', 'training.png']
    from PIL import Image
    from medcls_nb.recipes import load_config, build_data
    ds = build_data(load_config(run/'config.yaml'))
    Image.fromarray(ds.test.images[0]).save(tmp_path/'a.png'); np.save(tmp_path/'b.npy', ds.test.images[1].astype(np.float32)/255)
    r = medcls('predict', run, tmp_path/'a.png', tmp_path/'b.npy', '--out', tmp_path/'p.csv')
    assert r.returncode==0, r.stderr[-3000:]
    import pandas as pd
    df = pd.read_csv(tmp_path/'p.csv')
    assert list(df.file)==[str(tmp_path/'a.png'), str(tmp_path/'b.npy')] and set(df.prediction) <= {'class 0', 'class 1'}
    assert np.allclose(df[['p[class 0]', 'p[class 1]']].sum(axis=1), 1, atol=1e-5)

def test_resume_continues_a_run(run, tmp_path):
    import shutil
    d = tmp_path/'r'; shutil.copytree(run, d)
    r = medcls('train', *QUICK, '--epochs', '3', '--out', d, '--resume', '--no-progress')
    assert r.returncode==0, r.stderr[-3000:]
    assert sum(l.startswith('epoch ') for l in r.stdout.splitlines())==1   # only the third epoch ran
    assert len((d/'history.csv').read_text().strip().splitlines())==4

def test_demo_prints_report(tmp_path):
    r = medcls('demo', '--out', tmp_path/'demo', '--no-progress', '--set', 'model.architecture=timm', 'model.variant=test_resnet',
               'model.small_stem=false', 'train.epochs=1', 'data.synthetic.n_train=128', 'data.synthetic.n_val=64',
               'data.synthetic.n_test=64', 'data.synthetic.n_ood=32', 'eval.mc_samples=2')
    assert r.returncode==0, r.stderr[-3000:]
    assert f"report: {tmp_path/'demo'/'report.html'}" in r.stdout
    assert {'report.html', 'report.md', 'metrics.json', 'history.csv', 'config.yaml'} <= set(os.listdir(tmp_path/'demo'))

def test_presets_lists_recipes():
    r = medcls('presets')
    names = ('medmnist-v2', 'medmnist-fast', 'breastmnist-fast', 'pneumoniamnist-fast', 'pathmnist', 'chestmnist', 'dermamnist')
    assert r.returncode==0 and all(n in r.stdout for n in names)
    assert max(map(len, r.stdout.splitlines())) <= 160   # readable: rationales are wrapped paragraphs, not table cells

@pytest.mark.parametrize('yaml_text,msg', [
    ('model: {architecture: resnet, varient: resnet50}\n', 'unknown key config.model.varient (did you mean config.model.variant?)'),
    ('train: {optimizer: adamx}\n', 'TrainOptions.optimizer must be one of'),
    ('train: {epochs: many}\n', 'config.train.epochs must be int'),
    ('data: {dataset: mnist}\n', "data.dataset 'mnist' is unknown"),
    ('model: {architecture: resnet, variant: resnet19}\n', 'unknown resnet variant'),
    ('loss: {name: weighted_bce}\n', 'loss.name'),
    ('- just\n- a list\n', 'a config must be a mapping'),
    ('train: {lr: [1\n', 'is not valid YAML'),
])
def test_bad_config_is_a_clear_error(tmp_path, capsys, yaml_text, msg):
    from medcls_nb.cli import main   # in-process: the same `main` the console script calls
    (tmp_path/'c.yaml').write_text(yaml_text)
    assert main(['train', str(tmp_path/'c.yaml'), '--out', str(tmp_path/'run')])==2
    err = capsys.readouterr().err
    assert msg in err and err.startswith('medcls train: error:'), err
    assert not (tmp_path/'run').exists()                               # nothing built or written

def test_bad_config_exit_status(tmp_path):
    (tmp_path/'c.yaml').write_text('train: {epoch: 3}\n')
    r = medcls('train', tmp_path/'c.yaml', '--out', tmp_path/'run')
    assert r.returncode==2 and 'did you mean config.train.epochs' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_bad_flags_and_paths(tmp_path, capsys):
    from medcls_nb.cli import main
    cases = [(['train', 'no-such-preset', '--out', str(tmp_path/'x')], 'no preset of that name'),
             (['train', '--set', 'train.lr', '--out', str(tmp_path/'x')], '--set needs key=value'),
             (['evaluate', str(tmp_path)], 'is not a run folder'),
             (['train', '--dataset', 'breastmnist', '--data-root', str(tmp_path), '--out', str(tmp_path/'x')], 'breastmnist.npz not found')]
    for args,msg in cases:
        assert main(args)==2, args
        assert msg in capsys.readouterr().err, args
