#!/usr/bin/env python3
"""Compares two or more run folders of run-suite.sh test by test.

usage: compare.py BASELINE_DIR OTHER_DIR [OTHER_DIR...] --md OUT.md --tsv OUT.tsv

A test is keyed by (file, name, n-th occurrence of that name in the file), since a file may repeat a
name (the same test per encoding). For every test that passes in BASELINE and not in OTHER, it records
how it ended in OTHER: err (with a one-line signature of the failure), or not run (the file stopped:
a timeout or an exception before it).
"""
import re, sys, os, collections, csv

STATUS = re.compile(r'^\[(ok|err|skip|ignore|exception|TIMEOUT)\]: ?(.*)$')
BOUNDARY = re.compile(r'^(\[(ok|err|skip|ignore|exception|TIMEOUT)\]|\[\d+/\d+ done\]|Testing |\s+The End|Execution time|  \d+ seconds - )')
OK_NAME = re.compile(r'^(.*) \(\d+ ms\)$')
ERR_NAME = re.compile(r'^(.*) in (tests/\S+\.tcl)$')


def parse_log(path):
    """Ordered list of (name, status, detail lines) of one test file's log."""
    lines = open(path, errors='replace').read().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = STATUS.match(lines[i])
        if not m:
            i += 1
            continue
        status, rest = m.group(1), m.group(2)
        detail, j = [], i + 1
        while j < len(lines) and not BOUNDARY.match(lines[j]):
            detail.append(lines[j]); j += 1
        if status == 'ok':
            mm = OK_NAME.match(rest); out.append(((mm.group(1) if mm else rest), 'ok', []))
        elif status == 'err':
            mm = ERR_NAME.match(rest)
            if mm:
                out.append((mm.group(1), 'err', detail))
            else:  # an error in a start_server block outside any test (--durable reports it so)
                out.append(('<block error> ' + rest[:80], 'blockerr', [rest] + detail))
        elif status in ('exception', 'TIMEOUT'):
            out.append(('<' + status + '>', status.lower(), [rest] + detail))
        i = j
    return out


def load_run(d):
    runs = {}
    for line in open(os.path.join(d, 'results.tsv')).read().splitlines()[1:]:
        f = line.split('\t')[0]
        log = os.path.join(d, 'logs', f.replace('/', '_') + '.log')
        runs[f] = parse_log(log) if os.path.exists(log) else []
    return runs


def keyed(records):
    seen, res = collections.Counter(), collections.OrderedDict()
    for name, status, detail in records:
        if name.startswith('<'):
            continue
        seen[name] += 1
        res[(name, seen[name])] = (status, detail)
    return res


def signature(detail):
    text = '\n'.join(detail)
    m = re.search(r"ERR '([^']+)' is not supported by rampart", text)
    if m:
        return "refused by rampart: " + m.group(1)
    m = re.search(r"(NOPERM rampart[^\n]*)", text)
    if m:
        return m.group(1)[:160]
    for pat, sig in ((r'I/O error|connection reset|broken pipe|connection refused|couldn\'t open socket', 'connection error'),):
        if re.search(pat, text, re.I):
            return sig + ': ' + detail[0][:140] if detail else sig
    first = next((l.strip() for l in detail if l.strip()), '')
    return first[:200]


def stop_reason(records, direct_order, key):
    """Why a test that ran directly did not run here: the first error outside a test (an exception, a
    start_server block's error under --durable, a timeout) after the last test before it that did run."""
    names = [(n, s) for n, s, _ in records]
    ran = collections.Counter()
    index_of = {}
    for i, (n, s) in enumerate(names):
        if not n.startswith('<'):
            ran[n] += 1; index_of[(n, ran[n])] = i
    pos = direct_order.index(key)
    start = 0
    for prev in reversed(direct_order[:pos]):
        if prev in index_of:
            start = index_of[prev] + 1; break
    for name, status, detail in records[start:]:
        if status in ('exception', 'timeout', 'blockerr'):
            what = {'exception': 'the file stopped', 'timeout': 'the file timed out',
                    'blockerr': 'its start_server block stopped'}[status]
            if status == 'timeout':
                return f'not run, {what}: hang in ' + ' '.join(l.strip() for l in detail[1:2])[:160]
            return f'not run, {what}: ' + signature(detail)
    return 'not run: the file ended early (per-file time limit)'


def main():
    args = sys.argv[1:]
    md = args[args.index('--md') + 1]; tsv = args[args.index('--tsv') + 1]
    dirs = [a for a in args if not a.startswith('--') and a not in (md, tsv)]
    base, others = dirs[0], dirs[1:]
    b = load_run(base)
    runs = [load_run(o) for o in others]
    rows, lost_rows = [], []
    for f in b:
        bk = keyed(b[f])
        bok = sum(1 for s, _ in bk.values() if s == 'ok')
        row = [f, bok, sum(1 for s, _ in bk.values() if s != 'ok')]
        for o, r in zip(others, runs):
            ok = keyed(r.get(f, []))
            row += [sum(1 for s, _ in ok.values() if s == 'ok'), sum(1 for s, _ in ok.values() if s != 'ok')]
            lost = 0
            for key, (s, _) in bk.items():
                if s != 'ok':
                    continue
                if key in ok and ok[key][0] == 'ok':
                    continue
                lost += 1
                if key in ok:
                    sig = signature(ok[key][1]); how = ok[key][0]
                else:
                    sig = stop_reason(r.get(f, []), list(bk.keys()), key); how = 'notrun'
                lost_rows.append([os.path.basename(o), f, key[0], key[1], how, sig])
            gained = sum(1 for k, (s, _) in ok.items() if s == 'ok' and not (k in bk and bk[k][0] == 'ok'))
            row += [lost, gained]
        rows.append(row)
    with open(tsv, 'w', newline='') as fh:
        w = csv.writer(fh, delimiter='\t')
        w.writerow(['run', 'file', 'test', 'occurrence', 'how', 'signature'])
        w.writerows(lost_rows)
    with open(md, 'w') as fh:
        head = ['file', f'{os.path.basename(base)} ok', f'{os.path.basename(base)} failed']
        for o in others:
            n = os.path.basename(o)
            head += [f'{n} ok', f'{n} failed', f'{n} lost', f'{n} gained']
        fh.write('| ' + ' | '.join(head) + ' |\n|' + '---|' * len(head) + '\n')
        totals = [0] * (len(head) - 1)
        for row in rows:
            if all(v == 0 for v in row[1:]):
                continue
            fh.write('| ' + ' | '.join(str(v) for v in row) + ' |\n')
            totals = [t + v for t, v in zip(totals, row[1:])]
        fh.write('| **total** | ' + ' | '.join(f'**{t}**' for t in totals) + ' |\n')
        for o in others:
            n = os.path.basename(o)
            sigs = collections.Counter(r[5] for r in lost_rows if r[0] == n)
            fh.write(f'\n### {n}: tests that pass in {os.path.basename(base)} and not here, by signature\n\n')
            for sig, c in sigs.most_common():
                fh.write(f'- {c}: `{sig}`\n')
    print(open(md).read())

main()
