"""onnxruntime peer: runs graphc's own exported ONNX model (inference samples/s and batch-1 latency)."""
from __future__ import annotations

from common import emit, measure_inference, parse_args
from workloads import INFER_BATCH, data, spec


def main():
    args = parse_args()
    import onnxruntime as ort
    s = spec(args.workload, args.quick)
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out_name = sess.get_outputs()[0].name

    def predict(xb):
        return sess.run([out_name], {name: xb})[0]
    xi = data(s, n=INFER_BATCH * (4 if args.quick else 16), seed=1)[0]
    out = {"peer": "onnxruntime", "workload": s["name"], "threads": args.threads, "version": ort.__version__}
    measure_inference(out, s["name"], predict, xi, INFER_BATCH, args.quick)
    emit(out)


if __name__ == "__main__":
    main()
