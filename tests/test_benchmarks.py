"""The benchmark scripts as command lines: each one's --help, and the table modes of cv_recipes.py and medmnist_v2.py.
The logic they call (folds, the paired rule, tables from logs) is tested in nbs/11_benchmark.ipynb."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT/'benchmarks/results'
SCRIPTS = sorted(p.name for p in (ROOT/'benchmarks').glob('*.py'))


def run(*args, check=True):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=check,
                          env={**os.environ, 'HF_HUB_OFFLINE': '1'})


def test_help():
    "Every script's --help works (run side by side: each one imports torch)"
    procs = {s: subprocess.Popen([sys.executable, f'benchmarks/{s}', '--help'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, 'HF_HUB_OFFLINE': '1'}) for s in SCRIPTS}
    for s, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.startswith('usage:'), (s, err[-2000:])
        assert '--data ' not in out and '--root ' not in out, s    # the data folder is --data-root everywhere


def rows(**scores):
    return [dict(candidate=n, overrides=[], seed=s, auc=a, acc=c, wall_s=1.) for n, per_seed in scores.items()
            for s, (a, c) in enumerate(per_seed)]


def test_rows_mode_tabulates_only_the_seeds_every_candidate_finished(tmp_path):
    full = rows(base=[(0.85, 0.80), (0.85, 0.82), (0.9, 0.9)], flip=[(0.86, 0.82), (0.86, 0.86)])   # flip lacks seed 2
    meta = dict(folds=5, dataset='breastmnist', n_images=624, preset='breastmnist-fast', common=[], device='cpu', torch='x')
    (tmp_path/'rows.jsonl').write_text(''.join(json.dumps({**r, **meta, 'order': int(r['candidate'] == 'flip')}) + '\n' for r in full))
    out = run('benchmarks/cv_recipes.py', '--rows', tmp_path/'rows.jsonl', '--min-se', '2', '--chosen', tmp_path/'chosen.txt').stdout
    assert 'seeds [0, 1],' in out and '| base | - | 0.8500, 0.8500 |' in out
    assert 'chosen by the rule; a gain counts from 2 standard errors: **flip**' in out
    assert (tmp_path/'chosen.txt').read_text() == ''     # rows() gives no overrides


def test_a_candidate_that_restores_the_best_epoch_is_refused_before_training():
    r = run('benchmarks/cv_recipes.py', '--dataset', 'synthetic', '--preset', 'demo', '--candidate', 'base', check=False)
    assert r.returncode == 1 and 'restores the best epoch' in r.stderr and 'Traceback' not in r.stderr


@pytest.mark.skipif(not RESULTS.exists(), reason='no committed results')
def test_committed_tables_come_out_of_the_committed_logs(tmp_path):
    logs = [RESULTS/f'medmnist_v2_{n}_cpu.log' for n in ('breastmnist_breastmnist-fast', 'breastmnist_reference',
                                                        'pneumoniamnist_pneumoniamnist-fast', 'pneumoniamnist_reference')]
    run('benchmarks/medmnist_v2.py', '--from-log', *logs, '--seeds', '0', '1', '2', '--out', tmp_path/'t.md')
    assert (tmp_path/'t.md').read_text() in (RESULTS/'medmnist_v2_all_fast_cpu.md').read_text()
    out = run('benchmarks/cv_recipes.py', '--rows', RESULTS/'cv_recipes_breastmnist_flip-shift_h100.jsonl', '--min-se', '2',
              '--only', 'base', 'flip', 'flip_shift', 'shift').stdout
    assert out in (RESULTS/'cv_recipes_breastmnist_flip-shift_h100.md').read_text()


def test_results_follow_the_naming_scheme_and_hold_no_absolute_paths():
    "{script}_{dataset}_{recipe}_{device}.{ext}; every file is listed in benchmarks/README.md"
    readme = (ROOT/'benchmarks/README.md').read_text()
    scripts = [s[:-3] for s in SCRIPTS]
    for f in RESULTS.iterdir():
        script = next((s for s in scripts if f.name.startswith(s + '_')), None)
        assert script, f'{f.name}: no script of that name'
        assert len(f.name[len(script) + 1:].split('.')[0].split('_')) == 3, f'{f.name}: not {{script}}_{{dataset}}_{{recipe}}_{{device}}'
        assert f.name in readme, f'{f.name} is not listed in benchmarks/README.md'
        assert '/work/' not in f.read_text() and '/home/' not in f.read_text(), f'{f.name} holds an absolute path'
