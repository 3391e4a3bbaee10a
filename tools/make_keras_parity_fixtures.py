"""Whole-model files written by real Keras 3 for the models of tools/parity_models.py, and the reverse check.

Run with real Keras (JAX backend)::

    KERAS_BACKEND=jax /work/kerasvenv/bin/python tools/make_keras_parity_fixtures.py \
        [--graphc-python /work/main/.venv/bin/python] [--skip-reverse] [--names a b ...]

1. Fixtures (tests/data/keras_parity/): for each model of ``parity_models.MODELS``, Keras builds it,
   sets random weights (``parity_models.random_weights``: non-trivial biases, BatchNormalization
   statistics), and ``model.save`` writes ``<name>.h5`` and ``<name>.keras``; ``<name>.npz`` holds
   inputs at batch 5 and batch 1 (``x5_0``.., ``x1_0``..) and Keras's predictions on them
   (``y5_0``.., ``y1_0``..); ``<name>.json`` the summary facts (per-layer name, class, output shape,
   parameter count; trainable / non-trainable / total counts; weight paths and shapes in
   ``get_weights`` order; input/output shapes). tests/keras/test_keras_file_parity.py loads them.
2. Reverse check (not a test): graphc (``--graphc-python``) builds the same models with the same
   random weights, saves ``.h5`` and ``.keras`` to a temporary directory with its predictions, and
   real Keras loads each file with ``keras.models.load_model`` and compares predictions with graphc's
   (and with Keras's own predictions for those weights). One line per check; exit status 1 on any
   failure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
OUT = os.path.join(ROOT, "tests", "data", "keras_parity")

import parity_models  # noqa: E402

BATCHES = (5, 1)
TOL = 1e-5  # max|diff| / max(1, max|expected|)


def _shape(s):
    if s is None:
        return None
    if isinstance(s, (list, tuple)) and s and isinstance(s[0], (list, tuple)):
        return [list(x) for x in s]
    return list(s)


def layer_rows(model):
    rows = []
    for layer in model.layers:
        try:
            out = layer.output
            shape = [list(t.shape) for t in out] if isinstance(out, (list, tuple)) else list(out.shape)
        except (AttributeError, ValueError):  # a layer called more than once has no single output
            shape = None
        rows.append({"name": layer.name, "class_name": type(layer).__name__, "param_count": int(layer.count_params()),
                     "output_shape": shape})
    return rows


def summary_info(keras, model):
    return {
        "keras_version": keras.__version__,
        "model_name": model.name,
        "model_class": type(model).__name__,
        "count_params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "non_trainable_params": int(sum(np.prod(w.shape) for w in model.non_trainable_weights)),
        "input_shape": _shape(model.input_shape if len(model.inputs) > 1 else list(model.inputs[0].shape)),
        "output_shapes": [list(t.shape) for t in model.outputs],
        "layers": layer_rows(model),
        "weights": [{"path": w.path, "shape": list(w.shape), "trainable": bool(w.trainable)} for w in model.weights],
        "num_inputs": len(model.inputs),
        "num_outputs": len(model.outputs),
    }


def write_fixtures(names):
    import keras
    os.makedirs(OUT, exist_ok=True)
    for k, name in enumerate(names):
        keras.backend.clear_session()
        model = parity_models.MODELS[name][0](keras)
        rng = np.random.default_rng(1000 + sorted(parity_models.MODELS).index(name))
        model.set_weights(parity_models.random_weights(model, rng))
        arrays = {}
        for batch in BATCHES:
            xs = parity_models.draw_inputs(name, batch, rng)
            ys = parity_models.as_list(model.predict(parity_models.feed(model, xs), batch_size=batch, verbose=0))
            arrays.update({f"x{batch}_{i}": x for i, x in enumerate(xs)})
            arrays.update({f"y{batch}_{i}": np.asarray(y) for i, y in enumerate(ys)})
        model.save(os.path.join(OUT, f"{name}.keras"))
        try:
            model.save(os.path.join(OUT, f"{name}.h5"))
        except TypeError as e:  # Keras 3.15's legacy writer deep-copies configs; some layers hold modules
            print(f"Keras cannot write {name}.h5 ({type(e).__name__}: {e}); only the .keras file is kept")
            if os.path.exists(os.path.join(OUT, f"{name}.h5")):
                os.remove(os.path.join(OUT, f"{name}.h5"))
        np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **arrays)
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(summary_info(keras, model), f, indent=1, sort_keys=True)
        size = sum(os.path.getsize(os.path.join(OUT, f"{name}.{e}")) for e in ("h5", "keras", "npz", "json")
                   if os.path.exists(os.path.join(OUT, f"{name}.{e}")))
        print(f"wrote {name}: {size} bytes")


ACTIVATION_ARGS = {"threshold": dict(threshold=0.5, default_value=-1.0), "glu": {}, "sparsemax": None}


def write_activation_grid():
    """Every function of keras.activations (Keras 3's full list) on a grid -> activations_all.npz, plus
    keras.ops.any/all and a GetItem key set, so graphc's functions are checked against Keras's numbers."""
    import keras
    from keras.src.activations import ALL_OBJECTS_DICT
    x = np.linspace(-3.5, 3.5, 56, dtype=np.float32).reshape(4, 14)
    arrays = {"x": x}
    for name in sorted(ALL_OBJECTS_DICT):
        args = ACTIVATION_ARGS.get(name, {})
        if args is None:
            continue
        arrays[f"act_{name}"] = np.asarray(keras.activations.get(name)(x, **args))
    arrays["op_gelu_tanh"] = np.asarray(keras.ops.gelu(x))  # keras.ops.gelu defaults to approximate=True
    b = x > 0.5
    arrays["op_any_1"] = np.asarray(keras.ops.any(b, axis=1))
    arrays["op_all_0_keep"] = np.asarray(keras.ops.all(b, axis=0, keepdims=True))
    cube = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    arrays["cube"] = cube
    for i, key in enumerate(GETITEM_KEYS):
        arrays[f"getitem_{i}"] = np.asarray(keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(cube)[key]))
    np.savez_compressed(os.path.join(OUT, "activations_all.npz"), **arrays)
    print(f"wrote activations_all.npz: {len(arrays)} arrays")


GETITEM_KEYS = [(slice(None), 1), (Ellipsis, None, slice(None, None, -2)), (0, slice(1, None), -1),
                (slice(None), slice(3, 0, -1)), (-1,), (slice(1, 3), None, Ellipsis, 2)]


GRAPHC_SCRIPT = r"""
import json, sys, traceback, numpy as np
sys.path.insert(0, {tools!r}); sys.path.insert(0, {root!r})
from graphc import keras
import parity_models as pm
import make_keras_parity_fixtures as mk
names = {names!r}
status = {{}}
for name in names:
    try:
        keras.backend.clear_session()
        model = pm.MODELS[name][0](keras)
        rng = np.random.default_rng(2000 + sorted(pm.MODELS).index(name))
        model.set_weights(pm.random_weights(model, rng))
        xs = pm.draw_inputs(name, 4, rng)
        ys = pm.as_list(model.predict(pm.feed(model, xs), verbose=0))
        for ext in ("h5", "keras"):
            model.save(f"{out}/{{name}}.{{ext}}")
        np.savez(f"{out}/{{name}}.npz", *model.get_weights(), **{{f"x{{i}}": a for i, a in enumerate(xs)}},
                 **{{f"y{{i}}": a for i, a in enumerate(ys)}})
        status[name] = "ok"
    except Exception as e:
        status[name] = f"{{type(e).__name__}}: {{str(e)[:300]}}"
json.dump(status, open(f"{out}/status.json", "w"))
"""


def reverse_check(graphc_python, names):
    """graphc writes files to a temporary directory; real Keras loads them and compares predictions."""
    import keras
    out = tempfile.mkdtemp(prefix="graphc_parity_")
    code = GRAPHC_SCRIPT.format(tools=os.path.join(ROOT, "tools"), root=ROOT, out=out, names=list(names))
    subprocess.run([graphc_python, "-c", code], check=True, cwd=ROOT)
    status = json.load(open(os.path.join(out, "status.json")))
    failures = checks = 0
    for name in names:
        if status[name] != "ok":
            print(f"FAIL graphc builds/saves {name}: {status[name]}")
            failures += 1
            checks += 1
            continue
        data = np.load(os.path.join(out, f"{name}.npz"), allow_pickle=False)
        xs = [data[f"x{i}"] for i in range(sum(k.startswith("x") for k in data.files))]
        want = [data[f"y{i}"] for i in range(sum(k.startswith("y") for k in data.files))]
        weights = [data[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in data.files))]
        # Keras's own model with graphc's weights: the oracle for graphc's predictions
        keras.backend.clear_session()
        own = parity_models.MODELS[name][0](keras)
        own.set_weights(weights)
        oracle = parity_models.as_list(own.predict(parity_models.feed(own, xs), verbose=0))
        for ext in ("h5", "keras"):
            checks += 1
            try:
                keras.backend.clear_session()
                model = keras.models.load_model(os.path.join(out, f"{name}.{ext}"), safe_mode=False)
                got = parity_models.as_list(model.predict(parity_models.feed(model, xs), verbose=0))
                assert len(got) == len(want), f"{len(got)} outputs, graphc {len(want)}"
                err = max(float(np.max(np.abs(np.asarray(g) - w))) / max(1.0, float(np.max(np.abs(w))))
                          for g, w in zip(got, want))
                err_o = max(float(np.max(np.abs(np.asarray(g) - w))) / max(1.0, float(np.max(np.abs(w))))
                            for g, w in zip(oracle, want))
                same_params = model.count_params() == own.count_params()
                ok = err < TOL and err_o < TOL and same_params
                print(f"{'OK  ' if ok else 'FAIL'} keras loads graphc {name}.{ext}: {len(model.layers)} layers, "
                      f"rel max|diff| vs graphc {err:.1e}, Keras-built with graphc's weights vs graphc {err_o:.1e}, "
                      f"params {model.count_params()} (keras-built {own.count_params()})")
            except Exception as e:  # report, keep checking the others
                ok = False
                print(f"FAIL keras loads graphc {name}.{ext}: {type(e).__name__}: {str(e)[:400]}")
            failures += not ok
    print(f"reverse check: {checks} checks over {len(names)} models, {failures} failure(s); files in {out}")
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphc-python", default="/work/main/.venv/bin/python")
    p.add_argument("--skip-reverse", action="store_true")
    p.add_argument("--skip-write", action="store_true")
    p.add_argument("--names", nargs="*", default=sorted(parity_models.MODELS))
    args = p.parse_args()
    if not args.skip_write:
        write_fixtures(args.names)
        write_activation_grid()
    if not args.skip_reverse:
        sys.exit(reverse_check(args.graphc_python, args.names) > 0)


if __name__ == "__main__":
    main()
