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
   (``graphc.convert(x.onnx, x.keras / x.h5)``; channels_first Keras layers, and LSTM / GRU /
   Bidirectional layers for the recurrent models) and real Keras loads the results and compares them
   with torch's stored outputs (``--only-conversion-check`` runs this check alone).
4. Compile-config check (not a test): graphc compiles a small model with ``loss="mse",
   metrics=["mae"]`` and ``loss="categorical_crossentropy", metrics=["accuracy"]`` (strings, and
   the same losses/metrics as functions), trains one step, saves ``.h5`` and ``.keras``, and trains
   one more step from each file; real Keras loads each file (compiling from its training_config /
   compile_config), trains the same step and must reach graphc's weights. Keras 3.15's own legacy
   .h5 loader builds the optimizer over ``model._trainable_variables`` (empty for a Sequential), so
   ``fit`` on ANY .h5 with optimizer state fails there (Keras-written files too); the check then
   rebuilds the optimizer over the model's variables from the file's ``optimizer_weights`` and says so.
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
TORCH_FIXTURES = [f"{name}.{exporter}" for name in ("mnist_mlp", "mnist_cnn", "bn_cnn", "zoo_blocks", "lstm_regressor",
                                                    "gru_regressor", "bilstm_classifier")
                  for exporter in ("legacy", "dynamo")]
CONVERT_SCRIPT = r"""
import sys
sys.path.insert(0, {tools!r}); sys.path.insert(0, {root!r})
import graphc
import make_keras_model_files as m
for fixture in m.TORCH_FIXTURES:
    for ext in ("h5", "keras"):
        graphc.convert(f"{{m.TORCH}}/{{fixture}}.onnx", f"{out}/torch_{{fixture}}.{{ext}}")
"""


def conversion_only(graphc_python):
    """Check 3 alone: graphc converts the PyTorch fixtures into /tmp, real Keras loads them."""
    out = tempfile.mkdtemp(prefix="graphc_convert_")
    subprocess.run([graphc_python, "-c", CONVERT_SCRIPT.format(tools=os.path.join(ROOT, "tools"), root=ROOT, out=out)],
                   check=True)
    failures = conversion_check(out)
    print(f"conversion check: {failures} failure(s); graphc's files are in {out}")
    return failures


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


COMPILE_CASES = ["mse_str", "cce_str", "mse_fn", "cce_fn"]


def compiled_model(keras, case):
    """A small Dense model compiled as ``case`` says, with data (the same in Keras and graphc)."""
    classify = case.startswith("cce")
    model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(6, activation="tanh"),
                              keras.layers.Dense(3, activation="softmax" if classify else None)])
    if case.endswith("str"):
        loss, metrics = ("categorical_crossentropy", ["accuracy"]) if classify else ("mse", ["mae"])
    else:
        loss, metrics = ((keras.losses.categorical_crossentropy, [keras.metrics.categorical_accuracy]) if classify
                         else (keras.losses.mean_squared_error, [keras.metrics.mean_absolute_error]))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss=loss, metrics=metrics)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 5)).astype("float32")
    y = (np.eye(3, dtype="float32")[rng.integers(0, 3, (8,))] if classify
         else rng.standard_normal((8, 3)).astype("float32"))
    return model, x, y


GRAPHC_COMPILE_SCRIPT = r"""
import sys, numpy as np
sys.path.insert(0, {tools!r}); sys.path.insert(0, {root!r})
from graphc import keras
import make_keras_model_files as m
for case in m.COMPILE_CASES:
    model, x, y = m.compiled_model(keras, case)
    rng = np.random.default_rng(5)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for ext in ("h5", "keras"):
        path = f"{out}/compiled_{{case}}.{{ext}}"
        model.save(path)
        resumed = keras.models.load_model(path)
        logs = resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
        np.savez(f"{out}/compiled_{{case}}.{{ext}}.npz", *resumed.get_weights(),
                 logs=np.array(sorted(logs)))
"""


def _keras_h5_optimizer_fix(keras, model, path):
    """Work around Keras 3.15's legacy-h5 loader (optimizer built over no variables): rebuild the
    optimizer over the model's trainable variables with the file's optimizer_weights. Returns
    whether it was needed."""
    opt = model.optimizer
    if len(opt.variables) >= 2 * len(model.trainable_variables):
        return False
    import h5py
    from keras.src.legacy.saving.legacy_h5_format import load_optimizer_weights_from_hdf5_group
    fresh = type(opt).from_config(opt.get_config())
    fresh.build(model.trainable_variables)
    with h5py.File(path, "r") as f:
        fresh.set_weights(load_optimizer_weights_from_hdf5_group(f))
    model.compile(optimizer=fresh, loss=model.loss, metrics=model._compile_config.config["metrics"])
    return True


def compile_check(graphc_python):
    """Real Keras loads graphc files compiled with string/function losses and metrics and resumes
    training to graphc's weights."""
    import keras
    out = tempfile.mkdtemp(prefix="graphc_compiled_")
    code = GRAPHC_COMPILE_SCRIPT.format(tools=os.path.join(ROOT, "tools"), root=ROOT, out=out)
    subprocess.run([graphc_python, "-c", code], check=True)
    failures = 0
    for case in COMPILE_CASES:
        _, x, y = compiled_model(keras, case)
        for ext in ("h5", "keras"):
            path = os.path.join(out, f"compiled_{case}.{ext}")
            want = np.load(path + ".npz")
            try:
                model = keras.models.load_model(path)
                fixed = _keras_h5_optimizer_fix(keras, model, path) if ext == "h5" else False
                steps = int(np.asarray(model.optimizer.iterations))
                logs = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0).history
                got = model.get_weights()
                err = max(float(np.max(np.abs(g - want[f"arr_{i}"]))) for i, g in enumerate(got))
                # metric log names may differ: Keras's h5 loader turns "mae" into MeanAbsoluteError
                ok = err < 1e-5 and steps == 1 and len(logs) == len(want["logs"]) and "loss" in logs
                print(f"{'OK  ' if ok else 'FAIL'} keras loads graphc compiled_{case}.{ext} "
                      f"(loss {model.loss if isinstance(model.loss, str) else getattr(model.loss, '__name__', model.loss)}, "
                      f"logs {sorted(logs)}, graphc {want['logs'].tolist()}): iterations {steps}, weights after one more step vs graphc's "
                      f"max |diff| {err:.2e}" + ("; optimizer rebuilt (Keras 3 legacy-h5 bug)" if fixed else ""))
            except Exception as e:  # report, keep checking the others
                ok = False
                print(f"FAIL keras loads graphc compiled_{case}.{ext}: {type(e).__name__}: {str(e)[:300]}")
            failures += not ok
    print(f"compile-config check: {failures} failure(s); graphc's files are in {out}")
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
    p.add_argument("--only-compile-check", action="store_true", help="run only check 4")
    p.add_argument("--only-conversion-check", action="store_true", help="run only check 3")
    p.add_argument("--names", nargs="*", default=NAMES, help="only these models (the others' files stay as they are)")
    args = p.parse_args()
    if args.only_compile_check:
        sys.exit(compile_check(args.graphc_python) > 0)
    if args.only_conversion_check:
        sys.exit(conversion_only(args.graphc_python) > 0)
    write_keras_files(args.names)
    if not args.skip_reverse:
        failures = reverse_check(args.graphc_python, args.names) + compile_check(args.graphc_python)
        sys.exit(failures > 0)


if __name__ == "__main__":
    main()
