"""The official ONNX backend test suite (``onnx.backend.test.BackendTest``) set up for graphc.

Shared by ``tests/onnx/test_backend.py`` (pytest) and ``tools/onnx_backend_report.py`` (counts).

Categories (onnx's names): ``Node`` (one op per model, generated offline from
``onnx/backend/test/case`` by onnx's own generator, since the 1.23 wheel ships no
``data/node``), ``Simple``, ``PyTorchConverted``, ``PyTorchOperator`` (models shipped in the
wheel's ``backend/test/data``) and ``Real`` (the nine light model-zoo CNNs: the shipped
``data/light`` models whose weights are ConstantOfShape chains, with shipped expected outputs).

Rules, applied to every case:
- a case using an op that is not in graphc's op registry is skipped, the missing ops named;
- a case listed in ``backend_exclusions.EXCLUDED`` is skipped with the reason given there;
- every other case must pass. Only the CPU device exists, so the CUDA variants are dropped.
``GRAPHC_ONNX_RUN_EXCLUDED=1`` runs the excluded cases too (to find exclusions that are stale).
"""
from __future__ import annotations

import os
import tempfile
import unittest
import warnings

import onnx
import onnx.backend.test

from graphc.onnx.backend import GraphcBackend
from graphc.ops import registry

import backend_exclusions

CATEGORIES = {"OnnxBackendNodeModelTest": "node", "OnnxBackendSimpleModelTest": "simple",
              "OnnxBackendPyTorchConvertedModelTest": "pytorch-converted",
              "OnnxBackendPyTorchOperatorModelTest": "pytorch-operator", "OnnxBackendRealModelTest": "light model zoo"}


def model_ops(model) -> set:
    """Op types (``domain.Op`` outside the default domain) of a model, subgraphs and functions included."""
    ops = set()

    def walk(nodes):
        for n in nodes:
            ops.add(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}")
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g.node)
                for sub in a.graphs:
                    walk(sub.node)

    walk(model.graph.node)
    local = {(f.domain, f.name) for f in model.functions}
    for f in model.functions:
        walk(f.node)
    return {o for o in ops if tuple(o.rsplit(".", 1)) not in local and ("", o) not in local}


def missing_ops(model) -> list:
    return sorted(o for o in model_ops(model)
                  if not registry.has(*(reversed(o.rsplit(".", 1)) if "." in o else (o,))))


class SuiteBackend(GraphcBackend):
    """graphc's backend, plus the suite's skip rule for ops graphc does not have."""

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        missing = missing_ops(model)
        if missing:
            raise unittest.SkipTest(f"ops not in graphc's registry: {', '.join(missing)}")
        return super().prepare(model, device, **kwargs)

    @classmethod
    def is_compatible(cls, model, device="CPU", **kwargs):
        return True  # prepare() skips with the missing ops named


def _light_models_dir():
    """The runner writes the light models' input/expected-output files under ONNX_MODELS; keep them
    out of the user's ~/.onnx (one directory per process: xdist workers never share files)."""
    if "GRAPHC_ONNX_MODELS_SET" not in os.environ:
        os.environ["ONNX_MODELS"] = tempfile.mkdtemp(prefix="graphc-onnx-light-")
        os.environ["GRAPHC_ONNX_MODELS_SET"] = "1"


def test_cases(module_name: str) -> dict:
    """{class name: unittest.TestCase class} for the suite, exclusions and CPU-only applied."""
    _light_models_dir()
    with warnings.catch_warnings():  # onnx's case generators overflow casts on purpose (float8 cases)
        warnings.simplefilter("ignore")
        suite = onnx.backend.test.BackendTest(SuiteBackend, module_name)
        classes = suite.test_cases
    known = set()
    for cls in classes.values():
        for name in [n for n in vars(cls) if n.startswith("test_")]:
            if name.endswith("_cuda"):
                delattr(cls, name)
                continue
            case = name[:-len("_cpu")]
            known.add(case)
            reason = backend_exclusions.EXCLUDED.get(case)
            if reason and not os.environ.get("GRAPHC_ONNX_RUN_EXCLUDED"):
                setattr(cls, name, unittest.skip(f"excluded: {reason}")(getattr(cls, name)))
    stale = sorted(set(backend_exclusions.EXCLUDED) - known)
    if stale:
        raise ValueError(f"backend_exclusions.EXCLUDED names cases the suite does not have: {stale}")
    return classes
