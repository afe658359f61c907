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

def _strict_json(path):
    "metrics.json parsed as strict JSON: NaN, Infinity and -Infinity are errors"
    def bad(c): raise ValueError(f'{path} holds {c}, which is not JSON')
    return json.loads(Path(path).read_text(), parse_constant=bad)

def test_train_writes_run_folder(run):
    "Training ends with the test evaluation, as `medcls evaluate`: metrics.json (strict JSON) and predictions.npz"
    assert sorted(os.listdir(run))==['best.pt', 'config.yaml', 'history.csv', 'last.pt', 'metrics.json', 'predictions.npz']
    assert len((run/'history.csv').read_text().strip().splitlines())==3   # header + 2 epochs
    m = _strict_json(run/'metrics.json')
    assert 0<=m['test']['auc']<=1 and m['n_test']==96

def test_train_no_eval(tmp_path):
    r = medcls('train', *QUICK, '--epochs', '1', '--out', tmp_path/'r', '--no-progress', '--no-eval')
    assert r.returncode==0, r.stderr[-3000:]
    assert sorted(os.listdir(tmp_path/'r'))==['best.pt', 'config.yaml', 'history.csv', 'last.pt'] and 'metrics:' not in r.stdout

def test_train_refuses_a_run_folder_then_overwrites(run, tmp_path):
    "A folder holding a run: refused without --resume/--overwrite; --overwrite deletes only the package's files"
    import shutil
    d = tmp_path/'r'
    shutil.copytree(run, d)
    (d/'plots').mkdir(exist_ok=True)
    (d/'plots'/'training.png').write_bytes(b'old plot')
    (d/'plots'/'mine.png').write_bytes(b'my plot')
    (d/'notes.txt').write_text('mine')
    before = {f: (d/f).read_bytes() for f in os.listdir(d) if (d/f).is_file()}
    r = medcls('train', *QUICK, '--epochs', '1', '--out', d, '--no-progress')
    assert r.returncode==2 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert len(r.stderr.strip().splitlines())==1 and 'already holds a run' in r.stderr and '--overwrite' in r.stderr
    assert {f: (d/f).read_bytes() for f in os.listdir(d) if (d/f).is_file()}==before          # nothing deleted or written
    r = medcls('train', *QUICK, '--epochs', '1', '--out', d, '--no-progress', '--overwrite', '--no-eval')
    assert r.returncode==0, r.stderr[-3000:]
    assert sorted(os.listdir(d))==['best.pt', 'config.yaml', 'history.csv', 'last.pt', 'notes.txt', 'plots']
    assert os.listdir(d/'plots')==['mine.png'] and (d/'notes.txt').read_text()=='mine'      # the old plot went, yours stayed
    assert len((d/'history.csv').read_text().strip().splitlines())==2                        # a fresh one-epoch run
    r = medcls('train', *QUICK, '--out', d, '--resume', '--overwrite')
    assert r.returncode==2 and 'exclude each other' in r.stderr

def test_evaluate_report_predict(run, tmp_path):
    r = medcls('evaluate', run)
    assert r.returncode==0, r.stderr[-3000:]
    assert 'Warning' not in r.stdout+r.stderr, r.stdout+r.stderr          # library warnings become notes in metrics.json
    m = _strict_json(run/'metrics.json')
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
    r = medcls('train', *QUICK, '--epochs', '3', '--out', d, '--resume', '--no-progress', '--no-eval')
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
    assert max(map(len, r.stdout.splitlines())) <= 100   # fits a 100-column terminal: one line per preset
    lines = {l.split()[0]: l for l in r.stdout.splitlines() if l.strip()}
    assert 'pathmnist' in lines['pathmnist'] and 'resnet/resnet50' in lines['pathmnist']

def test_presets_name_prints_one_in_full():
    import yaml
    from medcls_nb.recipes import PRESETS
    r = medcls('presets', 'pathmnist')
    assert r.returncode==0, r.stderr
    assert ' '.join(r.stdout.split()).startswith('pathmnist ' + ' '.join(PRESETS['pathmnist'].rationale.split()[:6]))
    sets = yaml.safe_load(r.stdout.split('# what it sets')[1].split('\n', 1)[1])
    assert sets['model']=={'architecture': 'resnet', 'variant': 'resnet50', 'dropout_rate': 0.2} and sets['loss']['name']=='focal'
    r = medcls('presets', 'pathmnsit')
    assert r.returncode==2 and 'unknown preset' in r.stderr and 'pathmnist' in r.stderr and 'Traceback' not in r.stderr

def _actions(parser):
    "Every (parser, action) of `parser` and its subcommands, help actions left out"
    import argparse
    for act in parser._actions:
        if isinstance(act, argparse._SubParsersAction):
            for sp in act.choices.values(): yield from _actions(sp)
        elif not isinstance(act, argparse._HelpAction): yield parser, act

def test_every_flag_has_help_choices_and_default():
    from medcls_nb.cli import build_parser
    acts = list(_actions(build_parser()))
    assert len({sp.prog for sp,_ in acts})==7                                # train evaluate report predict demo presets robustness
    for sp,act in acts:
        assert act.help, (sp.prog, act.dest)
        if act.option_strings:
            text = sp.format_help()
            assert 'default' in sp.formatter_class(sp.prog)._get_help_string(act), (sp.prog, act.dest)
            assert act.option_strings[-1] in text
    choices = {(sp.prog.split()[-1], a.dest): a.choices for sp,a in acts}
    for k in ('strategy', 'amp', 'loss', 'optimizer', 'schedule', 'augment', 'size'): assert choices[('train', k)], k
    assert 'invalid choice' in medcls('train', '--strategy', 'partial').stderr
    assert '(default: cpu)' in ' '.join(medcls('evaluate', '--help').stdout.split())

@pytest.mark.parametrize('yaml_text,msg', [
    ('model: {architecture: resnet, varient: resnet50}\n', 'unknown key config.model.varient (did you mean config.model.variant?)'),
    ('train: {optimizer: adamx}\n', 'TrainOptions.optimizer must be one of'),
    ('train: {epochs: many}\n', 'config.train.epochs must be int'),
    ('data: {dataset: mnist}\n', "data.dataset 'mnist' is unknown"),
    ('model: {architecture: resnet, variant: resnet19}\n', 'unknown resnet variant'),
    ('loss: {name: weighted_bce}\n', 'loss.name'),
    ('- just\n- a list\n', 'a config must be a mapping'),
    ('dataset: pathmnist\n', 'did you mean config.data.dataset?); write it nested:\ndata:\n  dataset: pathmnist'),
    ('architecture: vit\nvariant: vit_base\npatch_size: 16\n', 'use patch_size 4 (7x7 patches) at 28 px'),
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

def test_flat_config_as_the_description_writes_it(tmp_path):
    "The description's flat model keys train as written: they land in the model block (and num_classes shapes the stand-in data)"
    (tmp_path/'c.yaml').write_text('architecture: "timm"\nvariant: "test_resnet"\npretrained: false\nnum_classes: 3  # 3 classes\n'
                                   'dropout_rate: 0.3\n')
    r = medcls('train', tmp_path/'c.yaml', '--epochs', '1', '--no-progress', '--no-eval', '--out', tmp_path/'run', '--set',
               'data.synthetic.n_train=64', 'data.synthetic.n_val=32', 'data.synthetic.n_test=32', 'data.synthetic.n_ood=0')
    assert r.returncode==0, r.stderr[-3000:]
    from medcls_nb.recipes import load_config
    cfg = load_config(tmp_path/'run'/'config.yaml')
    assert (cfg.model.variant, cfg.model.num_classes, cfg.model.dropout_rate) == ('test_resnet', 3, 0.3)
    assert (cfg.data.synthetic.kind, cfg.data.synthetic.num_classes) == ('multiclass', 3)
