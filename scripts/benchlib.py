"""Loads scripts/bench-table.py for the other measurement scripts.

Its file name has a hyphen, so it cannot be imported by name; it is loaded by path, from this
checkout or from another one (scripts that compare two builds use each build's own, so that
its Node starts that build's ./mycelium).
"""
import importlib.util
import os

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_table(checkout=None):
    """The bench-table module of `checkout` (default: the one this file is in)."""
    root = os.path.abspath(checkout or _CHECKOUT)
    path = os.path.join(root, 'scripts', 'bench-table.py')
    spec = importlib.util.spec_from_file_location('bench_table_%d' % abs(hash(root)), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
