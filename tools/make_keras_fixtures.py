"""Write the real-Keras reference fixtures in tests/data/keras/ from tests/keras_models.py.

graphc's tests compare graphc.keras with numbers computed by real Keras 3, but Keras is never
a test dependency: this script runs in a separate developer venv and the tests read only the
files it writes. To (re)create them:

    python3 -m venv /work/kerasvenv            # any path; not the project's .venv
    /work/kerasvenv/bin/pip install keras jax jaxlib h5py numpy
    /work/kerasvenv/bin/python tools/make_keras_fixtures.py

The script forces KERAS_BACKEND=jax (CPU) and is deterministic: running it twice produces
byte-identical files (fixed seeds, fixed zip timestamps, stable JSON), so a re-run only shows
a git diff when Keras's behaviour or tests/keras_models.py changed.

For every entry of keras_models.MODELS it writes

  <name>.npz   w0..wK       weights in model.get_weights() order (biases and BatchNormalization
                            gamma/beta/moving_mean/moving_variance are given non-trivial random
                            values, so bias adds and the BN inference formula are exercised)
               x0.., y0..   inputs / outputs (model.predict) at batch 7
               x1_0.., y1_0..       the same at batch 1
               x256_0.., y256_0..   the same at batch 256, only where the file stays small
  <name>.json  keras version, parameter counts, per-layer rows (name, class, output shape,
               params, config), model input/output shapes, weight paths/shapes, the warnings
               Keras emitted while building, and the model.summary() text

and for every entry of keras_models.STATEFUL_MODELS a sequence of calls (make_stateful_fixture),

plus defaults.json (get_config() of one default instance of every layer class used, automatic
layer/model names, activation function signatures, keras.config values) and activations.npz
(every activation function evaluated on a grid, "x" is the grid).
"""

import inspect
import io
import json
import os
import sys
import warnings
import zipfile
import zlib

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# model.summary() renders with rich, which clips to the terminal width: fix it so the recorded
# text does not depend on where the script runs
os.environ["COLUMNS"] = "160"

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
OUT = os.path.join(ROOT, "tests", "data", "keras")

import keras  # noqa: E402
import keras_models  # noqa: E402

BATCH = 7
# batch-256 arrays are added only when the whole .npz stays under this size
MAX_NPZ_BYTES = 1_000_000
# activations are fed wider inputs so that saturating regions (hard_sigmoid, tanh, ...) are hit
INPUT_SCALE = {f"dense_{a}": 2.5 for a in keras_models.ACTIVATIONS}
INPUT_SCALE.update(leaky_relu_layer=2.5, hard_sigmoid_layer=2.5)


# -- deterministic output --------------------------------------------------------------------


def save_npz(path, arrays):
    """np.savez_compressed with fixed zip timestamps, so identical arrays give identical bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def jsonable(obj):
    """Shapes (tuples with None) and configs to plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def save_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(jsonable(obj), f, indent=1, ensure_ascii=False)
        f.write("\n")


# -- one model -------------------------------------------------------------------------------


def seed_for(name):
    return zlib.crc32(name.encode())


def build(builder):
    """Build in a fresh session (automatic names restart at dense, dense_1, ...), seeded, and
    record the warnings Keras emits."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = builder(keras)
    seen = []
    for w in caught:
        row = {"category": w.category.__name__, "message": str(w.message)}
        if row not in seen:
            seen.append(row)
    return model, seen


def randomize_constant_weights(model, rng):
    """Keras initializes biases to 0 and BN to identity; give them random values instead."""
    for layer in model.layers:
        names = [w.name for w in layer.weights]
        if not names:
            continue
        values = layer.get_weights()
        for i, (name, v) in enumerate(zip(names, values)):
            if name == "bias":
                values[i] = rng.normal(0.0, 0.5, v.shape)
            elif name == "gamma":
                values[i] = rng.uniform(0.5, 1.5, v.shape)
            elif name == "beta":
                values[i] = rng.normal(0.0, 0.5, v.shape)
            elif name == "moving_mean":
                values[i] = rng.normal(0.0, 0.5, v.shape)
            elif name == "moving_variance":
                values[i] = rng.uniform(0.25, 2.0, v.shape)
        layer.set_weights([v.astype(np.float32) for v in values])


def predict(model, xs):
    ys = model.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]), verbose=0)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    ys = [np.asarray(y) for y in ys]
    for y in ys:
        assert np.all(np.isfinite(y)), "non-finite Keras output"
    return ys


def shape_of(tensor_or_list):
    if isinstance(tensor_or_list, (list, tuple)):
        return [tuple(t.shape) for t in tensor_or_list]
    return tuple(tensor_or_list.shape)


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda s, line_break=False: lines.append(s), line_length=120)
    return "".join(lines)


def make_fixture(name, builder, input_shapes):
    model, caught = build(builder)
    multi = isinstance(input_shapes, list)
    shapes = input_shapes if multi else [input_shapes]
    rng = np.random.default_rng(seed_for(name))
    randomize_constant_weights(model, rng)
    scale = INPUT_SCALE.get(name, 1.0)

    dtypes = [str(t.dtype) for t in model.inputs]
    # integer inputs are token ids: drawn from [0, the smallest Embedding's input_dim)
    vocab = min([layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)] or [100])

    special = keras_models.FIXTURE_INPUTS.get(name)

    def draw(batch):
        if special is not None:
            return [special(rng, batch, s, vocab).astype(d) for s, d in zip(shapes, dtypes)]
        return [rng.integers(0, vocab, (batch, *s)).astype(d) if "int" in d else
                (scale * rng.standard_normal((batch, *s))).astype(np.float32) for s, d in zip(shapes, dtypes)]

    arrays = {}
    weights = model.get_weights()
    for i, w in enumerate(weights):
        arrays[f"w{i}"] = w
    batches = {}
    for batch, prefix in ((BATCH, ""), (1, "1_"), (256, "256_")):
        xs = draw(batch)  # drawn even when dropped, so the other arrays do not depend on it
        ys = predict(model, xs)
        new = {f"x{prefix}{i}": x for i, x in enumerate(xs)}
        new.update({f"y{prefix}{i}": y for i, y in enumerate(ys)})
        if batch == 256:
            size = sum(a.nbytes for a in arrays.values()) + sum(a.nbytes for a in new.values())
            if size > MAX_NPZ_BYTES:
                continue
        arrays.update(new)
        batches[batch] = prefix

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert trainable + non_trainable == model.count_params()
    layers = []
    for layer in model.layers:
        layers.append(
            {
                "name": layer.name,
                "class_name": type(layer).__name__,
                "output_shape": shape_of(layer.output),
                "param_count": layer.count_params(),
                "config": layer.get_config(),
            }
        )
    meta = {
        "name": name,
        "builder": builder.__name__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "model_class": type(model).__name__,
        "model_name": model.name,
        "count_params": model.count_params(),
        "trainable_params": trainable,
        "non_trainable_params": non_trainable,
        "input_shape": model.input_shape,
        "output_shape": model.output_shape,
        "fixture_input_shapes": [list(s) for s in shapes],
        "num_inputs": len(shapes),
        "num_outputs": sum(1 for k in arrays if k.startswith("y") and "_" not in k),
        # per batch size, the prefixes of the input/output keys: x{prefix}{i}, y{prefix}{i}
        "batches": {str(b): {"x_prefix": f"x{p}", "y_prefix": f"y{p}"} for b, p in batches.items()},
        "input_scale": scale,
        "layers": layers,
        "weights": [
            {"path": w.path or w.name, "name": w.name, "shape": tuple(w.shape),
             "trainable": w.trainable}
            for w in model.weights
        ],
        "build_warnings": caught,
        "summary": summary_text(model),
    }
    assert len(meta["weights"]) == len(weights)
    for w, v in zip(model.weights, weights):
        assert tuple(w.shape) == v.shape
    npz_path = os.path.join(OUT, f"{name}.npz")
    save_npz(npz_path, arrays)
    save_json(os.path.join(OUT, f"{name}.json"), meta)
    classes = {type(layer) for layer in model.layers}
    return model.count_params(), trainable, non_trainable, os.path.getsize(npz_path), sorted(batches), classes


# -- stateful models: a sequence of calls -------------------------------------------------------


def _stateless_twin(layer):
    """A copy of a stateful recurrent layer (or Bidirectional) with stateful=False and
    return_state=True, sharing its weights: called with initial_state it carries states explicitly."""
    config = layer.get_config()
    if "layer" in config:  # Bidirectional: the wrapped layers' configs
        for key in ("layer", "backward_layer"):
            config[key] = {**config[key], "config": {**config[key]["config"], "stateful": False,
                                                      "return_state": True}}
    else:
        config.update(stateful=False, return_state=True)
    twin = type(layer).from_config(config)
    return twin


def _carried_run(model, twins, states, x):
    """The model's output on x with every stateful layer starting from ``states[name]`` (updated)."""
    h = x
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer.name in twins:
            out = twins[layer.name](h, initial_state=states[layer.name])
            h, states[layer.name] = out[0], [np.asarray(v) for v in out[1:]]
        else:
            h = layer(h)
    return np.asarray(h)


def make_stateful_fixture(name, builder):
    """<name>.npz: weights w*, inputs x0..x2 (the fixed batch shape) and the outputs of, in order,
    predict(x0), predict(x1), model(x2) (states carried over), then after reset_states() on every
    stateful layer predict(x0) again (equals the first) and predict(concat(x1, x2), batch_size=B)
    (two batches in one predict call). <name>.json: counts, weights, layers and the call order.

    Keras 3 on JAX does not carry a stateful layer's states from one predict / model(x) call to the
    next (its state variables are untracked, so the stateless JAX calls never write them back: every
    call starts from zeros). The documented semantics (TensorFlow's behaviour, what graphc does) are
    computed instead by Keras itself on stateless twins of the stateful layers (same weights,
    stateful=False, return_state=True) fed the carried states as initial_state; the first call,
    which starts from zeros, is checked against the stateful model's own predict."""
    model, caught = build(builder)
    rng = np.random.default_rng(seed_for(name))
    randomize_constant_weights(model, rng)
    shape = tuple(model.inputs[0].shape)
    batch = shape[0]
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    twins = {}
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            twin = _stateless_twin(layer)
            twin.build(tuple(layer.input.shape))
            twin.set_weights(layer.get_weights())
            twins[layer.name] = twin

    def zeros():
        out = {}
        for layer in model.layers:
            if layer.name in twins:
                out[layer.name] = [np.zeros(tuple(v.shape), np.float32) for v in layer.states]
        return out

    states = zeros()
    ys = [_carried_run(model, twins, states, x) for x in xs]
    first = np.asarray(model.predict(xs[0], batch_size=batch, verbose=0))
    assert np.allclose(first, ys[0], rtol=1e-5, atol=1e-6), "stateless twin differs from the stateful layer"
    states = zeros()
    ys.append(_carried_run(model, twins, states, xs[0]))
    ys.append(np.concatenate([_carried_run(model, twins, states, x) for x in (xs[1], xs[2])]))
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays.update({f"x{i}": x for i, x in enumerate(xs)})
    arrays.update({f"y{i}": y for i, y in enumerate(ys)})
    meta = {
        "name": name, "builder": builder.__name__, "keras_version": keras.__version__,
        "backend": keras.backend.backend(), "model_name": model.name, "count_params": model.count_params(),
        "batch_shape": shape,
        "calls": ["predict(x0)", "predict(x1)", "model(x2)", "reset_states; predict(x0)",
                  "predict(concat(x1, x2), batch_size=batch)"],
        "layers": [{"name": l.name, "class_name": type(l).__name__, "output_shape": shape_of(l.output),
                    "param_count": l.count_params(), "config": l.get_config()} for l in model.layers],
        "weights": [{"path": w.path or w.name, "name": w.name, "shape": tuple(w.shape), "trainable": w.trainable}
                    for w in model.weights],
        "build_warnings": caught,
    }
    save_npz(os.path.join(OUT, f"{name}.npz"), arrays)
    save_json(os.path.join(OUT, f"{name}.json"), meta)
    return {type(layer) for layer in model.layers}


# -- Keras defaults --------------------------------------------------------------------------

DEFAULT_INSTANCES = {
    "InputLayer": lambda: keras.layers.InputLayer(shape=(3,)),
    "Dense": lambda: keras.layers.Dense(1),
    "Conv2D": lambda: keras.layers.Conv2D(1, 3),
    "MaxPooling2D": lambda: keras.layers.MaxPooling2D(),
    "AveragePooling2D": lambda: keras.layers.AveragePooling2D(2),  # pool_size is required
    "GlobalAveragePooling2D": lambda: keras.layers.GlobalAveragePooling2D(),
    "GlobalMaxPooling2D": lambda: keras.layers.GlobalMaxPooling2D(),
    "BatchNormalization": lambda: keras.layers.BatchNormalization(),
    "Activation": lambda: keras.layers.Activation("relu"),
    "LeakyReLU": lambda: keras.layers.LeakyReLU(),
    "Dropout": lambda: keras.layers.Dropout(0.5),
    "Flatten": lambda: keras.layers.Flatten(),
    "Reshape": lambda: keras.layers.Reshape((-1,)),
    "Add": lambda: keras.layers.Add(),
    "Concatenate": lambda: keras.layers.Concatenate(),
    "Multiply": lambda: keras.layers.Multiply(),
    # activation / core / merging layers (issue 4 item 5)
    "ReLU": lambda: keras.layers.ReLU(),
    "PReLU": lambda: keras.layers.PReLU(),
    "ELU": lambda: keras.layers.ELU(),
    "Softmax": lambda: keras.layers.Softmax(),
    "TimeDistributed": lambda: keras.layers.TimeDistributed(keras.layers.Dense(1)),
    "RepeatVector": lambda: keras.layers.RepeatVector(2),
    "Permute": lambda: keras.layers.Permute((2, 1)),
    "Dot": lambda: keras.layers.Dot(axes=1),
    "LayerNormalization": lambda: keras.layers.LayerNormalization(),
    # 1-D/3-D convolution, depthwise/separable convolution, pooling, padding, cropping, upsampling
    "Conv1D": lambda: keras.layers.Conv1D(1, 3),
    "Conv3D": lambda: keras.layers.Conv3D(1, 3),
    "DepthwiseConv1D": lambda: keras.layers.DepthwiseConv1D(3),
    "DepthwiseConv2D": lambda: keras.layers.DepthwiseConv2D(3),
    "SeparableConv1D": lambda: keras.layers.SeparableConv1D(1, 3),
    "SeparableConv2D": lambda: keras.layers.SeparableConv2D(1, 3),
    "MaxPooling1D": lambda: keras.layers.MaxPooling1D(),
    "MaxPooling3D": lambda: keras.layers.MaxPooling3D(),
    "AveragePooling1D": lambda: keras.layers.AveragePooling1D(2),  # pool_size is required
    "AveragePooling3D": lambda: keras.layers.AveragePooling3D(2),  # pool_size is required
    "GlobalMaxPooling1D": lambda: keras.layers.GlobalMaxPooling1D(),
    "GlobalMaxPooling3D": lambda: keras.layers.GlobalMaxPooling3D(),
    "GlobalAveragePooling1D": lambda: keras.layers.GlobalAveragePooling1D(),
    "GlobalAveragePooling3D": lambda: keras.layers.GlobalAveragePooling3D(),
    "ZeroPadding1D": lambda: keras.layers.ZeroPadding1D(),
    "ZeroPadding2D": lambda: keras.layers.ZeroPadding2D(),
    "ZeroPadding3D": lambda: keras.layers.ZeroPadding3D(),
    "Cropping1D": lambda: keras.layers.Cropping1D(),
    "Cropping2D": lambda: keras.layers.Cropping2D(),
    "Cropping3D": lambda: keras.layers.Cropping3D(),
    "UpSampling1D": lambda: keras.layers.UpSampling1D(),
    "UpSampling2D": lambda: keras.layers.UpSampling2D(),
    "UpSampling3D": lambda: keras.layers.UpSampling3D(),
}


# classes added after defaults.json was frozen: their defaults go to defaults_more.json, so the
# existing fixture files stay byte-identical
MORE_DEFAULT_INSTANCES = {
    "Embedding": lambda: keras.layers.Embedding(10, 4),
    "Conv1DTranspose": lambda: keras.layers.Conv1DTranspose(4, 3),
    "Conv2DTranspose": lambda: keras.layers.Conv2DTranspose(4, 3),
    "Conv3DTranspose": lambda: keras.layers.Conv3DTranspose(4, 3),
    # recurrent layers and masking
    "SimpleRNN": lambda: keras.layers.SimpleRNN(2),
    "LSTM": lambda: keras.layers.LSTM(2),
    "GRU": lambda: keras.layers.GRU(2),
    "SimpleRNNCell": lambda: keras.layers.SimpleRNNCell(2),
    "LSTMCell": lambda: keras.layers.LSTMCell(2),
    "GRUCell": lambda: keras.layers.GRUCell(2),
    "RNN": lambda: keras.layers.RNN(keras.layers.LSTMCell(2)),
    "Bidirectional": lambda: keras.layers.Bidirectional(keras.layers.LSTM(2)),
    "Masking": lambda: keras.layers.Masking(),
    "ConvLSTM2D": lambda: keras.layers.ConvLSTM2D(2, 3),
}


def make_more_defaults():
    configs, init_signatures = {}, {}
    for cls_name, make in MORE_DEFAULT_INSTANCES.items():
        keras.backend.clear_session()
        configs[cls_name] = make().get_config()
        params = inspect.signature(getattr(keras.layers, cls_name).__init__).parameters.values()
        init_signatures[cls_name] = {
            p.name: ("<required>" if p.default is inspect.Parameter.empty else p.default)
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
    save_json(os.path.join(OUT, "defaults_more.json"), {"keras_version": keras.__version__,
                                                         "backend": keras.backend.backend(),
                                                         "layer_configs": configs,
                                                         "init_signatures": init_signatures})


def make_defaults(used_classes):
    missing = {c.__name__ for c in used_classes} - set(DEFAULT_INSTANCES) - set(MORE_DEFAULT_INSTANCES)
    assert not missing, f"add default instances for {missing}"
    configs, auto_names = {}, {}
    for cls_name, make in DEFAULT_INSTANCES.items():
        keras.backend.clear_session()
        first = make()
        auto_names[cls_name] = [first.name, make().name]
        configs[cls_name] = first.get_config()

    keras.backend.clear_session()
    inp = keras.Input((3,))
    model_names = {
        "Sequential": [keras.Sequential().name, keras.Sequential().name],
        "Model": [keras.Model(inp, inp).name, keras.Model(inp, inp).name],
        "Input (KerasTensor.name)": inp.name,
    }

    signatures = {}
    for act in keras_models.ACTIVATIONS:
        fn = keras.activations.get(act)
        signatures[act] = {
            "function": fn.__name__,
            "defaults": {
                p.name: p.default
                for p in inspect.signature(fn).parameters.values()
                if p.default is not inspect.Parameter.empty
            },
        }

    init_signatures = {}
    for cls_name in DEFAULT_INSTANCES:
        params = inspect.signature(getattr(keras.layers, cls_name).__init__).parameters.values()
        init_signatures[cls_name] = {
            p.name: ("<required>" if p.default is inspect.Parameter.empty else p.default)
            for p in params
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }

    defaults = {
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "config": {
            "floatx": keras.config.floatx(),
            "epsilon": keras.config.epsilon(),
            "image_data_format": keras.config.image_data_format(),
        },
        "aliases": {"MaxPool2D is MaxPooling2D": keras.layers.MaxPool2D is keras.layers.MaxPooling2D,
                    "AvgPool2D is AveragePooling2D":
                        keras.layers.AvgPool2D is keras.layers.AveragePooling2D},
        "layer_configs": configs,
        "init_signatures": init_signatures,
        "auto_layer_names": auto_names,
        "auto_model_names": model_names,
        "activation_signatures": signatures,
    }
    save_json(os.path.join(OUT, "defaults.json"), defaults)


def make_activation_grid():
    """Every activation function on a grid (softmax along the last axis)."""
    x = np.linspace(-6.0, 6.0, 52, dtype=np.float32).reshape(4, 13)
    arrays = {"x": x}
    for act in keras_models.ACTIVATIONS:
        arrays[act] = np.asarray(keras.ops.convert_to_numpy(keras.activations.get(act)(x)))
    arrays["leaky_relu_layer"] = np.asarray(keras.layers.LeakyReLU()(x))
    save_npz(os.path.join(OUT, "activations.npz"), arrays)


def main():
    os.makedirs(OUT, exist_ok=True)
    used = set()
    print(f"keras {keras.__version__} ({keras.backend.backend()}) -> {os.path.relpath(OUT, ROOT)}")
    print(f"{'model':22s} {'params':>9s} {'trainable':>9s} {'non-tr':>6s} {'npz':>9s}  batches")
    for name, (builder, shapes) in keras_models.MODELS.items():
        total, tr, ntr, size, batches, classes = make_fixture(name, builder, shapes)
        used |= classes
        print(f"{name:22s} {total:9,d} {tr:9,d} {ntr:6,d} {size:9,d}  {batches}")
    for name, builder in keras_models.STATEFUL_MODELS.items():
        used |= make_stateful_fixture(name, builder)
        print(f"{name:22s} (stateful: a sequence of calls)")
    make_defaults(used)
    make_more_defaults()
    make_activation_grid()
    files = [os.path.join(OUT, f) for f in os.listdir(OUT)]
    print(f"{len(files)} files, {sum(os.path.getsize(f) for f in files):,d} bytes")


if __name__ == "__main__":
    if sys.argv[1:] == ["--stateful-only"]:  # regenerate only the stateful fixtures
        for _name, _builder in keras_models.STATEFUL_MODELS.items():
            make_stateful_fixture(_name, _builder)
    elif sys.argv[1:2] == ["--only"]:  # e.g. --only conv_lstm,lstm_stack (and defaults_more.json)
        for _name in sys.argv[2].split(","):
            make_fixture(_name, *keras_models.MODELS[_name])
        make_more_defaults()
    else:
        main()
