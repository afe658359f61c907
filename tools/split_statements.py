#!/usr/bin/env python
"""Split `;`-joined statements in the export cells of notebooks, one statement per line.

    pip install libcst
    python tools/split_statements.py nbs/*.ipynb      # rewrites the notebooks in place, reports what changed

`a = 1; b = 2` becomes two lines; `if x: a; b` becomes an indented block. Comments and the rest of the
formatting are kept (libcst round-trips source exactly). Only cells with an `export` directive are touched:
a trailing `;` that silences a plot in a demo cell is a different thing and stays.
"""
import json, re, sys
from pathlib import Path
import libcst as cst

class _Split(cst.CSTTransformer):
    def leave_SimpleStatementLine(self, node, updated):
        if len(updated.body)<2: return updated
        body = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in updated.body]
        lines = [cst.SimpleStatementLine(body=[s]) for s in body]
        lines[0] = lines[0].with_changes(leading_lines=updated.leading_lines)
        lines[-1] = lines[-1].with_changes(trailing_whitespace=updated.trailing_whitespace)
        return cst.FlattenSentinel(lines)
    def leave_SimpleStatementSuite(self, node, updated):
        if len(updated.body)<2: return updated
        body = [cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]) for s in updated.body]
        body[-1] = body[-1].with_changes(trailing_whitespace=updated.trailing_whitespace)
        return cst.IndentedBlock(body=body)

def split_source(src:str)->str:
    "`src` with every `;`-joined statement on a line of its own"
    return cst.parse_module(src).visit(_Split()).code if ';' in src else src

def main(paths):
    for p in map(Path, paths):
        nb = json.loads(p.read_text(encoding='utf-8')); n = 0
        for c in nb['cells']:
            src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
            if c['cell_type']!='code' or not re.search(r'^#\|\s*export', src, re.M): continue
            new = split_source(src)
            if new!=src: c['source'] = new.splitlines(keepends=True); n += 1
        if n:
            p.write_text(json.dumps(nb, indent=1, ensure_ascii=False)+'\n', encoding='utf-8')
            print(f"{p}: {n} cells changed")

if __name__=='__main__': main(sys.argv[1:])
