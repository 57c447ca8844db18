#!/usr/bin/env python3
"""Times the start of a node that holds many fragments, for one or more builds side by side.

    /usr/bin/python3 scripts/start-large.py [--fragments 100000] [--rounds 3] CHECKOUT...

Makes a data directory of that many fragments once (clustered 384-dimension vectors given with
each text, as scripts/bench-table.py imports them), lets each checkout's node open it once (a
build with another index format rebuilds its index then, and saves it), then starts each
checkout in turn on a fresh copy of its directory, `rounds` times. For each start it prints the
seconds from spawning the launcher to GET /ready 200, the seconds from opening the store to
each step the node logs, the resident size a second after ready, and the CPU each thread took
by then (from /proc, so the JIT and the GC are seen apart from the node's own threads).
Results: docs/BENCHMARKS.md, "A node with 100,000 fragments".
"""
import argparse
import os
import re
import shutil
import statistics
import time

import benchlib

STEPS = [('index', 'vector index open'), ('peers', 'listening on /'),
         ('replication', 'replication running'), ('ready', 'ready to serve'),
         ('reconciled', 'vector index is current')]


def seconds_of(log, pattern):
    m = re.search(r'T(\d\d):(\d\d):(\d\d\.\d+)Z[^\n]*' + pattern, log)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def cpu_by_thread(pid):
    """CPU seconds by thread name (numbers at the end folded), for the live threads of pid."""
    cpu = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        task = '/proc/%d/task/%s/' % (pid, tid)
        try:
            with open(task + 'comm') as f:
                name = re.sub(r'[-#]?\d+$', '', f.read().strip())
            used = benchlib.cpu_seconds(task + 'stat')
        except OSError:
            continue  # a thread that ended meanwhile
        cpu[name] = cpu.get(name, 0) + used
    return cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--fragments', type=int, default=100_000)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--work', default='/tmp/mycelium-start-large')
    ap.add_argument('checkouts', nargs='+')
    a = ap.parse_args()
    mods = [benchlib.bench_table(c) for c in a.checkouts]
    os.makedirs(a.work, exist_ok=True)

    made = os.path.join(a.work, 'made-%d' % a.fragments)
    if not os.path.exists(os.path.join(made, 'done')):
        shutil.rmtree(made, ignore_errors=True)
        os.makedirs(made)
        bt = mods[0]
        node = bt.Node(os.path.join(made, 'data'))
        node.start()
        vectors, _ = bt.clustered(a.fragments, 1, 7)
        bt.log('importing %d fragments' % a.fragments)
        bt.import_vectors(node, vectors, 'filler')
        node.wait_indexed(a.fragments)
        node.stop()
        open(os.path.join(made, 'done'), 'w').close()

    own = []
    for i, bt in enumerate(mods):
        data = os.path.join(a.work, 'build%d' % i, 'data')
        shutil.rmtree(os.path.dirname(data), ignore_errors=True)
        shutil.copytree(os.path.join(made, 'data'), data)
        node = bt.Node(data)
        node.start()
        node.wait_indexed(a.fragments)
        node.stop()
        own.append(data)

    ready = [[] for _ in mods]
    for r in range(a.rounds):
        for i, bt in enumerate(mods):
            run = os.path.join(a.work, 'run', 'data')
            shutil.rmtree(os.path.dirname(run), ignore_errors=True)
            shutil.copytree(own[i], run)
            node = bt.Node(run)
            took = node.start()
            time.sleep(1)
            rss = node.rss_bytes()
            cpu = cpu_by_thread(node.proc.pid)
            node.stop()
            with open(run + '.log') as f:
                log = f.read()
            t0 = seconds_of(log, 'opening fragment store')
            steps = ', '.join('%s %.2f' % (name, seconds_of(log, pat) - t0)
                              for name, pat in STEPS if seconds_of(log, pat) is not None)
            top = sorted(cpu.items(), key=lambda kv: -kv[1])[:8]
            ready[i].append(took)
            print('%s: ready %.2f s, resident %d MB; from store open: %s; load %.1f'
                  % (a.checkouts[i], took, rss // 10**6, steps, os.getloadavg()[0]))
            print('    CPU %.1f s: %s' % (sum(cpu.values()),
                                          ', '.join('%s %.2f' % kv for kv in top)), flush=True)
    for i, c in enumerate(a.checkouts):
        print('%s: median %.2f s to ready (%s)'
              % (c, statistics.median(ready[i]), ', '.join('%.2f' % t for t in ready[i])))


if __name__ == '__main__':
    main()
