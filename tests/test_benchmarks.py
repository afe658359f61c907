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
