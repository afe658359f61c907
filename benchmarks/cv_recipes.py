"""Compare recipe variants without looking at the test split: stratified k-fold cross-validation on train + val.

    python benchmarks/cv_recipes.py --dataset breastmnist [--preset breastmnist-fast] [--folds 5] [--seeds 0 1] [--device cuda]
        [--data-root DIR] [--set train.amp=off ...]
        --candidate base 'data.augment="none"' --candidate flip 'data.augment={"flip":true,"shift":0,"jitter":0}' ...
        [--min-se 2] [--rule acc|either] [--jsonl rows.jsonl] [--out cv.md] [--chosen chosen.txt]
    python benchmarks/cv_recipes.py --rows rows_*.jsonl [--min-se 2] [--rule either] [--out cv.md]   # the table of rows written earlier (--jsonl)

For each seed the train and val images are pooled and cut into `--folds` stratified folds (the cut depends on the seed only, so
every candidate sees the same folds). Each fold is held out once: the candidate (the preset plus its overrides) trains on the other
folds, ends with its last epoch's weights, and predicts the held-out fold. The out-of-fold predictions cover every pooled image once;
their AUC and ACC (this package's metrics, the official definitions) are the candidate's score for that seed. On BreastMNIST that is
624 images scored per seed, against 78 in the val split.

Rule (fixed before any run): the first candidate is the baseline; a candidate replaces it only if its mean out-of-fold AUC and its
mean out-of-fold ACC are both higher and, with `--min-se z`, its mean per-seed ACC gain over the baseline (paired by seed: same folds)
is at least z standard errors of that gain; among those, the highest mean ACC wins. `--chosen` writes the winner's overrides, one per
line. Only seeds on which every candidate finished count (`--rows` can collect rows of runs cut short).
`--rule either` is for a change that should cost neither metric: neither mean gain may be below zero, and at least one must be above
zero (and at least z standard errors of its per-seed gains).

Candidates whose overrides differ only in `eval.*` keys (e.g. `eval.tta="hflip"`, test-time flips) share one set of fold models per
seed, so they are compared on the same weights. Rows also hold the AUC and ACC of each held-out fold on its own (`fold_auc`, `fold_acc`).
Candidates must end with the last epoch's weights (`train.restore_best: false`): the held-out fold must not pick the epoch.
The logic is `medcls_nb.benchmark` (`run_candidates`, `complete`, `choose`, `cv_table`); the data folder defaults to `$MEDCLS_DATA`.
"""
import argparse, os
from pathlib import Path
from medcls_nb.benchmark import choose, complete, cv_head, cv_table, read_rows, run_candidates
from medcls_nb.recipes import ConfigError


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='breastmnist')
    p.add_argument('--preset', default='{dataset}-fast')
    p.add_argument('--data-root', default=None, help="folder of the MedMNIST .npz files (default: $MEDCLS_DATA, else medmnist's)")
    p.add_argument('--device', default='cpu')
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--set', nargs='*', default=[], help='overrides for every candidate, e.g. train.amp=off')
    p.add_argument('--candidate', nargs='+', action='append', metavar='NAME [KEY=VALUE ...]',
                   help='a named variant: the preset plus these overrides; the first one is the baseline')
    p.add_argument('--min-se', type=float, default=0., help='a winning ACC gain must be at least this many standard errors (0: any gain)')
    p.add_argument('--rule', choices=['acc', 'either'], default='acc',
                   help="acc: AUC and ACC gains > 0, the ACC gain counts; either: neither gain < 0, one of them counts")
    p.add_argument('--jsonl', default=None, help='append each (candidate, seed) row to this file as it finishes')
    p.add_argument('--rows', nargs='+', default=None, help='no training: the table of the rows in these --jsonl files')
    p.add_argument('--only', nargs='+', default=None, metavar='NAME', help='with --rows: only these candidates (the first stays the baseline)')
    p.add_argument('--out', default=None, help='also write the table (markdown) here')
    p.add_argument('--chosen', default=None, help="write the winner's overrides here, one KEY=VALUE per line")
    a = p.parse_args()
    if a.rows: rows = read_rows(a.rows)
    elif a.candidate:
        os.environ.setdefault('HF_HUB_OFFLINE', '1')
        try:
            rows = run_candidates(a.candidate, a.dataset, a.preset, a.data_root, a.device, a.folds, a.seeds, a.set, a.jsonl,
                                  log=lambda r: print(r, flush=True))
        except ConfigError as e: raise SystemExit(str(e))
    else: p.error('give --candidate (to train) or --rows (to tabulate)')
    if a.only: rows = [r for r in rows if r['candidate'] in a.only]
    rows = complete(sorted(rows, key=lambda r: (r['order'], r['seed'])))
    if not rows: raise SystemExit('no seed has a row for every candidate')
    t = cv_table(rows, cv_head(rows), a.min_se, a.rule)
    print(t)
    if a.out: Path(a.out).write_text(t + '\n')
    if a.chosen:
        ovr = next(r['overrides'] for r in rows if r['candidate'] == choose(rows, a.min_se, a.rule))
        Path(a.chosen).write_text(''.join(f'{kv}\n' for kv in ovr))


if __name__ == '__main__':
    main()
