#!/usr/bin/env python3
"""Embedding through a fresh node and then a warm one, alternating between checkouts so that
they share the machine's moods.

    apt-get install -y wordnet-base
    /usr/bin/python3 scripts/embed-warm.py N CHECKOUT [CHECKOUT...]

Each CHECKOUT is a directory with a built Mycelium (its ./mycelium). N rounds; in each, every
checkout gets a fresh `./mycelium run` on the embedded defaults, left idle 20 s, then 3,000
WordNet noun glosses and 3,000 more, each batch POSTed in parts of 500 and timed until the
index holds it. Printed per run: texts per second for both batches, and the CPU the embedding
threads used per text (their threads, ONNX Runtime's included, from /proc/PID/task). The node
and the glosses are those of scripts/bench-table.py. Results: docs/BENCHMARKS.md, "Embedding".
"""
import os
import shutil
import sys
import time

import benchlib


def embedder_cpu(pid):
    """CPU seconds of the threads named mycelium-embedder*, which ONNX Runtime's inherit."""
    total = 0.0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            name = open('/proc/%d/task/%s/comm' % (pid, tid)).read().strip()
            if not name.startswith('mycelium-embedd'):
                continue
            total += benchlib.cpu_seconds('/proc/%d/task/%s/stat' % (pid, tid))
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def run(root, texts):
    bt = benchlib.bench_table(root)
    work = '/tmp/mycelium-embed-warm'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    node = bt.Node(os.path.join(work, 'node'))
    node.start()
    try:
        time.sleep(20)
        out = []
        held = 0
        for batch in (texts[:3000], texts[3000:]):
            cpu0 = embedder_cpu(node.proc.pid)
            t = time.monotonic()
            benchlib.post_texts(node, batch)
            held += len(batch)
            node.wait_indexed(held)
            wall = time.monotonic() - t
            per_text = (embedder_cpu(node.proc.pid) - cpu0) / len(batch)
            out.append((len(batch) / wall, per_text))
        return out
    finally:
        node.stop()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    roots = [os.path.abspath(r) for r in sys.argv[2:]]
    benchlib.need_wordnet()
    texts = benchlib.bench_table(roots[0]).wordnet_glosses(6000)
    for _ in range(rounds):
        for root in roots:
            (fresh, fresh_cpu), (warm, warm_cpu) = run(root, texts)
            print('%-40s first 3,000: %4.0f texts/s (embedding %.2f ms CPU a text); next 3,000: '
                  '%4.0f texts/s (%.2f ms)' % (root, fresh, 1000 * fresh_cpu, warm,
                                                1000 * warm_cpu), flush=True)


if __name__ == '__main__':
    main()
