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
