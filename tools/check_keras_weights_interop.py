"""Check that weight files move both ways between graphc and real Keras 3.

For a Dense model, a CNN (Conv2D + BatchNormalization + pooling), a functional model with a
nested Sequential and a residual Add, and a frozen custom layer whose non-trainable weight
comes first, in both HDF5 layouts (Keras 3's ``.weights.h5`` and the legacy ``.h5``):

1. graphc sets random weights, writes the files, and predicts on fixed inputs;
2. real Keras 3 (a separate interpreter, JAX backend) builds the same architectures, loads
   graphc's files with ``model.load_weights``, and its weights and predictions are compared
   with graphc's; then Keras sets its own random weights and writes files
   (``model.save_weights("x.weights.h5")``, a legacy weights-only ``.h5``, a legacy
   full-model ``.h5`` and a ``.keras`` archive from ``model.save``);
3. graphc loads Keras's files into fresh models and compares weights and predictions;
4. the optimizer state in ``.weights.h5`` (Adam after ``fit``) goes from graphc into a built
   Keras Adam and back; the saved learning rate must come back too.

Weights are compared by (layer position, weight name), not by ``get_weights`` order.

Usage::

    .venv/bin/python tools/check_keras_weights_interop.py [--keras-python /work/kerasvenv/bin/python]

Prints one line per check and exits 1 if any check fails.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

WEIGHT_TOL = 0.0  # weights must round-trip exactly
PRED_TOL = 1e-5   # predictions: max|diff| / max|prediction| (float32 kernels from two different compilers)

# The architectures, as source run by both interpreters (``keras`` is graphc.keras on one side
# and Keras 3 on the other), so both build the same model. Each entry: input shape, builder.
ARCHS = {
    "dense": [[10], """
def build(keras):
    return keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])
"""],
    "cnn": [[10, 10, 3], """
def build(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((10, 10, 3)), L.Conv2D(6, 3, activation="relu"), L.BatchNormalization(),
                             L.MaxPooling2D(2), L.Conv2D(4, 3, padding="same"), L.Flatten(), L.Dense(5)])
"""],
    "nested_functional": [[8], """
def build(keras):
    L = keras.layers
    inner = keras.Sequential([L.Dense(6, activation="tanh"), L.Dense(6)])
    inp = keras.Input((8,))
    h = L.Dense(6, activation="relu")(inp)
    return keras.Model(inp, L.Dense(2)(L.Add()([h, inner(h)])))
"""],
    # a custom layer that creates a non-trainable weight before a trainable one, frozen: the
    # case where Keras 3's orders (store order, legacy trainable-then-non-trainable) matter
    "frozen_custom_layer": [[4], """
def build(keras):
    class Odd(keras.layers.Layer):
        def build(self, input_shape):
            self.counter = self.add_weight(shape=(3,), initializer="ones", trainable=False, name="counter")
            self.w = self.add_weight(shape=(input_shape[-1], 3), initializer="glorot_uniform", name="w")

        def call(self, x):
            return keras.ops.matmul(x, self.w) + self.counter

    model = keras.Sequential([keras.Input((4,)), Odd(name="odd"), keras.layers.Dense(2)])
    model.layers[0].trainable = False
    return model
"""],
}


def named_weights(model, prefix=""):
    """{"<layer index>/<nested index>/.../<weight name>": array}: weights matched by position in
    the model's layers and by name, independent of the order get_weights lists them in."""
    out = {}
    for i, layer in enumerate(model.layers):
        if hasattr(layer, "layers"):
            out.update(named_weights(layer, f"{prefix}{i}|"))
        else:
            for w in layer.weights:
                out[f"{prefix}{i}|{w.name}"] = np.asarray(w.numpy())
    return out


def compare(got, expected):
    """max |difference| over weights matched by name; a KeyError if the sets differ."""
    if sorted(got) != sorted(expected):
        raise KeyError(f"weights differ: {sorted(got)} vs {sorted(expected)}")
    return max(float(np.max(np.abs(got[k] - expected[k]))) for k in got)


KERAS_SIDE = textwrap.dedent(r'''
    import json, os, sys, warnings
    import numpy as np
    warnings.filterwarnings("ignore")
    import keras
    from keras.src.legacy.saving import legacy_h5_format
    import h5py

    work = sys.argv[1]
    archs = json.loads(open(os.path.join(work, "archs.json")).read())

    def build(spec):
        scope = {}
        exec(spec[1], scope)
        return scope["build"](keras)

    exec(open(os.path.join(work, "helpers.py")).read(), globals())  # named_weights, compare

    def random_weights(model, rng):
        out = []
        for w in model.weights:
            v = rng.normal(size=w.shape).astype("float32")
            if "moving_variance" in w.path:
                v = np.abs(v) + 0.5
            out.append(v)
        return out

    report = {}
    rng = np.random.default_rng(1234)
    for name, spec in archs.items():
        x = np.load(os.path.join(work, f"{name}_x.npy"))
        # 1. load graphc's files
        for layout in ("v3", "legacy"):
            path = os.path.join(work, f"graphc_{name}" + (".weights.h5" if layout == "v3" else ".h5"))
            model = build(spec)
            entry = {}
            try:
                model.load_weights(path)
                expected = dict(np.load(os.path.join(work, f"graphc_{name}_weights.npz")))
                got = named_weights(model)
                entry["n_weights"] = len(got)
                entry["weight_max_abs_diff"] = compare(got, expected)
                pred = np.asarray(model.predict(x, verbose=0))
                ref = np.load(os.path.join(work, f"graphc_{name}_pred.npy"))
                entry["pred_max_abs_diff"] = float(np.max(np.abs(pred - ref)))
                entry["pred_scale"] = float(np.max(np.abs(ref)))
            except Exception as e:
                entry["error"] = f"{type(e).__name__}: {e}"
            report[f"keras loads graphc {name} ({layout})"] = entry
        # 2. write Keras files
        model = build(spec)
        weights = random_weights(model, rng)
        model.set_weights(weights)
        np.savez(os.path.join(work, f"keras_{name}_weights.npz"), **named_weights(model))
        np.save(os.path.join(work, f"keras_{name}_pred.npy"), np.asarray(model.predict(x, verbose=0)))
        model.save_weights(os.path.join(work, f"keras_{name}.weights.h5"))
        with h5py.File(os.path.join(work, f"keras_{name}_legacy.h5"), "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        model.save(os.path.join(work, f"keras_{name}_model.h5"))
        model.save(os.path.join(work, f"keras_{name}.keras"))
    # 3. optimizer state: graphc's Adam after fit -> a built Keras Adam; then the reverse
    def opt_model():
        L = keras.layers
        return keras.Sequential([keras.Input((4,)), L.Dense(3), L.BatchNormalization(), L.Dense(2)])

    entry = {}
    try:
        model = opt_model()
        model.compile(keras.optimizers.Adam(0.5), "mse")
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(work, "graphc_opt.weights.h5"))
        ref = np.load(os.path.join(work, "graphc_opt_state.npz"))
        entry["n_vars"] = len(model.optimizer.variables)
        entry["max_abs_diff"] = max(float(np.max(np.abs(np.asarray(v) - ref[f"v{i}"])))
                                    for i, v in enumerate(model.optimizer.variables))
        entry["learning_rate"] = float(model.optimizer.learning_rate)
        model.fit(np.ones((8, 4)), np.zeros((8, 2)), epochs=3, verbose=0)
        np.savez(os.path.join(work, "keras_opt_state.npz"),
                 **{f"v{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)})
        model.save_weights(os.path.join(work, "keras_opt.weights.h5"))
    except Exception as e:
        entry["error"] = f"{type(e).__name__}: {e}"
    report["keras loads graphc Adam state"] = entry
    print(json.dumps(report))
''')


def opt_model():
    from graphc import keras
    L = keras.layers
    return keras.Sequential([keras.Input((4,)), L.Dense(3), L.BatchNormalization(), L.Dense(2)])


def keras_optimizers():
    from graphc.keras import optimizers
    return optimizers


def build_graphc(spec):
    from graphc import keras
    scope = {}
    exec(spec[1], scope)
    return scope["build"](keras)


def random_weights(model, rng):
    out = []
    for w in model.weights:
        v = rng.normal(size=w.shape).astype("float32")
        if "moving_variance" in w.path:
            v = np.abs(v) + 0.5
        out.append(v)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-python", default="/work/kerasvenv/bin/python",
                        help="a Python interpreter with Keras 3 installed (default: %(default)s)")
    args = parser.parse_args(argv)

    from graphc.keras import saving

    results = []  # (check, ok, detail)

    def record(check, entry):
        if "error" in entry:
            results.append((check, False, entry["error"]))
            return
        rel = entry["pred_max_abs_diff"] / max(entry["pred_scale"], 1e-30)
        ok = entry["weight_max_abs_diff"] <= WEIGHT_TOL and rel <= PRED_TOL
        results.append((check, ok, f"{entry['n_weights']} arrays, weights max|diff|={entry['weight_max_abs_diff']:.1e}"
                                   f", predictions max|diff|={entry['pred_max_abs_diff']:.1e} "
                                   f"(relative {rel:.1e} of max|pred|={entry['pred_scale']:.3g})"))

    def record_optimizer(check, entry):
        if "error" in entry:
            results.append((check, False, entry["error"]))
            return
        ok = entry["max_abs_diff"] == 0 and abs(entry["learning_rate"] - 0.01) < 1e-7
        results.append((check, ok, f"{entry['n_vars']} variables, max|diff|={entry['max_abs_diff']:.1e}, "
                                   f"learning_rate after loading={entry['learning_rate']:.6g} (saved 0.01)"))

    with tempfile.TemporaryDirectory(prefix="graphc-interop-") as work:
        with open(os.path.join(work, "archs.json"), "w") as f:
            json.dump(ARCHS, f)
        rng = np.random.default_rng(42)
        for name, spec in ARCHS.items():
            x = rng.normal(size=(7, *spec[0])).astype("float32")
            np.save(os.path.join(work, f"{name}_x.npy"), x)
            model = build_graphc(spec)
            weights = random_weights(model, rng)
            model.set_weights(weights)
            np.savez(os.path.join(work, f"graphc_{name}_weights.npz"), **named_weights(model))
            np.save(os.path.join(work, f"graphc_{name}_pred.npy"), np.asarray(model.predict(x, verbose=0)))
            saving.save_weights(model, os.path.join(work, f"graphc_{name}.weights.h5"))
            saving.save_weights(model, os.path.join(work, f"graphc_{name}.h5"))

        opt_error = None
        try:
            model = opt_model()
            model.compile(keras_optimizers().Adam(0.01), "mse")
            xo = rng.normal(size=(32, 4)).astype("float32")
            model.fit(xo, rng.normal(size=(32, 2)).astype("float32"), epochs=2, batch_size=8, verbose=0)
            np.savez(os.path.join(work, "graphc_opt_state.npz"),
                     **{f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(model.optimizer.variables)})
            saving.save_weights(model, os.path.join(work, "graphc_opt.weights.h5"))
        except Exception as e:  # training not available: reported below
            opt_error = f"{type(e).__name__}: {e}"

        env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
        with open(os.path.join(work, "helpers.py"), "w") as f:
            f.write(inspect.getsource(named_weights) + "\n\n" + inspect.getsource(compare))
        proc = subprocess.run([args.keras_python, "-c", KERAS_SIDE, work], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            print("FAILED: the Keras side did not run")
            return 1
        keras_report = json.loads(proc.stdout.strip().splitlines()[-1])
        for check, entry in keras_report.items():
            if check.endswith("Adam state"):
                record_optimizer(check, entry if opt_error is None else {"error": opt_error})
            else:
                record(check, entry)

        for name, spec in ARCHS.items():
            x = np.load(os.path.join(work, f"{name}_x.npy"))
            expected = dict(np.load(os.path.join(work, f"keras_{name}_weights.npz")))
            expected_pred = np.load(os.path.join(work, f"keras_{name}_pred.npy"))
            for label, fname in (("v3 .weights.h5", f"keras_{name}.weights.h5"),
                                 ("legacy weights .h5", f"keras_{name}_legacy.h5"),
                                 ("legacy full-model .h5", f"keras_{name}_model.h5"),
                                 (".keras archive", f"keras_{name}.keras")):
                model = build_graphc(spec)
                entry = {}
                try:
                    saving.load_weights(model, os.path.join(work, fname))
                    got = named_weights(model)
                    entry["n_weights"] = len(got)
                    entry["weight_max_abs_diff"] = compare(got, expected)
                    entry["pred_max_abs_diff"] = float(np.max(np.abs(np.asarray(model.predict(x, verbose=0))
                                                                     - expected_pred)))
                    entry["pred_scale"] = float(np.max(np.abs(expected_pred)))
                except Exception as e:  # report every failure, not only the first
                    entry["error"] = f"{type(e).__name__}: {e}"
                record(f"graphc loads keras {name} ({label})", entry)

        entry = {}
        try:
            model = opt_model()
            model.compile(keras_optimizers().Adam(0.5), "mse")
            model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)  # builds the slots
            saving.load_weights(model, os.path.join(work, "keras_opt.weights.h5"))
            ref = np.load(os.path.join(work, "keras_opt_state.npz"))
            entry["n_vars"] = len(model.optimizer.variables)
            entry["max_abs_diff"] = max(float(np.max(np.abs(np.asarray(v.numpy()) - ref[f"v{i}"])))
                                        for i, v in enumerate(model.optimizer.variables))
            entry["learning_rate"] = float(model.optimizer.learning_rate)
        except Exception as e:
            entry["error"] = f"{type(e).__name__}: {e}"
        record_optimizer("graphc loads keras Adam state", entry)

    width = max(len(c) for c, _, _ in results)
    for check, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {check:<{width}}  {detail}")
    failed = sum(not ok for _, ok, _ in results)
    print(f"{len(results) - failed}/{len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
