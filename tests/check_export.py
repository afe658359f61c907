"Fail if `nbdev_export` changes medcls_nb/: the notebooks and the exported library must be in sync."
import subprocess, sys
from pathlib import Path

lib = Path(__file__).resolve().parents[1]/'medcls_nb'
snap = lambda: {p.name: p.read_text() for p in sorted(lib.glob('*.py'))}
before = snap()
subprocess.run([str(Path(sys.executable).parent/'nbdev_export')], check=True, cwd=lib.parent)
after = snap()
changed = sorted(n for n in before.keys()|after.keys() if before.get(n)!=after.get(n))
if changed:
    sys.exit(f"nbdev_export changed {changed}: medcls_nb/ was out of sync with nbs/. "
             "Edit the notebooks (never medcls_nb/ by hand), run `nbdev_export`, and commit both.")
print(f"medcls_nb/ in sync with nbs/ ({len(after)} modules)")
