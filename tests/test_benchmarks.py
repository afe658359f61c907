"The selection logic of benchmarks/cv_recipes.py: folds that hold every image out once, and the rule that picks a recipe"
import importlib.util, sys
from pathlib import Path
import numpy as np
from medcls_nb.data import Task

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('cv_recipes', ROOT/'benchmarks/cv_recipes.py')
cv = importlib.util.module_from_spec(spec); spec.loader.exec_module(cv)


def test_folds_hold_each_image_out_once_and_keep_class_shares():
    y = np.array([0]*42 + [1]*114)[:, None]          # BreastMNIST-like imbalance
    fs = cv.folds(y, Task('binary', 2), 5, seed=0)
    held = np.concatenate([ho for _, ho in fs])
    assert sorted(held.tolist()) == list(range(len(y)))
    for tr, ho in fs:
        assert not set(tr) & set(ho) and len(tr) + len(ho) == len(y)
        assert abs((y[ho, 0] == 0).sum() - 42/5) <= 1     # stratified: each fold gets its share of the minority class
    assert [ho.tolist() for _, ho in fs] == [ho.tolist() for _, ho in cv.folds(y, Task('binary', 2), 5, seed=0)]   # seeded
    assert [ho.tolist() for _, ho in fs] != [ho.tolist() for _, ho in cv.folds(y, Task('binary', 2), 5, seed=1)]


def rows(**scores):
    return [dict(candidate=n, overrides=[], seed=s, auc=a, acc=c, wall_s=1.) for n, per_seed in scores.items() for s, (a, c) in enumerate(per_seed)]


def test_rule_needs_both_means_higher_then_takes_the_best_acc():
    base = [(0.85, 0.82), (0.85, 0.84)]
    assert cv.choose(rows(base=base, auc_only=[(0.90, 0.80), (0.90, 0.80)], acc_only=[(0.80, 0.90), (0.80, 0.90)])) == 'base'
    assert cv.choose(rows(base=base, a=[(0.86, 0.84), (0.86, 0.84)], b=[(0.90, 0.835), (0.90, 0.835)])) == 'a'
    assert cv.choose(rows(base=base, tie=[(0.85, 0.83), (0.85, 0.83)])) == 'base'     # equal is not better
    t = cv.table(rows(base=base, a=[(0.86, 0.84), (0.86, 0.84)]), 'head')
    assert 'chosen by the rule: **a**' in t and '| a | - | 0.8600, 0.8600 | 0.8600 |' in t


def test_paired_rule_needs_the_gain_to_clear_its_standard_errors():
    # gains of 'steady' over base per seed: +0.02, +0.04 (mean 0.03, SE 0.01); 'noisy' gains +0.10, -0.06 (mean 0.02, SE 0.08)
    base = [(0.85, 0.80), (0.85, 0.82)]
    r = rows(base=base, steady=[(0.86, 0.82), (0.86, 0.86)], noisy=[(0.86, 0.90), (0.86, 0.76)])
    m, se = cv.gain(r, 'steady', 'acc')
    assert abs(m - 0.03) < 1e-9 and abs(se - 0.01) < 1e-9
    assert cv.choose(r) == 'steady' and cv.choose(r, min_se=2) == 'steady' and cv.choose(r, min_se=3.5) == 'base'
    assert cv.beats(r, 'noisy') and not cv.beats(r, 'noisy', min_se=1)
    assert '+0.0300 ± 0.0100 | yes |' in cv.table(r, 'head', min_se=2)


def test_rows_mode_tabulates_only_the_seeds_every_candidate_finished(tmp_path):
    import json, subprocess
    full = rows(base=[(0.85, 0.80), (0.85, 0.82), (0.9, 0.9)], flip=[(0.86, 0.82), (0.86, 0.86)])   # flip lacks seed 2
    meta = dict(folds=5, dataset='breastmnist', n_images=624, preset='breastmnist-fast', common=[], device='cpu', torch='x')
    (tmp_path/'rows.jsonl').write_text(''.join(json.dumps({**r, **meta, 'order': int(r['candidate'] == 'flip')}) + '\n' for r in full))
    out = subprocess.run([sys.executable, str(ROOT/'benchmarks/cv_recipes.py'), '--rows', str(tmp_path/'rows.jsonl'), '--min-se', '2',
                          '--chosen', str(tmp_path/'chosen.txt')], capture_output=True, text=True, check=True).stdout
    assert 'seeds [0, 1],' in out and '| base | - | 0.8500, 0.8500 |' in out and 'chosen by the rule; a gain counts from 2 standard errors: **flip**' in out
    assert (tmp_path/'chosen.txt').read_text() == ''     # rows() gives no overrides


def test_either_rule_takes_a_counted_gain_in_one_metric_if_the_other_does_not_drop():
    # 'tta' over base, per seed: AUC +0.01, +0.03 (mean 0.02, SE 0.01), ACC +0, +0; 'trade' gains AUC the same way but loses ACC
    base = [(0.85, 0.80), (0.85, 0.82)]
    r = rows(base=base, tta=[(0.86, 0.80), (0.88, 0.82)], trade=[(0.86, 0.79), (0.88, 0.81)])
    assert not cv.beats(r, 'tta', min_se=2)                          # the ACC rule needs an ACC gain
    assert cv.beats(r, 'tta', min_se=2, rule='either') and not cv.beats(r, 'tta', min_se=2.5, rule='either')
    assert not cv.beats(r, 'trade', rule='either')                   # an ACC loss rules it out
    assert cv.choose(r, 2, 'either') == 'tta' and '| +0.0200 ± 0.0100 | +0.0000 ± 0.0000 | yes |' in cv.table(r, 'h', 2, 'either')


def test_candidates_that_differ_only_in_eval_settings_share_fold_models():
    cands = [['flip'], ['flip_tta', 'eval.tta="hflip"'], ['base', 'data.augment="none"'], ['base_tta', 'eval.tta="hflip"', 'data.augment="none"']]
    assert cv.shared_training(cands) == [[0, 1], [2, 3]]


def test_eval_only_candidates_are_scored_on_the_same_fold_models():
    from medcls_nb.recipes import load_config, build_data
    ovr = {'train.epochs': 1, 'data.synthetic.n_train': 120, 'data.synthetic.n_val': 40, 'train.restore_best': False}
    plain, tta = load_config('demo', ovr), load_config('demo', {**ovr, 'eval.tta': 'hflip'})
    ds = build_data(plain)
    a, b, c = cv.oof_scores([plain, plain, tta], ds, 2, 'cpu')
    assert a == b                                                    # one set of fold models: identical scores for identical settings
    assert len(a['fold_auc']) == 2 and a['auc'] != c['auc']          # per-fold scores kept; the mirror views change the predictions
