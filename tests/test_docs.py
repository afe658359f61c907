"""The docs site: `tools/build_docs.py` builds it offline (nbdev + smalldocs), and headless Chromium reads it.

Checks: a page per notebook; every page loads with no console error; no internal link or anchor is broken;
search finds pages; README.md is what nbs/index.ipynb generates. `DOCS_TEST_PREBUILT=1` reuses an existing _docs/. Screenshots of the home page and of a
tutorial (or notebook) page go to tests/_artifacts/screenshots/ (gitignored) for a person to look at.
Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`); the setup installs them, with
`libjs-katex` for offline maths, when they are missing and apt can run; otherwise the browser tests skip and say why.
"""
import functools, html.parser, http.server, os, posixpath, re, shutil, subprocess, sys, threading, time, warnings
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT/'_docs'
SHOTS = ROOT/'tests'/'_artifacts'/'screenshots'
CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'
DEB_PKGS = ('chromium', 'chromium-driver', 'libjs-katex')
KATEX = Path('/usr/share/javascript/katex/katex.min.css')

def _notebooks(nbs:Path)->list[Path]:
    "The notebooks nbdev turns into pages (as `nbglob`: no `_*` or `.*` files or folders)"
    return sorted(p for p in nbs.rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.relative_to(nbs).parts))

def _page_of(nb:Path, nbs:Path)->Path:
    "nbdev's page name: `00_data.ipynb` -> `data.html` (the `output-file` nbdev's front matter gives Quarto)"
    rel = nb.relative_to(nbs)
    return rel.with_name(re.sub(r'^\d+[a-zA-Z0-9]*_', '', rel.name.lower())).with_suffix('.html')

# ------------------------------------------------------------------ setup: Debian packages, then the build

def _apt_install(pkgs)->str|None:
    "Install Debian packages; -> None, or why it could not"
    if not shutil.which('apt-get'): return 'apt-get is not available'
    if os.geteuid()!=0: return 'not root, so apt-get cannot install'
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    run = lambda *a: subprocess.run(['apt-get', *a], env=env, capture_output=True, text=True, timeout=900)
    r = run('install', '-y', *pkgs)
    if r.returncode: r = (run('update') , run('install', '-y', *pkgs))[1]  # a fresh machine has no package lists yet
    return None if r.returncode==0 else f"apt-get install {' '.join(pkgs)} failed: {r.stderr.strip()[-500:]}"

@pytest.fixture(scope='session')
def browser_setup():
    "Chromium + chromedriver (+ KaTeX for offline maths): -> None when ready, else the reason they are missing"
    missing = [p for p,f in zip(DEB_PKGS, (CHROMIUM, CHROMEDRIVER, KATEX)) if not Path(f).exists()]
    why = _apt_install(missing) if missing else None
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(): return None
    return why or 'chromium / chromedriver are missing after apt-get install'

@pytest.fixture(scope='session')
def site(browser_setup):
    "Build the docs once (after the packages, so KaTeX is vendored); -> the _docs folder"
    readme_before = (ROOT/'README.md').read_text() if (ROOT/'README.md').exists() else None
    if os.environ.get('DOCS_TEST_PREBUILT') and (DOCS/'index.html').exists():  # iterate on the checks without rebuilding
        return dict(docs=DOCS, readme_before=readme_before, log='')
    t = time.time()
    # --keep-going: a notebook nbdev cannot process is left out (test_page_per_notebook fails, naming it and its cell)
    # and the other checks still run on the rest of the site
    r = subprocess.run([sys.executable, 'tools/build_docs.py', '--keep-going'], cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert r.returncode==0, f"tools/build_docs.py failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    print(f"docs built in {time.time()-t:.0f}s\n{r.stdout[-1500:]}")
    return dict(docs=DOCS, readme_before=readme_before, log=r.stdout+r.stderr)

# ------------------------------------------------------------------ the build

def test_page_per_notebook(site):
    nbs = ROOT/'nbs'
    nb_list = _notebooks(nbs)
    assert nb_list, 'no notebooks found'
    missing = [f"{nb.relative_to(ROOT)} -> _docs/{_page_of(nb, nbs)}" for nb in nb_list if not (DOCS/_page_of(nb, nbs)).is_file()]
    left_out = site['log'].partition('WARNING: left out of the site')[2].partition('\nsmalldocs ')[0][:4000]
    assert not missing, f"pages missing: {missing}\n{left_out}"
    assert (DOCS/'index.html').is_file() and (DOCS/'search.json').is_file()

def test_api_reference_rendered(site):
    "nbdev's show_doc output is on the pages: a signature block and a source link for each exported symbol"
    nbs = ROOT/'nbs'
    chapters = [nb for nb in _notebooks(nbs) if nb.parent==nbs and '#| default_exp' in nb.read_text()]
    assert chapters
    pages = [(nb, DOCS/_page_of(nb, nbs)) for nb in chapters]
    missing = [f"{nb.name} -> {p.name}" for nb,p in pages if p.exists() and '>source</a>' not in p.read_text()]  # absent pages: test_page_per_notebook
    assert not missing, f"pages with no show_doc output: {missing}"

def test_readme_generated_from_index(site):
    "README.md is generated from nbs/index.ipynb: the committed one must equal what the build wrote"
    readme = (ROOT/'README.md').read_text()
    assert 'DO NOT EDIT' in readme and '```python' in readme
    for img in re.findall(r'!\[[^\]]*\]\(([^)]+)\)', readme):
        assert (ROOT/img).is_file(), f"README picture {img} missing"
    assert site['readme_before']==readme, "README.md was stale: it is regenerated from nbs/index.ipynb by `make readme`; commit it"

# ------------------------------------------------------------------ the browser

class _Handler(http.server.SimpleHTTPRequestHandler):
    failed = []  # (status, path) of every request that was not served
    def log_message(self, *a): pass
    def send_error(self, code, *a, **k):
        _Handler.failed.append((code, self.path))
        super().send_error(code, *a, **k)

@pytest.fixture(scope='session')
def server(site):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Handler, directory=str(DOCS)))
    th = threading.Thread(target=srv.serve_forever, daemon=True); th.start()
    yield f'http://127.0.0.1:{srv.server_port}/'
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope='session')
def browser(browser_setup, tmp_path_factory):
    if browser_setup:
        warnings.warn(f"docs browser tests skipped: no headless Chromium: {browser_setup}")
        pytest.skip(f"no headless Chromium: {browser_setup}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--window-size=1400,1000',
              f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        o.add_argument(a)
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=o)
    d.set_page_load_timeout(30)
    yield d
    d.quit()

def _pages()->list[str]:
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob('*.html') if 'site_libs' not in p.parts)

def _load(browser, url):
    browser.get(url)
    for _ in range(50):
        if browser.execute_script('return document.readyState')=='complete': break
        time.sleep(0.1)
    time.sleep(0.2)  # deferred scripts (KaTeX, search, anchors) run after load

def test_pages_load_without_console_errors(browser, server):
    errors = {}
    browser.get_log('browser')  # drop anything from before
    for p in _pages():
        _load(browser, server+p)
        severe = [e['message'] for e in browser.get_log('browser') if e['level']=='SEVERE']
        if severe: errors[p] = severe
        assert browser.title.strip(), f"{p}: no title"
    assert not errors, f"console errors: {errors}"
    assert not _Handler.failed, f"requests the server could not answer: {_Handler.failed}"

class _Links(html.parser.HTMLParser):
    "The URLs a page refers to (links, scripts, stylesheets, pictures) and the ids it defines"
    def __init__(self):
        super().__init__(); self.urls, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag=='a' and a.get('name'): self.ids.add(a['name'])
        for k in ('href', 'src'):
            if a.get(k): self.urls.append(a[k])

def _parse(p:Path)->_Links:
    l = _Links(); l.feed(p.read_text(encoding='utf-8')); return l

def test_no_broken_internal_links(site):
    "Crawl every href/src of every page: each internal target exists (a #fragment with no id on its page is only warned about)"
    parsed = {p: _parse(DOCS/p) for p in _pages()}
    broken, anchors, n = [], [], 0
    for page, links in parsed.items():
        for u in links.urls:
            if re.match(r'^(mailto|data|javascript):', u) or urlsplit(u).scheme in ('http', 'https') or u.startswith('//'): continue
            n += 1
            s = urlsplit(urljoin('http://x/'+page, u))
            path = posixpath.normpath(unquote(s.path)).lstrip('/') or 'index.html'
            target = DOCS/path
            if target.is_dir(): target, path = target/'index.html', posixpath.join(path, 'index.html')
            if not target.is_file(): broken.append(f"{page}: {u}"); continue
            if s.fragment and path.endswith('.html'):
                ids = parsed[path].ids if path in parsed else _parse(target).ids
                if unquote(s.fragment) not in ids: anchors.append(f"{page}: {u}")
    assert n>0
    assert not broken, f"broken internal links: {sorted(set(broken))}"
    if anchors:  # nbdev links every backticked symbol it knows, private helpers and properties too, which get no heading
        warnings.warn(f"{len(set(anchors))} links point at a page that has no such #anchor (they open the page's top): {sorted(set(anchors))}")

def test_search_finds_pages(browser, server):
    "The navbar search (fuse.js over search.json) finds a symbol's page"
    from selenium.webdriver.common.by import By
    _load(browser, server+'index.html')
    box = browser.find_element(By.CSS_SELECTOR, '.smalldocs-search input')
    box.click(); box.send_keys('synthetic')
    hits = []
    for _ in range(50):
        hits = browser.find_elements(By.CSS_SELECTOR, '.smalldocs-search-results a.search-result')
        if hits: break
        time.sleep(0.1)
    assert hits, 'search for "synthetic" found nothing'
    href = hits[0].get_attribute('href')
    assert urlsplit(href).path.lstrip('/') in _pages(), href

def _screenshot(browser, url, dest:Path, max_h:int=6000):
    "A full-page PNG (the window grown to the page's height, at most `max_h` px)"
    _load(browser, url)
    h = browser.execute_script('return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)')
    browser.set_window_size(1400, min(int(h)+120, max_h))
    time.sleep(0.3)
    assert browser.save_screenshot(str(dest))
    browser.set_window_size(1400, 1000)

def test_screenshots(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    tut = sorted(p for p in _pages() if p.startswith('tutorials/'))
    other = tut[0] if tut else next(p for p in _pages() if p!='index.html' and not p.startswith('404'))
    for p in ('index.html', other):
        dest = SHOTS/(p.replace('/', '__').replace('.html', '.png'))
        _screenshot(browser, server+p, dest)
        assert dest.stat().st_size>20_000, f"{dest} looks empty"
    print(f"screenshots in {SHOTS}")
