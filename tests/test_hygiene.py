"Package hygiene: every module imports on its own, and lower layers never import higher ones."
import ast, re, subprocess, sys
from pathlib import Path
import pytest

LIB = Path(__file__).resolve().parents[1]/'medcls_nb'
NBS = LIB.parent/'nbs'

def _layer(module:str)->int:
    "The notebook number that exports `module` (from the `default_exp` of nbs/NN_*.ipynb)"
    for nb in NBS.glob('[0-9][0-9]_*.ipynb'):
        if re.search(rf'#\|\s*default_exp\s+{module}\b', nb.read_text()): return int(nb.name[:2])
    raise LookupError(module)

MODULES = sorted(p.stem for p in LIB.glob('*.py') if not p.stem.startswith('_'))

@pytest.mark.parametrize('module', MODULES)
def test_imports_alone(module):
    "Each module imports in a fresh interpreter (no hidden dependency on notebook state)"
    r = subprocess.run([sys.executable, '-c', f'import medcls_nb.{module}'], capture_output=True, text=True, timeout=120)
    assert r.returncode==0, r.stderr[-2000:]

@pytest.mark.parametrize('module', MODULES)
def test_layer_order(module):
    "A module imports only modules from lower-numbered notebooks"
    tree = ast.parse((LIB/f'{module}.py').read_text())
    imported = {n.module.split('.')[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                and (n.level>0 or n.module.startswith('medcls_nb'))}
    imported &= set(MODULES)
    higher = [m for m in imported if _layer(m) >= _layer(module)]
    assert not higher, f"medcls_nb.{module} (notebook {_layer(module):02d}) imports higher layers {higher}"

def test_every_module_has_a_notebook():
    for m in MODULES: _layer(m)


# ---------------------------------------------------------------- weight and readability (issue 20)
import base64, importlib, inspect, io, json, struct, tokenize

ROOT = LIB.parent
NOTEBOOKS = sorted(p for p in NBS.rglob('*.ipynb') if not p.name.startswith('_') and '.ipynb_checkpoints' not in p.parts)
CHAPTERS_AND_TUTORIALS = [p for p in NOTEBOOKS if p.name!='index.ipynb']
LIBRARY = sorted(p for p in LIB.glob('*.py') if p.name!='_modidx.py')

def _png_sizes(nb:Path)->list:
    "(width, height) of every PNG output of notebook `nb`"
    out = []
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        for o in c.get('outputs', []):
            b = o.get('data', {}).get('image/png')
            if b: out.append(struct.unpack('>II', base64.b64decode(b if isinstance(b, str) else ''.join(b))[16:24]))
    return out

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_weight(nb):
    "A notebook is source: at most 250 KB, figures at most 1000 px wide (saved at the size they are shown)"
    assert nb.stat().st_size <= 250_000, f"{nb.name} is {nb.stat().st_size/1e3:.0f} KB; keep outputs small (tools/nb.py shrink / size)"
    wide = [wh for wh in _png_sizes(nb) if wh[0] > 1000]
    assert not wide, f"{nb.name} has figures wider than 1000 px: {wide}"

def test_notebooks_together_under_1_5_mb():
    total = sum(p.stat().st_size for p in CHAPTERS_AND_TUTORIALS)
    # 13 chapters and 7 tutorials: about 75 KB each on average (the cap was 1.2 MB for 12 chapters and 6 tutorials)
    assert total < 1_500_000, f"chapters + tutorials weigh {total/1e6:.2f} MB (cap 1.5 MB); `python tools/nb.py size` lists them"

def test_readme_under_10_kb():
    n = (ROOT/'README.md').stat().st_size
    assert n < 10_000, f"README.md is {n/1e3:.1f} KB; it is generated from nbs/index.ipynb: shorten that"

def _semicolon_lines(src:str)->list:
    "Line numbers where `;` separates statements (not inside strings or comments)"
    return sorted({t.start[0] for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type==tokenize.OP and t.string==';'})

def test_semicolon_finder():
    assert _semicolon_lines("a = 1; b = 2\ns = 'x; y'  # c; d\n") == [1]

@pytest.mark.parametrize('py', LIBRARY, ids=lambda p: p.name)
def test_no_joined_statements(py):
    "Exported code puts one statement on a line"
    bad = _semicolon_lines(py.read_text(encoding='utf-8'))
    assert not bad, f"{py.name} joins statements with ';' on lines {bad}; edit the notebook named in its header"

def test_library_lines_short():
    "At most 2 % of library lines are over 120 characters"
    lines = [l for p in LIBRARY for l in p.read_text(encoding='utf-8').splitlines()]
    long = [l for l in lines if len(l) > 120]
    assert len(long) <= 0.02*len(lines), f"{len(long)} of {len(lines)} library lines are over 120 characters, e.g. {long[:3]}"

def _code_sources():
    "(name, source) of every test file and every notebook code cell (magics dropped)"
    for p in sorted((ROOT/'tests').glob('*.py')): yield p.name, p.read_text(encoding='utf-8')
    for nb in NOTEBOOKS:
        for i,c in enumerate(json.loads(nb.read_text(encoding='utf-8'))['cells']):
            if c['cell_type']=='code':
                src = ''.join(c['source'])
                yield f'{nb.name} cell {i}', '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!')))

def test_no_imports_from_scripts_or_private_names():
    "Tests and notebooks import the library's public names only, never code from benchmarks/"
    bad = []
    for name,src in _code_sources():
        if re.search(r"sys\.path\.(insert|append)\([^)]*benchmarks|spec_from_file_location\([^)]*benchmarks", src): bad.append(f'{name}: loads benchmarks/')
        try: tree = ast.parse(src)
        except SyntaxError: continue
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and (n.module or '').startswith('medcls_nb.') and not name.startswith(n.module.split('.')[-1]):
                priv = [a.name for a in n.names if a.name.startswith('_')]
                if priv: bad.append(f'{name}: from {n.module} import {priv}')
    assert not bad, bad

def test_benchmarks_indexed():
    "benchmarks/README.md names every script and every result file"
    bench = ROOT/'benchmarks'
    index = (bench/'README.md').read_text(encoding='utf-8')
    files = [p.name for p in bench.glob('*.py')] + [p.name for p in (bench/'results').iterdir() if p.is_file()]
    missing = [f for f in files if f not in index]
    assert not missing, f"not listed in benchmarks/README.md: {missing}"

@pytest.mark.parametrize('module', MODULES)
def test_public_methods_documented(module):
    "Every public function, class and method defined in the library has a docstring"
    mod = importlib.import_module(f'medcls_nb.{module}')
    missing = []
    for name in getattr(mod, '__all__', []):
        o = getattr(mod, name)
        if (inspect.isfunction(o) or inspect.isclass(o)) and o.__module__==mod.__name__:
            if not inspect.getdoc(o): missing.append(name)
            if inspect.isclass(o):
                for k,v in vars(o).items():
                    f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
                    if k.startswith('_') or not callable(f) or getattr(f, '__module__', None)!=mod.__name__: continue
                    if not (f.__doc__ or '').strip(): missing.append(f'{name}.{k}')
    assert not missing, f"medcls_nb.{module}: no docstring on {missing}"
