"""Pass counts of the ONNX backend test suite against graphc, per category and per op.

    python tools/onnx_backend_report.py              # runs the suite in this process (CPU cases)
    python tools/onnx_backend_report.py --junit r.xml  # counts from a pytest run instead:
        python -m pytest tests/onnx/test_backend.py -n 2 --junitxml=r.xml

Prints two markdown tables: per category (passed / excluded with a reason / skipped because an
op is not in graphc's registry / failed) and per op of graphc's registry (the node cases that
use the op). The README's Coverage section is this script's first table.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import unittest
import warnings
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "onnx")]

import onnx  # noqa: E402
from onnx.backend.test.loader import load_model_tests  # noqa: E402

import backend_exclusions  # noqa: E402
import backend_suite  # noqa: E402
from graphc.ops import registry  # noqa: E402

KINDS = {"node": "node", "simple": "simple", "pytorch-converted": "pytorch-converted",
         "pytorch-operator": "pytorch-operator", "real": "light model zoo"}


def case_models() -> dict:
    """{case name: (category, ModelProto)} for every case of the suite."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, category in KINDS.items():
            for t in load_model_tests(kind=kind):
                if t.model is not None:
                    model = t.model
                elif t.model_dir is not None:
                    model = onnx.load(os.path.join(t.model_dir, "model.onnx"))
                else:  # light models: the url is a path inside the onnx package
                    path = os.path.join(os.path.dirname(os.path.dirname(onnx.__file__)), t.url)
                    model = onnx.load(path)
                out[t.name] = (category, model)
    return out


class _Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.outcome = {}

    def addSuccess(self, test):
        self.outcome[test._testMethodName] = ("passed", "")

    def addFailure(self, test, err):
        self.outcome[test._testMethodName] = ("failed", str(err[1])[:200])

    addError = addFailure

    def addSkip(self, test, reason):
        self.outcome[test._testMethodName] = ("excluded" if reason.startswith("excluded:") else "skipped", reason)


def run_in_process() -> dict:
    result = _Result()
    for cls in backend_suite.test_cases("onnx_backend_report").values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unittest.defaultTestLoader.loadTestsFromTestCase(cls).run(result)
    return {name[:-len("_cpu")]: v for name, v in result.outcome.items()}


def read_junit(path) -> dict:
    out = {}
    for tc in ET.parse(path).iter("testcase"):
        name = tc.get("name")
        if not name.endswith("_cpu"):
            continue
        skip = tc.find("skipped")
        if tc.find("failure") is not None or tc.find("error") is not None:
            out[name[:-4]] = ("failed", "")
        elif skip is not None:
            reason = skip.get("message") or ""
            out[name[:-4]] = ("excluded" if "excluded:" in reason else "skipped", reason)
        else:
            out[name[:-4]] = ("passed", "")
    return out


def report(outcomes, models):
    cols = ("passed", "excluded", "skipped", "failed")
    per_cat = collections.OrderedDict((c, collections.Counter()) for c in KINDS.values())
    per_op = collections.defaultdict(collections.Counter)
    ours = {t for d, t in registry.all_ops() if not d}
    for name, (status, _) in outcomes.items():
        category, model = models[name]
        per_cat[category][status] += 1
        if category == "node":
            for op in backend_suite.model_ops(model) & ours:
                per_op[op][status] += 1
    lines = ["| category | cases | passed | excluded (reason listed) | skipped (op not in graphc) | failed |",
             "|---|---:|---:|---:|---:|---:|"]
    total = collections.Counter()
    for cat, c in per_cat.items():
        total.update(c)
        lines.append(f"| {cat} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in cols) + " |")
    lines.append("| **all** | " + f"**{sum(total.values())}** | " + " | ".join(f"**{total[k]}**" for k in cols) + " |")
    runnable = total["passed"] + total["excluded"] + total["failed"]
    lines.append("")
    lines.append(f"Of the {runnable} cases whose ops are all in graphc's registry, {total['passed']} pass "
                 f"and {total['excluded']} are excluded with a reason (tests/onnx/backend_exclusions.py).")
    lines.append("")
    lines.append("| op (node cases using it) | passed | excluded | skipped (another op missing) | failed |")
    lines.append("|---|---:|---:|---:|---:|")
    for op in sorted(per_op):
        c = per_op[op]
        lines.append(f"| {op} | " + " | ".join(str(c[k]) for k in cols) + " |")
    untested = sorted(ours - set(per_op))
    if untested:
        lines.append("")
        lines.append(f"Registry ops with no node case: {', '.join(untested)}")
    return "\n".join(lines), total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--junit", help="read outcomes from a pytest --junitxml file instead of running the suite")
    ap.add_argument("--run-excluded", action="store_true",
                    help="run the excluded cases too and list those that pass now (stale exclusions)")
    args = ap.parse_args(argv)
    if args.run_excluded:
        os.environ["GRAPHC_ONNX_RUN_EXCLUDED"] = "1"
    outcomes = read_junit(args.junit) if args.junit else run_in_process()
    text, total = report(outcomes, case_models())
    print(text)
    if args.run_excluded:
        stale = sorted(n for n in backend_exclusions.EXCLUDED if outcomes.get(n, ("",))[0] == "passed")
        print(f"\nexcluded cases that pass now (remove them from the list): {stale or 'none'}")
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
