#!/usr/bin/env bash
# The GPU runs behind benchmarks/results/*cuda_h100* and gemm_cuda_h100.md, as one script (run from the repository root on a
# CUDA machine; DATA holds breastmnist.npz and pneumoniamnist.npz; OUT receives the logs and tables).
#   DATA=path/to/medmnist OUT=out bash benchmarks/gpu_session.sh [gemm]
# With `gemm`, it first runs what was measured before GemmConv2d fell back to cuDNN off the CPU: the equality and step-time check,
# and the benchmark with gemm_conv_max 0 (with today's code the preset run is the same thing).
set -o pipefail
DATA=${DATA:-../shared/data/medmnist}; OUT=${OUT:-benchmarks/results/gpu}; mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
B="python3 benchmarks/medmnist_v2.py --device cuda --data $DATA"
if [ "$1" = gemm ]; then
  python3 benchmarks/gemm_cuda_check.py 2>&1 | tee "$OUT/gemm_cuda_check.log" || exit 1
  $B --set model.gemm_conv_max=0 --ref-batches 0 2>&1 | grep -v Warning | tee "$OUT/medmnist_v2_cuda_gemm0.log"
fi
# today's presets, bf16 autocast, data on the GPU, 3 seeds, and the reference pipeline timed on the same machine
$B 2>&1 | grep -v Warning | tee "$OUT/medmnist_v2_cuda.log"
# the recipe comparison without the test split (5-fold cross-validation on train + val, fp32 like the CPU recipe); the rule is in cv_recipes.py
python3 benchmarks/cv_recipes.py --device cuda --data "$DATA" --dataset breastmnist --folds 5 --seeds 0 1 --set "train.amp='off'" \
  --candidate base 'data.augment="none"' --candidate hflip 'data.augment={"flip":true}' --candidate smooth loss.label_smoothing=0.1 --candidate wce loss.name=weighted_ce \
  --chosen "$OUT/cv_chosen.txt" 2>&1 | grep -v Warning | tee "$OUT/cv_breastmnist_cuda.log"
# the chosen candidate's test figures on the GPU
if [ -s "$OUT/cv_chosen.txt" ]; then $B --datasets breastmnist --ref-batches 0 --set $(cat "$OUT/cv_chosen.txt") 2>&1 | grep -v Warning | tee "$OUT/medmnist_v2_cuda_breastmnist_chosen.log"; fi
# the ten-seed comparison (cv_breastmnist_10seeds_cuda_h100.md): one process per seed, side by side on the GPU, each appending its rows
# as they finish, so a run cut short still leaves complete seeds; then the table by the rule with --min-se 2
for s in 0 1 2 3 4 5 6 7 8 9; do
  OMP_NUM_THREADS=1 timeout ${CV_SECONDS:-900} python3 benchmarks/cv_recipes.py --device cuda --data "$DATA" --dataset breastmnist --folds 5 --seeds $s \
    --set "train.amp='off'" --preset "{dataset}-fast" --candidate base 'data.augment="none"' --candidate flip 'data.augment={"flip":true,"shift":0,"jitter":0}' \
    --candidate flip_shift 'data.augment={"flip":true,"shift":0.05,"jitter":0}' --candidate shift 'data.augment={"flip":false,"shift":0.05,"jitter":0}' \
    --candidate light 'data.augment={"flip":true}' --jsonl "$OUT/cv_10seeds_rows.jsonl" > "$OUT/cv_10seeds_seed$s.log" 2>&1 &
done
wait
python3 benchmarks/cv_recipes.py --rows "$OUT/cv_10seeds_rows.jsonl" --min-se 2 --out "$OUT/cv_breastmnist_10seeds_cuda.md"
# the new breastmnist-fast (flips) on the GPU: test figures of 3 seeds
$B --datasets breastmnist --ref-batches 0 2>&1 | grep -v Warning | tee "$OUT/medmnist_v2_cuda_breastmnist_flip.log"
