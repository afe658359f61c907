"The inference benchmark script runs end to end as a subprocess and writes its table (CSV with a conditions line)."
import os, subprocess, sys
from pathlib import Path
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

def test_benchmark_script_writes_table(tmp_path):
    cmd = [sys.executable, 'benchmarks/inference.py', '--dataset', 'synthetic', '--epochs', '1', '--standard-stem',
           '--repeats', '1', '--batch-sizes', '1,8', '--threads', '2', '--out', str(tmp_path)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert r.returncode==0, r.stderr[-3000:]
    f = tmp_path/'inference_synthetic_resnet18-standard-1ep_cpu.csv'   # inference_{dataset}_{recipe}_{device}.csv
    assert sorted(p.name for p in tmp_path.iterdir())==[f.name]
    first = f.read_text().splitlines()[0]
    assert first.startswith('# torch ') and 'threads' in first and 'trained on 256' in first
    t = pd.read_csv(f, index_col=0, comment='#')
    assert list(t.index)==['fp32', 'fp32 channels_last', 'bf16 autocast', 'int8 dynamic (Linear)', 'int8 static (FX)']
    assert {'size_mb', 'ms_bs1', 'ms_bs8', 'auc', 'acc', 'd_auc', 'd_acc', 'agreement', 'max_abs_dp'} <= set(t.columns)
    assert t.loc['fp32', 'agreement']==1 and t.loc['fp32', 'max_abs_dp']==0
    assert t.loc['int8 static (FX)', 'size_mb'] < 0.3*t.loc['fp32', 'size_mb']
    assert 'fp32' in r.stdout and 'agreement' in r.stdout
