#!/usr/bin/env python3
"""Start-to-/ready of a fresh node, alternating between checkouts so that they share the
machine's moods.

    /usr/bin/python3 scripts/start-time.py N CHECKOUT [CHECKOUT...]

Each CHECKOUT is a directory with a built Mycelium (its ./mycelium); append ":nocds" to run it
with MYCELIUM_NO_CDS=1. Every start uses a new data directory and is timed as
scripts/bench-table.py times it: from spawning the launcher to GET /ready answering 200.
"""
import os
import shutil
import sys
import tempfile

import benchlib


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    runs = []
    for arg in sys.argv[2:]:
        root, _, flag = arg.partition(':')
        env = dict(os.environ)
        if flag == 'nocds':
            env['MYCELIUM_NO_CDS'] = '1'
        runs.append((arg, benchlib.bench_table(os.path.abspath(root)), env))
    times = {arg: [] for arg, _, _ in runs}
    for _ in range(n):
        for arg, module, env in runs:
            work = tempfile.mkdtemp(prefix='mycelium-start-')
            node = module.Node(os.path.join(work, 'data'), env=env)
            try:
                times[arg].append(node.start())
            finally:
                node.stop()
                shutil.rmtree(work, ignore_errors=True)
            print('%s %.2f s' % (arg, times[arg][-1]), flush=True)
    for arg, _, _ in runs:
        t = sorted(times[arg])
        print('%s: median %.2f s, min %.2f, max %.2f (%d starts)'
              % (arg, t[len(t) // 2], t[0], t[-1], len(t)))


if __name__ == '__main__':
    main()
