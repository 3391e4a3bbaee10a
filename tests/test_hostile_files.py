"""Corrupt, truncated and hostile model files give clear exceptions that name the file; an
interrupted save leaves the previous file intact, for every format graphc writes
(.onnx, .h5, .keras, .weights.h5, and ModelCheckpoint's whole-model files)."""
import os
import zipfile

import numpy as np
import onnx
import onnx.helper as oh
import pytest

import graphc
import graphc.onnx
from graphc import keras
from graphc.errors import GraphcError, SerializationError


def _mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])


def _load(path):
    return graphc.onnx.load(str(path)) if str(path).endswith(".onnx") else keras.models.load_model(str(path))


def test_files_of_the_wrong_kind_or_empty_are_refused_with_the_file_name(tmp_path):
    m = _mlp()
    m.save(str(tmp_path / "real.h5"))
    m.save(str(tmp_path / "real.keras"))
    m.export(str(tmp_path / "real.onnx"))
    swaps = {"h5_as.onnx": "real.h5", "keras_as.onnx": "real.keras", "onnx_as.h5": "real.onnx",
             "onnx_as.keras": "real.onnx", "h5_as.keras": "real.h5"}
    for dst, src in swaps.items():
        (tmp_path / dst).write_bytes((tmp_path / src).read_bytes())
    for ext in ("onnx", "h5", "keras"):
        (tmp_path / f"empty.{ext}").write_bytes(b"")
    for name in list(swaps) + ["empty.onnx", "empty.h5", "empty.keras"]:
        with pytest.raises(SerializationError, match=name.replace(".", r"\.")):
            _load(tmp_path / name)


def test_keras_archive_missing_members(tmp_path):
    _mlp().save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        files = {n: z.read(n) for n in z.namelist()}
    for missing in ("config.json", "model.weights.h5"):
        path = tmp_path / f"no_{missing}.keras"
        with zipfile.ZipFile(path, "w") as z:
            for n, d in files.items():
                if n != missing:
                    z.writestr(n, d)
        with pytest.raises(SerializationError, match=missing.replace(".", r"\.")):
            keras.models.load_model(str(path))


def _onnx_dense(w_dims, w_data, x_dim=3):
    w = oh.make_tensor("w", onnx.TensorProto.FLOAT, w_dims, w_data)
    graph = oh.make_graph([oh.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
                          [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", x_dim])],
                          [oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 2])], [w])
    return oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])


def test_onnx_initializer_whose_data_disagrees_with_its_dims(tmp_path):
    model = _onnx_dense([3, 2], np.ones(6, np.float32).tolist())
    model.graph.initializer[0].dims[:] = [3, 4]  # says 12 values, holds 6
    onnx.save(model, str(tmp_path / "bad.onnx"))
    with pytest.raises(SerializationError, match=r"bad\.onnx.*'w'"):
        graphc.onnx.load(str(tmp_path / "bad.onnx"))


def test_onnx_weights_whose_shapes_disagree_with_the_graph(tmp_path):
    onnx.save(_onnx_dense([5, 2], np.ones(10, np.float32).tolist()), str(tmp_path / "mismatch.onnx"))
    with pytest.raises(GraphcError, match="mm"):
        graphc.onnx.load(str(tmp_path / "mismatch.onnx"))


@pytest.mark.parametrize("fmt", ["onnx", "h5", "keras", "weights.h5"])
def test_interrupted_save_leaves_the_previous_file(fmt, tmp_path, monkeypatch):
    path = tmp_path / f"m.{fmt}"
    m = _mlp()
    save = {"onnx": m.export, "weights.h5": m.save_weights}.get(fmt, m.save)
    save(str(path))
    before = path.read_bytes()
    m.set_weights([w + 1 for w in m.get_weights()])

    import h5py
    real_dataset = h5py.Group.create_dataset
    calls = []

    class Interrupted(Exception):
        pass

    def dying_dataset(self, *args, **kwargs):  # HDF5 writers die after their first dataset
        calls.append(1)
        if len(calls) >= 2:
            raise Interrupted("killed while writing")
        return real_dataset(self, *args, **kwargs)

    if fmt == "onnx":
        def dying_serialize(self):
            raise Interrupted("killed while writing")
        monkeypatch.setattr(onnx.ModelProto, "SerializeToString", dying_serialize)
    else:
        monkeypatch.setattr(h5py.Group, "create_dataset", dying_dataset)
        monkeypatch.setattr(h5py.Group, "__setitem__", lambda self, k, v: dying_dataset(self, k, data=v))
    with pytest.raises(Interrupted):
        save(str(path))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("fmt", ["h5", "keras"])
def test_model_checkpoint_of_a_whole_model_is_atomic(fmt, tmp_path, monkeypatch):
    m = _mlp()
    m.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32)
    path = tmp_path / f"ckpt.{fmt}"
    m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(str(path))])
    before = path.read_bytes()
    import h5py

    def dying(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.Group, "create_dataset", dying)
    with pytest.raises(KeyboardInterrupt):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(str(path))])
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == [path.name]
    assert keras.models.load_model(str(path)).count_params() == m.count_params()
