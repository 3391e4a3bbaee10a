"""Write the ONNX backend suite's node cases to disk, generated offline from onnx/backend/test/case.

    python tools/gen_onnx_node_cases.py                  # -> build/onnx_node_cases/ (git-ignored)
    python tools/gen_onnx_node_cases.py -o DIR --op LRN  # only one op's cases

The onnx 1.23 wheel ships no ``backend/test/data/node``; its case scripts
(``onnx/backend/test/case/node/*.py``) build each node model and compute the expected outputs
with numpy. This tool runs them (a few seconds, no network) and writes the standard layout,
``DIR/node/<case>/model.onnx`` and ``test_data_set_0/{input,output}_<i>.pb``, which
``onnx_test_runner``, onnxruntime's backend runner or a debugger can read.

``tests/onnx/test_backend.py`` does not need this directory: ``onnx.backend.test.BackendTest``
regenerates the same node cases in memory from the same case scripts when the module is
collected (also offline, about 5 s).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import warnings

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _proto(value, type_proto, name):
    """A value as the protobuf the data files hold (tensor, sequence or optional)."""
    if isinstance(value, onnx.TensorProto):
        return value
    if type_proto.HasField("sequence_type"):
        return numpy_helper.from_list(value, name)
    if type_proto.HasField("optional_type"):
        return numpy_helper.from_optional(value, name)
    return numpy_helper.from_array(np.asarray(value), name)


def generate(out_dir, op_type=None) -> int:
    from onnx.backend.test.case import node
    with warnings.catch_warnings():  # some case scripts overflow casts on purpose
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(op_type)
    if op_type:  # collect_testcases filters only on first import; keep the op's cases and their expansions
        direct = {c.name for c in cases if any(n.op_type == op_type for n in c.model.graph.node)}
        cases = [c for c in cases if c.name in direct or c.name.split("_expanded")[0] in direct]
    root = os.path.join(out_dir, "node")
    for case in cases:
        d = os.path.join(root, case.name)
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(os.path.join(d, "test_data_set_0"))
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        graph = case.model.graph
        for inputs, outputs in case.data_sets:
            for kind, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
                for i, (v, vi) in enumerate(zip(values, infos)):
                    with open(os.path.join(d, "test_data_set_0", f"{kind}_{i}.pb"), "wb") as f:
                        f.write(_proto(v, vi.type, vi.name).SerializeToString())
    return len(cases)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=os.path.join(ROOT, "build", "onnx_node_cases"),
                    help="output directory (default: %(default)s)")
    ap.add_argument("--op", help="only the cases of this op type")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    n = generate(args.output, args.op)
    print(f"wrote {n} node cases under {os.path.join(args.output, 'node')} in {time.perf_counter() - t0:.1f} s "
          f"(onnx {onnx.__version__})")
    return 0 if n else 1


if __name__ == "__main__":
    sys.exit(main())
