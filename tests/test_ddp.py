"DDP: two CPU processes (gloo, torchrun) train with `fit`; both end with identical weights and the metrics cover the whole validation set."
import json, os, subprocess, sys, textwrap
import pandas as pd, pytest, torch

SCRIPT = textwrap.dedent('''
    import json, sys, torch
    from collections import OrderedDict
    from pathlib import Path
    from torch import nn
    from medcls_nb.data import synthetic_dataset, BatchLoader, Augment
    from medcls_nb.losses import loss_for
    from medcls_nb.train import fit, init_distributed, predict, TrainOptions
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    rank, world = init_distributed()
    # odd sizes: the two shards differ in length (49/48 train images -> 4 vs 3 batches of 16; 51/50 validation images)
    ds = synthetic_dataset('binary', n_train=97, n_val=101, n_test=4, n_ood=0, seed=3)
    train = BatchLoader(ds.train, ds.task, 16, shuffle=True, augment=Augment(), seed=0, rank=rank, world_size=world)
    val = BatchLoader(ds.val, ds.task, 32, rank=rank, world_size=world)
    torch.manual_seed(0)
    blk = lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 3, padding=1, stride=s), nn.BatchNorm2d(o), nn.ReLU())
    model = nn.Sequential(blk(1, 8, 2), blk(8, 16, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 2))
    h = fit(model, train, val, ds.task, loss_for(ds.task), opts=TrainOptions(epochs=2, lr=3e-3, amp='off'),
            run_dir=out/'run', progress=False)
    logits, y = predict(model, val)
    torch.save(model.state_dict(), out/f'rank{rank}.pt')
    (out/f'rank{rank}.json').write_text(json.dumps(dict(world=world, n_train_shard=len(train), n_val_shard=len(val.indices()),
        n_val_gathered=len(logits), best_epoch=int(h.attrs['best_epoch']), history=h.reset_index().to_dict('records'))))
''')

@pytest.mark.timeout(300)
def test_ddp_two_cpu_processes(tmp_path):
    (tmp_path/'ddp_script.py').write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        str(tmp_path/'ddp_script.py'), str(tmp_path)], env=env, capture_output=True, text=True, timeout=280)
    assert r.returncode==0, r.stdout[-3000:]+r.stderr[-3000:]
    info = [json.loads((tmp_path/f'rank{i}.json').read_text()) for i in (0, 1)]
    assert [i['world'] for i in info]==[2, 2]
    assert [i['n_train_shard'] for i in info]==[4, 3]            # unequal shards: fit trains min(4, 3) batches on both
    assert [i['n_val_shard'] for i in info]==[51, 50]
    assert [i['n_val_gathered'] for i in info]==[101, 101]        # predictions gathered from both ranks

    # both ranks end with identical parameters and buffers
    w0, w1 = (torch.load(tmp_path/f'rank{i}.pt', weights_only=True) for i in (0, 1))
    assert w0.keys()==w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    # both ranks saw the same history (metrics gathered, not per shard)
    h0, h1 = (pd.DataFrame(i['history']).drop(columns=['time_s', 'train_img_s', 'train_loss']) for i in info)
    pd.testing.assert_frame_equal(h0, h1)

    # only rank 0 wrote: one set of run files, no temporary files left
    assert sorted(os.listdir(tmp_path/'run'))==['best.pt', 'history.csv', 'last.pt']

    # the reported validation metrics are those of the whole validation set, recomputed here in one process
    from torch import nn
    from medcls_nb.data import synthetic_dataset, BatchLoader
    from medcls_nb.losses import loss_for
    from medcls_nb.train import evaluate
    ds = synthetic_dataset('binary', n_train=97, n_val=101, n_test=4, n_ood=0, seed=3)
    blk = lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 3, padding=1, stride=s), nn.BatchNorm2d(o), nn.ReLU())
    model = nn.Sequential(blk(1, 8, 2), blk(8, 16, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 2))
    model.load_state_dict(w0)
    full = evaluate(model, BatchLoader(ds.val, ds.task, 32), ds.task, loss_for(ds.task))
    best = h0.set_index('epoch').loc[info[0]['best_epoch']]
    assert abs(full['auc']-best['val_auc'])<1e-6 and abs(full['acc']-best['val_acc'])<1e-6
    assert abs(full['loss']-best['val_loss'])<1e-5
