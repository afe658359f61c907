#!/usr/bin/env python
"""Edit and run notebooks from the shell: a plain-text view for editing, and an in-place runner.

    python tools/nb.py text nbs/00_data.ipynb > /tmp/00_data.py   # the cells as text ('# %% [code] <id>' markers)
    python tools/nb.py apply /tmp/00_data.py nbs/00_data.ipynb    # the edited text back into the notebook
    python tools/nb.py run nbs/00_data.ipynb [--slow] [--only ID ...]   # execute in place, outputs saved
    python tools/nb.py size [nbs]                                  # bytes, output share and PNG widths per notebook
    python tools/nb.py shrink NB... [--max-width 1000]             # figures at the size they are shown, 32 colours

`apply` matches cells by id: an unchanged cell keeps its outputs; a changed one keeps them too (so a
slow cell's figure is not lost) until `run` refreshes it; a new cell (marker without id) gets a fresh id.
`run` executes every code cell of the notebook in a fresh kernel from the notebook's folder, as nbdev_test
does, with figures saved as plain PNG at the size they are shown (not retina). Cells marked `#| slow` keep
their saved outputs unless `--slow` is given; `#| eval: false` cells are never run. The notebook is cleaned
(`nbdev_clean`) after it is written, and its figures go through `shrink`.
"""
import argparse, base64, json, os, re, struct, sys, time, uuid
from pathlib import Path

_MARK = re.compile(r'^# %% \[(code|markdown|raw)\]( [0-9a-zA-Z_-]+)?\s*$')

def _src(c)->str: return ''.join(c['source']) if isinstance(c['source'], list) else c['source']
def _lines(s:str)->list: return s.splitlines(keepends=True)
def _read(p)->dict: return json.loads(Path(p).read_text(encoding='utf-8'))
def _write(p, nb:dict):
    tmp = Path(p).with_suffix('.ipynb.tmp')
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False)+'\n', encoding='utf-8')
    os.replace(tmp, p)

def to_text(path)->str:
    "The cells of the notebook at `path` as text, each after a '# %% [type] id' marker"
    return ''.join(f"# %% [{c['cell_type']}] {c.get('id', '')}\n{_src(c)}\n" for c in _read(path)['cells'])

def parse_text(text:str)->list:
    "(type, id or None, source) for each cell of a text made by `to_text`"
    cells,cur = [],None
    for line in text.splitlines(keepends=True):
        m = _MARK.match(line)
        if m: cur = [m[1], (m[2] or '').strip() or None, []]; cells.append(cur); continue
        if cur is None:
            if line.strip(): raise ValueError(f"text before the first cell marker: {line!r}")
            continue
        cur[2].append(line)
    out = []
    for t,i,ls in cells:
        s = ''.join(ls)
        if s.endswith('\n'): s = s[:-1]
        out.append((t, i, s))
    return out

def apply_text(text:str, path):
    "Write the cells of `text` into the notebook at `path`, keeping outputs of cells matched by id"
    nb = _read(path); old = {c.get('id'): c for c in nb['cells']}
    cells = []
    for t,i,s in parse_text(text):
        c = old.get(i) if i else None
        if c is None or c['cell_type']!=t:
            c = dict(cell_type=t, id=i or uuid.uuid4().hex[:8], metadata={}, source=[])
            if t=='code': c.update(execution_count=None, outputs=[])
        c['source'] = _lines(s)
        cells.append(c)
    nb['cells'] = cells
    _write(path, nb)
    return len(cells)

def _directives(src:str)->set:
    return {m.group(1).strip() for m in re.finditer(r'^#\|\s*([^\n]+)', src, re.M)}

def run(path, slow:bool=False, only:list|None=None, timeout:int|None=None):
    "Execute the notebook at `path` in place (see the module docstring for which cells run)"
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    path = Path(path).resolve()
    nb = read_nb(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    t0 = time.time()
    try:
        sh = CaptureShell(path, mpl_format='png', timeout=timeout)
        for c in nb.cells:
            if c.cell_type!='code': continue
            d = _directives(c.source)
            if any(x.startswith('eval:') and 'false' in x for x in d): continue
            if only and c.id not in only and 'export' not in ' '.join(d) and not any(x.startswith('hide') for x in d):
                # with --only, run the imports/exports/hidden setup cells and the named ones
                continue
            if 'slow' in d and not slow: continue
            if re.search(r'nbdev_export\(\)', c.source): continue
            c['outputs'] = []   # a cell that now prints nothing must not keep its old output
            sh.cell(c)
            err = [o for o in c.get('outputs', []) if o.get('output_type')=='error']
            if err: raise RuntimeError(f"{path.name} cell {c.id}: {err[0].get('ename')}: {err[0].get('evalue')}")
    finally: os.chdir(cwd)
    write_nb(nb, path)
    from nbdev.clean import nbdev_clean
    nbdev_clean(fname=str(path))
    shrink(path)
    print(f"{path.name}: ran in {time.time()-t0:.0f} s, {path.stat().st_size/1e3:.0f} KB", flush=True)

def _pngs(nb:dict)->list:
    out = []
    for c in nb['cells']:
        for o in c.get('outputs', []):
            b = o.get('data', {}).get('image/png')
            if b:
                raw = base64.b64decode(b if isinstance(b, str) else ''.join(b))
                out.append(struct.unpack('>II', raw[16:24]))
    return out

def shrink(path, max_width:int=1000, colours:int=32):
    "Saved figures at their displayed width (retina is 2x; at most `max_width` px) in `colours`; no text repr beside HTML/PNG"
    import io
    from PIL import Image
    nb = _read(path); n = 0
    for c in nb['cells']:
        for o in c.get('outputs', []):
            d = o.get('data', {})
            if 'text/plain' in d and ('text/html' in d or 'image/png' in d):
                del d['text/plain']   # the repr of a table or figure shown as HTML or PNG: never displayed
                n += 1
            b = d.get('image/png')
            if not b: continue
            im = Image.open(io.BytesIO(base64.b64decode(b if isinstance(b, str) else ''.join(b))))
            shown = o.get('metadata', {}).get('image/png', {}).get('width') or im.width
            w = min(int(shown), max_width)
            if w>=im.width and im.mode=='P' and len(im.getcolors(256) or range(257))<=colours: continue
            im = im.convert('RGBA').resize((w, round(im.height*w/im.width)), Image.LANCZOS)
            im = im.quantize(colours, method=Image.Quantize.FASTOCTREE)   # a plot needs no more colours: a third of the bytes
            buf = io.BytesIO()
            im.save(buf, format='PNG', optimize=True)
            o['data']['image/png'] = base64.b64encode(buf.getvalue()).decode()
            o.get('metadata', {}).pop('image/png', None)
            n += 1
    if n: _write(path, nb)
    print(f"{path}: {n} outputs made smaller, {Path(path).stat().st_size/1e3:.0f} KB")

def size_report(root='nbs'):
    "Bytes, share of outputs and PNG sizes per notebook under `root`"
    tot = 0
    for p in sorted(Path(root).rglob('*.ipynb')):
        if p.name.startswith('_') or '.ipynb_checkpoints' in p.parts: continue
        nb = _read(p); n = p.stat().st_size; tot += n
        outs = sum(len(json.dumps(c.get('outputs', []))) for c in nb['cells'])
        print(f"{str(p):55s} {n/1e3:7.0f} KB  outputs {outs/max(n,1):4.0%}  pngs {_pngs(nb)}")
    print(f"{'total':55s} {tot/1e3:7.0f} KB")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('text'); a.add_argument('nb')
    a = sub.add_parser('apply'); a.add_argument('text'); a.add_argument('nb')
    a = sub.add_parser('run'); a.add_argument('nbs', nargs='+'); a.add_argument('--slow', action='store_true')
    a.add_argument('--only', nargs='*'); a.add_argument('--timeout', type=int)
    a = sub.add_parser('size'); a.add_argument('root', nargs='?', default='nbs')
    a = sub.add_parser('shrink'); a.add_argument('nbs', nargs='+'); a.add_argument('--max-width', type=int, default=1000)
    args = p.parse_args(argv)
    if args.cmd=='text': sys.stdout.write(to_text(args.nb))
    elif args.cmd=='apply': print(f"{args.nb}: {apply_text(Path(args.text).read_text(encoding='utf-8'), args.nb)} cells")
    elif args.cmd=='run':
        for nb in args.nbs: run(nb, args.slow, args.only, args.timeout)
    elif args.cmd=='shrink':
        for nb in args.nbs: shrink(nb, args.max_width)
    else: size_report(args.root)

if __name__=='__main__': main()
