#!/usr/bin/env python
"""Build the docs site and README.md offline, without Quarto.

    python tools/build_docs.py                # _docs/ (the site) and README.md
    python tools/build_docs.py --readme-only  # README.md (+ README_files/) from nbs/index.ipynb only

The pipeline is nbdev's own (what `nbdev_docs` runs before it calls Quarto), then `smalldocs`
renders the processed project instead of `quarto render`:

1. `refresh_quarto_yml` writes nbs/nbdev.yml, `_build_modidx` the symbol index, `nbdev_sidebar` nbs/sidebar.yml.
2. nbdev's notebook processors (`serve_drv.main` with `FilterDefaults`: directives, `show_doc`, doc links)
   turn every notebook into `_proc/` -- the same work as `nbdev.serve.proc_nbs(force=True)`, but each notebook
   on its own so that one broken notebook is reported by name, together with all the others.
3. Quarto-only steps are done here: a page is named after its `output-file` front matter (nbdev writes
   `data.html` for `00_data.ipynb`), nbdev's absolute doc links (`{doc_host}{doc_baseurl}/x.html`) become
   relative, and the sidebar is grouped into Tutorials and Reference.
4. `smalldocs` renders `_proc/` (its `_quarto.yml` + nbdev.yml + sidebar.yml) into `_proc/_docs`, moved to `_docs/`.
   The site then loads nothing from the internet: KaTeX is copied from Debian's libjs-katex when installed (else the
   CDN stays), the theme's Google-Fonts import is dropped (system fonts), and a favicon is added.
5. README.md is written from the processed index notebook as GitHub Markdown; its pictures go in README_files/.

A notebook nbdev cannot process stops the build, listing every such notebook and its failing cell;
`--keep-going` leaves them out of the site instead (for looking at the rest while they are fixed).

nbs/_quarto.yml stays a plain Quarto file: with Quarto installed, `nbdev_docs` builds the same site.
"""
import argparse, base64, html, html.parser, json, os, re, shutil, sys, time, traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('HF_HUB_OFFLINE', '1')

def _say(*a): print(*a, flush=True)

# ------------------------------------------------------------------ 1. nbdev's preparation

def prepare(nbs:Path):
    "nbdev.yml, _quarto.yml (only when missing), the symbol index and sidebar.yml, as `nbdev_docs` makes them"
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.doclinks import _build_modidx
    refresh_quarto_yml()
    _build_modidx()
    nbdev_sidebar.__wrapped__(path=nbs)

# ------------------------------------------------------------------ 2. nbdev's notebook processing

def _err(e:BaseException)->str:
    "One exception (and its cause, e.g. the failing cell) as short text"
    msg = ''.join(traceback.format_exception_only(type(e), e)).strip()
    c = e.__cause__
    if c is not None and not type(c).__name__.startswith('_Remote'): msg += '\n  caused by: ' + ''.join(traceback.format_exception_only(type(c), c)).strip()
    return msg

def process(nbs:Path, cache:Path, n_workers:int=2, only:list|None=None)->dict:
    "Copy `nbs` into `cache` with every notebook processed by nbdev (`proc_nbs(force=True)`); -> {notebook: error}"
    from nbdev.doclinks import nbglob
    from nbdev.serve import _proc_file
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    files = only if only is not None else list(nbglob(nbs, func=Path, file_glob='', file_re=''))
    for extra in ('_quarto.yml', '_brand.yml'):
        if (nbs/extra).exists() and only is None: files.append(nbs/extra)
    if (nbs/'_extensions').exists() and only is None:
        files += list(nbglob(nbs/'_extensions', func=Path, file_glob='', file_re='', skip_file_re='^[.]'))
    import nbdev.serve_drv
    jobs = [r for r in (_proc_file(Path(f), cache, nbs) for f in files) if r]  # copies other files, returns notebooks
    errors = {}
    if n_workers<=1 or len(jobs)<=1:
        for j in jobs:
            try: nbdev.serve_drv.main(j)
            except Exception as e: errors[j[0]] = _err(e)
    else:  # spawn, as nbdev's proc_nbs does outside notebooks: each worker imports the library fresh
        with ProcessPoolExecutor(min(n_workers, len(jobs)), mp_context=get_context('spawn')) as ex:
            futs = {ex.submit(nbdev.serve_drv.main, j): j[0] for j in jobs}
            for f in as_completed(futs):
                try: f.result()
                except Exception as e: errors[futs[f]] = _err(e)
    errors = {Path(k).relative_to(nbs).as_posix(): v for k,v in errors.items()}
    return errors

# ------------------------------------------------------------------ 3. what Quarto would do on top

def _front(nb:dict)->tuple[dict|None, dict]:
    "The raw front-matter cell nbdev inserts, and its YAML"
    for c in nb['cells']:
        if c['cell_type']=='raw':
            s = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
            m = re.match(r'^---\n(.*?)\n---', s, re.S)
            if m: return c, yaml.safe_load(m.group(1)) or {}
    return None, {}

def _read_nb(p:Path)->dict: return json.loads(p.read_text(encoding='utf-8'))
def _write_nb(p:Path, nb:dict): p.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding='utf-8')

def rename_pages(cache:Path)->dict:
    "Rename each processed notebook to its `output-file` (Quarto's page name); -> {old rel path: new rel path}"
    moves = {}
    for p in sorted(cache.rglob('*.ipynb')):
        rel = p.relative_to(cache)
        if any(s.startswith(('_', '.')) for s in rel.parts): continue
        nb = _read_nb(p)
        cell, fm = _front(nb)
        out = fm.pop('output-file', None)
        if cell is not None:  # smalldocs does not read output-file: drop it, the file name says it now
            cell['source'] = '---\n' + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True).strip() + '\n---'
            _write_nb(p, nb)
        if not out: continue
        new = p.with_name(Path(out).stem + '.ipynb')
        if new!=p:
            if new.exists() or new.relative_to(cache).as_posix() in moves.values():
                raise SystemExit(f"two notebooks would both become {new.relative_to(cache).with_suffix('.html')}: rename one")
            moves[rel.as_posix()] = new.relative_to(cache).as_posix()
    for a,b in moves.items(): (cache/a).rename(cache/b)
    return moves

_LINK = re.compile(r'(\]\(\s*<?|href=")([^)\s>"]+)')

def _fix_href(href:str, page:PurePosixPath, moves:dict, site:str)->str:
    "A link written on `page` (new rel path), pointing at the renamed pages and at the local copy of the doc site"
    if site and href.startswith(site):  # nbdev's absolute doc links -> relative, so the site works offline and anywhere
        path, tail = re.match(r'([^#?]*)(.*)', href[len(site):], re.S).groups()
        target = PurePosixPath(path or 'index.html')
        return '../'*(len(page.parts)-1) + str(target.with_suffix('.ipynb') if target.suffix=='.html' else target) + tail
    if re.match(r'^[a-zA-Z][\w+.-]*:|^//|^#', href): return href
    path, tail = re.match(r'([^#?]*)(.*)', href, re.S).groups()
    if not path.endswith(('.ipynb', '.html', '.qmd', '.md')): return href
    src = PurePosixPath(os.path.normpath(page.parent/path)).as_posix()  # relative to the ORIGINAL folder layout
    for old,new in moves.items():
        if PurePosixPath(src).with_suffix('') == PurePosixPath(old).with_suffix(''):
            return os.path.relpath(new, page.parent.as_posix() or '.') + tail
    return href

def fix_links(cache:Path, moves:dict, site:str):
    "Rewrite links in markdown cells and markdown/html outputs of every processed notebook"
    for p in sorted(cache.rglob('*.ipynb')):
        rel = PurePosixPath(p.relative_to(cache).as_posix())
        if any(s.startswith(('_', '.')) for s in rel.parts): continue
        nb, changed = _read_nb(p), False
        fix = lambda s: _LINK.sub(lambda m: m.group(1)+_fix_href(m.group(2), rel, moves, site), s)
        for c in nb['cells']:
            srcs = [(c, 'source')] if c['cell_type']=='markdown' else []
            for o in c.get('outputs', []):
                for mime in ('text/markdown', 'text/html'):
                    if mime in o.get('data', {}): srcs.append((o['data'], mime))
            for d,k in srcs:
                v = ''.join(d[k]) if isinstance(d[k], list) else d[k]
                nv = fix(v)
                if nv!=v: d[k], changed = nv, True
        if changed: _write_nb(p, nb)

def drop_from_sidebar(cache:Path, gone:set):
    "Leave notebooks that could not be processed out of the sidebar (--keep-going)"
    f = cache/'sidebar.yml'
    sb = yaml.safe_load(f.read_text())
    keep = lambda es: [e if isinstance(e, str) else {**e, 'contents': keep(e.get('contents', []))} for e in es if not (isinstance(e, str) and e in gone)]
    sb['website']['sidebar']['contents'] = keep(sb['website']['sidebar']['contents'])
    f.write_text(yaml.safe_dump(sb, sort_keys=False))

def group_sidebar(cache:Path, moves:dict):
    "Sidebar: Home, then a section per folder (Tutorials, ...), then the numbered notebooks as Reference"
    f = cache/'sidebar.yml'
    sb = yaml.safe_load(f.read_text())
    contents = sb['website']['sidebar']['contents']
    ren = lambda e: moves.get(e, e) if isinstance(e, str) else {**e, 'contents': [ren(x) for x in e.get('contents', [])]}
    contents = [ren(e) for e in contents]
    home = [e for e in contents if isinstance(e, str) and PurePosixPath(e).stem=='index']
    pages = [e for e in contents if isinstance(e, str) and e not in home]
    sections = [{**e, 'section': e['section'].replace('_', ' ').title()} for e in contents if isinstance(e, dict)]
    new = [{'text': 'Home', 'href': h} for h in home] + sections + ([{'section': 'Reference', 'contents': pages}] if pages else [])
    sb['website']['sidebar']['contents'] = new
    f.write_text(yaml.safe_dump(sb, sort_keys=False))

_FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2780e3"/>'
            '<path d="M9 16h14M16 9v14" stroke="#fff" stroke-width="5" stroke-linecap="round"/></svg>\n')

def smalldocs_config(cache:Path):
    "Options only this build needs go in the processed copy of _quarto.yml, never in nbs/_quarto.yml"
    f = cache/'_quarto.yml'
    cfg = yaml.safe_load(f.read_text())
    fmt = cfg.get('format', {})
    for k in [k for k in fmt if k!='html']: fmt.pop(k)  # only html is built here (README is written by this script)
    web = cfg.setdefault('website', {})
    if not web.get('favicon'):  # without one the browser asks for /favicon.ico and logs a 404
        (cache/'favicon.svg').write_text(_FAVICON)
        web['favicon'] = 'favicon.svg'
    f.write_text(yaml.safe_dump(cfg, sort_keys=False))

# ------------------------------------------------------------------ 4. smalldocs

_KATEX_CDN = re.compile(r'https://cdn\.jsdelivr\.net/npm/katex@[\d.]+/dist/')
_KATEX_DEB = Path('/usr/share/javascript/katex')  # Debian's libjs-katex (+ fonts-katex)
_WEBFONT = re.compile(r'@import url\(https://fonts\.googleapis\.com/[^)]*\);?')

def vendor_katex(out:Path)->bool:
    "Copy KaTeX into site_libs/katex from Debian's libjs-katex when installed; -> whether it was"
    if not (_KATEX_DEB/'katex.min.css').exists(): return False
    dst = out/'site_libs'/'katex'
    (dst/'contrib').mkdir(parents=True, exist_ok=True)
    shutil.copy(_KATEX_DEB/'katex.min.css', dst/'katex.min.css')
    shutil.copy((_KATEX_DEB/'katex.min.js').resolve(), dst/'katex.min.js')
    ar = _KATEX_DEB/'contrib'/'auto-render.min.js'
    shutil.copy(ar if ar.exists() else _KATEX_DEB/'contrib'/'auto-render.js', dst/'contrib'/'auto-render.min.js')
    shutil.copytree((_KATEX_DEB/'fonts').resolve(), dst/'fonts', dirs_exist_ok=True)
    return True

def self_contained(out:Path)->list[str]:
    "Make the site load nothing from the internet: local KaTeX, no web-font import (the theme falls back to system fonts)"
    notes, katex = [], vendor_katex(out)
    for css in (out/'site_libs'/'themes').rglob('*.css'):
        t = css.read_text(encoding='utf-8')
        if _WEBFONT.search(t): css.write_text(_WEBFONT.sub('', t), encoding='utf-8')
    uses_math = False
    for page in out.rglob('*.html'):
        t = page.read_text(encoding='utf-8')
        if not _KATEX_CDN.search(t): continue
        uses_math = True
        if katex:
            up = '../'*(len(page.relative_to(out).parts)-1)
            page.write_text(_KATEX_CDN.sub(f'{up}site_libs/katex/', t), encoding='utf-8')
    if uses_math and not katex:
        notes.append(f"maths loads KaTeX from the CDN: install Debian's libjs-katex ({_KATEX_DEB}) for an offline site")
    return notes

def render(cache:Path, out:Path)->list[str]:
    "Render the processed project with smalldocs into `out`; -> its warnings"
    from smalldocs.site import build
    site = build(cache, quiet=True)
    built = site.out
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(str(built), str(out))
    (out/'.nojekyll').touch()
    return site.warnings + self_contained(out)

# ------------------------------------------------------------------ 5. README.md

_FILES = '\x00files\x00'  # where the pictures' folder name goes
_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*)$')

def _src(x): return ''.join(x) if isinstance(x, list) else (x or '')

def _cell_opts(code:str)->tuple[dict, str]:
    "The `#|` directives of a cell, and its code without them"
    lines, opts = code.split('\n'), {}
    while lines and _DIRECTIVE.match(lines[0]):
        k,v = _DIRECTIVE.match(lines.pop(0)).groups()
        opts[k.lower()] = v.strip() or True
    return opts, '\n'.join(lines).strip('\n')

def _fence(text:str, lang:str='')->str:
    n = max([3]+[len(m)+1 for m in re.findall(r'`{3,}', text)])
    return f"{'`'*n}{lang}\n{text.rstrip()}\n{'`'*n}"

def _readme_output(o:dict, name:str, files:dict, alt:str='figure')->str:
    kind = o.get('output_type')
    strip = lambda s: re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', s)
    if kind=='stream': return _fence(strip(_src(o.get('text'))))
    if kind=='error': return _fence(strip('\n'.join(o.get('traceback') or [])))
    d = o.get('data', {})
    for mime,ext in (('image/png', 'png'), ('image/jpeg', 'jpg'), ('image/svg+xml', 'svg')):
        if mime in d:
            v = _src(d[mime])
            files[f'{name}.{ext}'] = v.encode() if ext=='svg' else base64.b64decode(v)
            return f'![{alt}]({_FILES}/{name}.{ext})'
    if 'text/markdown' in d: return _src(d['text/markdown']).strip()
    if 'text/html' in d and '<table' in _src(d['text/html']):  # a DataFrame: a GitHub table, or its HTML without <style>
        h = _src(d['text/html'])
        return _md_table(h) or re.sub(r'<style[^>]*>.*?</style>\s*', '', h, flags=re.S).strip()
    if 'text/plain' in d: return _fence(_src(d['text/plain']))
    return ''

class _Table(html.parser.HTMLParser):
    "Rows of cells of a plain HTML table (a pandas DataFrame); `ok` is False for spans or nested tables"
    def __init__(self):
        super().__init__(); self.rows, self.cell, self.ok, self.tables = [], None, True, 0
    def handle_starttag(self, tag, attrs):
        if tag=='table': self.tables += 1; self.ok &= self.tables==1
        elif tag=='tr': self.rows.append([])
        elif tag in ('td', 'th'):
            self.ok &= not any(k in ('rowspan', 'colspan') and v not in (None, '1') for k,v in attrs)
            self.cell = ''
    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self.cell is not None and self.rows: self.rows[-1].append(' '.join(self.cell.split())); self.cell = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data

def _md_table(h:str)->str|None:
    "A GitHub pipe table from a DataFrame's HTML (via `medcls_nb.cli.md_table`), or None when it is not a plain grid"
    p = _Table()
    p.feed(h)
    rows = [r for r in p.rows if r]
    if not p.ok or len(rows)<2 or len({len(r) for r in rows})!=1: return None
    import pandas as pd
    from medcls_nb.cli import md_table   # the report's writer; imported here, so only a README with tables loads torch
    head, body = rows[0], rows[1:]
    df = pd.DataFrame([r[1:] for r in body], index=[r[0] for r in body], columns=head[1:])
    df.index.name = head[0] or None
    return md_table(df)

def _abs_links(md:str, site:str)->str:
    "Links to other notebooks/pages -> the published docs site (README sits at the repo root, not in nbs/)"
    def f(m):
        href = m.group(2)
        if re.match(r'^[a-zA-Z][\w+.-]*:|^//|^#', href) or not site: return m.group(0)
        path, tail = re.match(r'([^#?]*)(.*)', href, re.S).groups()
        if not path.endswith(('.ipynb', '.html', '.qmd')): return m.group(0)
        from nbdev.doclinks import _nbpath2html  # the page nbdev (and Quarto) give a notebook: 00_data.ipynb -> data.html
        return m.group(1) + site + _nbpath2html(Path(path)).as_posix() + tail
    return _LINK.sub(f, md)

def readme(proc_index:Path, out_md:Path, files_dir:Path, site:str=''):
    "GitHub Markdown from the processed index notebook: markdown as is, code fenced, outputs fenced, pictures as files"
    nb = _read_nb(proc_index)
    _, fm = _front(nb)
    parts = [f"# {fm.get('title', 'README')}", '<!-- WARNING: THIS FILE WAS AUTOGENERATED FROM nbs/index.ipynb by tools/build_docs.py! DO NOT EDIT! -->']
    if fm.get('description'): parts.append(f"> {fm['description']}")
    files = {}
    for i,c in enumerate(nb['cells']):
        s = _src(c['source'])
        if c['cell_type']=='markdown':
            if s.strip() and 'WARNING: THIS FILE WAS AUTOGENERATED' not in s: parts.append(_abs_links(s.strip(), site))
        elif c['cell_type']=='code':
            opts, code = _cell_opts(s)
            off = lambda k: str(opts.get(k)).lower()=='false'
            if off('include') or 'hide' in opts: continue
            if code.strip() and not off('echo'): parts.append(_fence(code, 'python'))
            if off('output'): continue
            alt = str(opts.get('fig-alt') or opts.get('fig-cap') or 'figure').strip('"\'')
            for j,o in enumerate(c.get('outputs', [])):
                r = _readme_output(o, f'cell-{i}-output-{j}', files, alt)
                if r: parts.append(r)
    text = '\n\n'.join(parts).replace(_FILES, files_dir.name) + '\n'
    shutil.rmtree(files_dir, ignore_errors=True)
    if files:
        files_dir.mkdir(parents=True)
        for n,b in files.items(): (files_dir/n).write_bytes(b)
    tmp = out_md.with_suffix('.md.tmp')
    tmp.write_text(text, encoding='utf-8')
    os.replace(tmp, out_md)
    return text

# ------------------------------------------------------------------ driver

def _site_url()->str:
    from nbdev.config import get_config
    cfg = get_config()
    return f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/') + '/'

def build_readme(nbs:Path, cache:Path, moves:dict|None=None):
    from nbdev.config import get_config
    idx = get_config().readme_nb
    proc = cache/moves.get(idx, idx) if moves else cache/idx
    readme(proc, ROOT/'README.md', ROOT/'README_files', _site_url())
    _say(f"README.md written from nbs/{idx}")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--readme-only', action='store_true', help='only write README.md from nbs/index.ipynb')
    ap.add_argument('--n-workers', type=int, default=min(2, os.cpu_count() or 1), help='processes for nbdev processing')
    ap.add_argument('--keep-going', action='store_true', help='leave notebooks that fail processing out of the site instead of stopping')
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    from nbdev.config import get_config
    cfg = get_config()
    nbs, cache, t0 = cfg.nbs_path, cfg.config_path/'_proc', time.time()
    if args.readme_only:
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            errs = process(nbs, Path(d), n_workers=1, only=[nbs/cfg.readme_nb])
            if errs: raise SystemExit(f"processing nbs/{cfg.readme_nb} failed:\n{errs}")
            build_readme(nbs, Path(d))
        _say(f"done in {time.time()-t0:.1f}s"); return
    prepare(nbs)
    t1 = time.time()
    errs = process(nbs, cache, n_workers=args.n_workers)
    _say(f"nbdev processed notebooks into {cache.relative_to(ROOT)}/ in {time.time()-t1:.1f}s")
    if errs:
        msg = '\n'.join(f"- nbs/{k}: {v}" for k,v in sorted(errs.items()))
        msg += ("\nnbdev runs, at docs time, each export/import/show_doc cell of a notebook that documents symbols, without the other "
                "cells: a cell that mixes imports with other code fails there. Move its imports to the notebook's import cell.")
        if not args.keep_going: raise SystemExit(f"nbdev could not process {len(errs)} notebook(s) for the docs:\n{msg}")
        _say(f"WARNING: left out of the site (--keep-going):\n{msg}")
        for k in errs: (cache/k).unlink(missing_ok=True)
        drop_from_sidebar(cache, set(errs))
    moves = rename_pages(cache)
    fix_links(cache, moves, _site_url())
    group_sidebar(cache, moves)
    smalldocs_config(cache)
    t2 = time.time()
    warns = render(cache, cfg.config_path/cfg.doc_path.name)
    for w in warns: _say(f"smalldocs warning: {w}")
    n = len(list((cfg.config_path/cfg.doc_path.name).rglob('*.html')))
    _say(f"smalldocs rendered {n} pages into {cfg.doc_path.name}/ in {time.time()-t2:.1f}s")
    if (cache/moves.get(cfg.readme_nb, cfg.readme_nb)).exists(): build_readme(nbs, cache, moves)
    _say(f"docs built in {time.time()-t0:.1f}s")

if __name__=='__main__': main()
