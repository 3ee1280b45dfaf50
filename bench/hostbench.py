"""Shared by the CPython benchmarks (bench/host_*.py): the result line bench/run.py reads."""
import json


def emit(name, value, unit, note=""):
    print("@@BENCH " + json.dumps({"name": name, "value": value, "unit": unit, "note": note}), flush=True)
