"""Record real Keras 3 training runs for graphc's training-parity tests.

Run in a separate venv with Keras 3 + JAX (never needed by the tests):

    python3 -m venv .venv-keras && .venv-keras/bin/pip install keras jax jaxlib h5py numpy
    KERAS_BACKEND=jax .venv-keras/bin/python tools/make_keras_training_fixtures.py

For each case: build the model from tests/keras_training_models.py, set seeded initial
weights, train with shuffle=False (so graphc can replay the identical batches), and store
initial weights, data, per-epoch history, final weights and predictions in
tests/data/keras/train_<case>.npz (+ .json with the history and Keras version).
"""
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_training_models as ktm  # noqa: E402

OUT = ROOT / "tests" / "data" / "keras"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, case in ktm.CASES.items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = case["build"](keras)
        rng = np.random.default_rng(123)
        init = [(rng.standard_normal(w.shape) * case.get("init_scale", 0.3)).astype("float32")
                if "variance" not in w.path else (rng.random(w.shape) + 0.5).astype("float32")
                for w in model.weights]
        model.set_weights(init)
        x, y = case["data"](np.random.default_rng(7))
        model.compile(**case["compile"](keras))
        hist = model.fit(x, y, batch_size=case["batch_size"], epochs=case["epochs"], shuffle=False, verbose=0)
        arrays = {f"init{i}": w for i, w in enumerate(init)}
        arrays.update({f"final{i}": w for i, w in enumerate(model.get_weights())})
        arrays.update({"x": x, "y": y, "pred": model.predict(x, verbose=0)})
        np.savez(OUT / f"train_{name}.npz", **arrays)
        meta = {"case": name, "keras_version": keras.__version__, "backend": keras.backend.backend(),
                "history": {k: [float(v) for v in vs] for k, vs in hist.history.items()},
                "evaluate": model.evaluate(x, y, batch_size=case["batch_size"], verbose=0, return_dict=True)}
        (OUT / f"train_{name}.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        print(name, {k: [round(v, 5) for v in vs] for k, vs in meta["history"].items()})


if __name__ == "__main__":
    main()
