"""Write whole-model files saved by real Keras 3 for graphc's load_model tests, and check the reverse.

Run with real Keras (JAX backend)::

    KERAS_BACKEND=jax /work/kerasvenv/bin/python tools/make_keras_model_files.py \
        [--graphc-python /work/main/.venv/bin/python] [--skip-reverse]

1. For four small models -- an MLP (compiled with Adam and trained one epoch, so the files hold
   optimizer state), the MNIST CNN of tests/keras_models.py (compiled with SGD) and a functional
   two-input, two-output model with a shared layer (tests/keras_models.py's two_tower_functions,
   compiled with per-output losses and loss weights), and a functional model with keras.ops nodes
   (``ops_model``) -- ``model.save`` writes
   ``tests/data/keras/files/<name>.h5`` and ``<name>.keras``, and ``<name>.npz`` holds fixed inputs
   (``x0``, ``x1``, ...) and Keras's predictions on them (``y0``, ``y1``, ...).
2. Reverse check (not a test): graphc (``--graphc-python``) builds the same architectures, saves
   them to /tmp as ``.h5`` and ``.keras`` with its predictions, and real Keras loads graphc's
   files with ``keras.models.load_model`` and compares predictions. One line per check.
3. Conversion check (not a test): graphc converts the PyTorch ONNX fixtures of tests/data/torch
   (``graphc.convert(x.onnx, x.keras / x.h5)``; channels_first Keras layers) and real Keras loads
   the results and compares them with torch's stored outputs.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
OUT = os.path.join(ROOT, "tests", "data", "keras", "files")

import keras_models  # noqa: E402


def mlp(keras):
    return keras.Sequential([keras.Input(shape=(10,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3, activation="softmax")])


def ops_model(keras):
    """keras.ops nodes in a functional model (Keras 3 saves them as Operation entries)."""
    x = keras.Input(shape=(6,))
    h = keras.layers.Dense(8, activation="relu")(x)
    y = keras.ops.concatenate([keras.ops.tanh(h * 0.5 + 1.0), keras.ops.softmax(h, axis=-1)], axis=-1)
    m = keras.ops.mean(keras.ops.reshape(y, (-1, 4, 4)), axis=1)
    return keras.Model(x, keras.layers.Dense(3)(m))


def build(keras, name):
    """(model, inputs, targets): compiled, the same in Keras and graphc."""
    rng = np.random.default_rng(0)
    if name == "mlp":
        model = mlp(keras)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        xs = [rng.standard_normal((6, 10)).astype("float32")]
        ys = [rng.integers(0, 3, (6,))]
    elif name == "mnist_cnn":
        model = keras_models.mnist_cnn(keras)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        xs = [rng.random((4, 28, 28, 1)).astype("float32")]
        ys = [np.eye(10, dtype="float32")[rng.integers(0, 10, (4,))]]
    elif name == "ops_model":
        model = ops_model(keras)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mean_squared_error")
        xs = [rng.standard_normal((5, 6)).astype("float32")]
        ys = [rng.standard_normal((5, 3)).astype("float32")]
    else:
        model = keras_models.two_tower_functions(keras)
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005),
                      loss=["binary_crossentropy", "categorical_crossentropy"], loss_weights=[1.0, 0.5])
        xs = [rng.standard_normal((5, 16)).astype("float32") for _ in range(2)]
        ys = [rng.integers(0, 2, (5, 1)).astype("float32"), np.eye(3, dtype="float32")[rng.integers(0, 3, (5,))]]
    return model, xs, ys


NAMES = ["mlp", "mnist_cnn", "two_tower", "ops_model"]


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def write_keras_files(names=NAMES):
    import keras
    os.makedirs(OUT, exist_ok=True)
    for name in names:
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        model, xs, ys = build(keras, name)
        if name == "mlp":
            model.fit(xs[0], ys[0], epochs=1, batch_size=6, verbose=0)
        x = xs[0] if len(xs) == 1 else xs
        preds = _as_list(model.predict(x, verbose=0))
        # .keras first: Keras's legacy .h5 writer pops the optimizer out of the model's compile
        # config, so a .keras saved after it would have no optimizer in its compile_config.
        model.save(os.path.join(OUT, f"{name}.keras"))
        model.save(os.path.join(OUT, f"{name}.h5"))
        np.savez(os.path.join(OUT, f"{name}.npz"), **{f"x{i}": a for i, a in enumerate(xs)},
                 **{f"y{i}": a for i, a in enumerate(preds)})
        sizes = {ext: os.path.getsize(os.path.join(OUT, f"{name}.{ext}")) for ext in ("h5", "keras", "npz")}
        print(f"wrote {name}: {sizes}")


GRAPHC_SCRIPT = r"""
import sys, numpy as np
sys.path.insert(0, {tests!r}); sys.path.insert(0, {tools!r}); sys.path.insert(0, {root!r})
from graphc import keras
import make_keras_model_files as m
for name in m.NAMES:
    model, xs, ys = m.build(keras, name)
    rng = np.random.default_rng(3)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.3 for w in model.get_weights()])
    x = xs[0] if len(xs) == 1 else xs
    model.fit(x, ys[0] if len(ys) == 1 else ys, epochs=1, batch_size=8, verbose=0)
    preds = m._as_list(model.predict(x, verbose=0))
    for ext in ("h5", "keras"):
        model.save(f"{out}/{{name}}.{{ext}}")
    np.savez(f"{out}/{{name}}.npz", **{{f"x{{i}}": a for i, a in enumerate(xs)}},
             **{{f"y{{i}}": a for i, a in enumerate(preds)}})
import graphc
for fixture in m.TORCH_FIXTURES:
    for ext in ("h5", "keras"):
        graphc.convert(f"{{m.TORCH}}/{{fixture}}.onnx", f"{out}/torch_{{fixture}}.{{ext}}")
"""
TORCH = os.path.join(ROOT, "tests", "data", "torch")
TORCH_FIXTURES = [f"{name}.{exporter}" for name in ("mnist_mlp", "mnist_cnn", "bn_cnn", "zoo_blocks")
                  for exporter in ("legacy", "dynamo")]


def conversion_check(out):
    """Real Keras loads graphc.convert's Keras files made from PyTorch ONNX; compares with torch."""
    import keras
    failures = 0
    for fixture in TORCH_FIXTURES:
        data = np.load(os.path.join(TORCH, f"{fixture}.npz"))
        for ext in ("h5", "keras"):
            try:
                model = keras.models.load_model(os.path.join(out, f"torch_{fixture}.{ext}"))
                err = float(np.max(np.abs(model.predict(data["x"], verbose=0) - data["y"])))
                ok = err < 1e-4
                print(f"{'OK  ' if ok else 'FAIL'} keras loads graphc.convert(torch {fixture}.onnx -> .{ext}): "
                      f"{len(model.layers)} layers, max |diff| vs torch {err:.2e}")
            except Exception as e:  # report, keep checking the others
                ok = False
                print(f"FAIL keras loads graphc.convert(torch {fixture}.onnx -> .{ext}): {type(e).__name__}: "
                      f"{str(e)[:300]}")
            failures += not ok
    return failures


def reverse_check(graphc_python, names=NAMES):
    """graphc writes files to /tmp; real Keras loads them and compares predictions."""
    import keras
    out = tempfile.mkdtemp(prefix="graphc_models_")
    code = GRAPHC_SCRIPT.format(tests=os.path.join(ROOT, "tests"), tools=os.path.join(ROOT, "tools"), root=ROOT,
                                out=out)
    subprocess.run([graphc_python, "-c", code], check=True)
    failures = 0
    for name in names:
        data = np.load(os.path.join(out, f"{name}.npz"))
        xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
        expected = [data[k] for k in sorted(data.files) if k.startswith("y")]
        for ext in ("h5", "keras"):
            path = os.path.join(out, f"{name}.{ext}")
            try:
                model = keras.models.load_model(path)
                got = _as_list(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
                err = max(float(np.max(np.abs(np.asarray(g) - e))) for g, e in zip(got, expected))
                ok = err < 1e-4
                opt = getattr(model, "optimizer", None)
                # graphc trained one step before saving: the optimizer state must say so
                steps = int(np.asarray(opt.iterations)) if opt is not None else None
                ok = ok and steps == 1
                print(f"{'OK  ' if ok else 'FAIL'} keras loads graphc {name}.{ext}: max |diff| {err:.2e}, "
                      f"optimizer {type(opt).__name__ if opt is not None else None}, iterations {steps}")
            except Exception as e:  # report, keep checking the others
                ok = False
                print(f"FAIL keras loads graphc {name}.{ext}: {type(e).__name__}: {str(e)[:300]}")
            failures += not ok
    failures += conversion_check(out)
    print(f"reverse check: {failures} failure(s); graphc's files are in {out}")
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphc-python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    p.add_argument("--skip-reverse", action="store_true")
    p.add_argument("--names", nargs="*", default=NAMES, help="only these models (the others' files stay as they are)")
    args = p.parse_args()
    write_keras_files(args.names)
    if not args.skip_reverse:
        reverse_check(args.graphc_python, args.names)


if __name__ == "__main__":
    main()
