"""Record real Keras 3 optimizer steps for tests/keras/test_optimizers.py.

Runs every scenario of tests/keras_optimizer_cases.py in real Keras 3 (JAX backend, float64
via JAX_ENABLE_X64) and writes tests/data/keras/optimizers.npz. Keras is never a test
dependency: the tests read only this file. To (re)create it:

    /work/kerasvenv/bin/python tools/make_optimizer_fixtures.py

(any venv with keras, jax, jaxlib and numpy). The output is deterministic (fixed zip
timestamps), so a re-run only shows a git diff when Keras's behaviour or the cases changed.

Per case ``<name>`` the npz holds

  <name>__s<k>__kernel, <name>__s<k>__bias     the weights after step k (1..3)
  <name>__s<k>__opt<i>                          optimizer.variables[i] after step k
  <name>__lr                                    the learning rate used by steps 1..3

  schedule__<name>                              a schedule of SCHEDULES at SCHEDULE_STEPS

and ``meta``: a JSON string with the keras version and, per case, the optimizer's variable
paths/dtypes (Keras's order), its get_config() after building, and its serialize() dict (and
each schedule's serialize() dict).
"""
import io
import json
import os
import sys
import zipfile

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["JAX_ENABLE_X64"] = "1"

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
OUT = os.path.join(ROOT, "tests", "data", "keras", "optimizers.npz")

import keras  # noqa: E402
import keras_optimizer_cases as cases  # noqa: E402


def save_npz(path, arrays):
    """np.savez_compressed with fixed zip timestamps, so identical arrays give identical bytes."""
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            arr = np.array(arr, order="C")  # (np.ascontiguousarray would turn 0-d arrays into 1-d)
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def build_optimizer(case, name):
    kwargs = dict(case["config"])
    if "schedule" in case:
        cls_name, cfg = case["schedule"]
        kwargs["learning_rate"] = getattr(keras.optimizers.schedules, cls_name)(**cfg)
    return getattr(keras.optimizers, case["optimizer"])(name=name, **kwargs)


def run_case(name, case, arrays):
    init = cases.initial_values()
    constraints = {k: getattr(keras.constraints, c)(**cfg) for k, (c, cfg) in case.get("constraints", {}).items()}
    with keras.name_scope("dense"):
        variables = {k: keras.Variable(init[k], dtype="float64", name=k) for k in ("kernel", "bias")}
    for k, var in variables.items():  # (keras.Variable's constructor ignores `constraint`; add_weight sets it so)
        var.constraint = constraints.get(k)
    assert [v.path for v in variables.values()] == ["dense/kernel", "dense/bias"], \
        [v.path for v in variables.values()]
    opt = build_optimizer(case, name)
    if "exclude_from_weight_decay" in case:
        opt.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    order = [variables["kernel"], variables["bias"]]
    opt.build(order)
    lrs = []
    for k in range(cases.STEPS):
        lrs.append(float(np.asarray(opt.learning_rate)))
        g = cases.gradients(k)
        opt.apply([g["kernel"], g["bias"]], order)
        for key, var in variables.items():
            arrays[f"{name}__s{k + 1}__{key}"] = np.asarray(var.numpy())
        for i, v in enumerate(opt.variables):
            arrays[f"{name}__s{k + 1}__opt{i}"] = np.asarray(v.numpy())
    arrays[f"{name}__lr"] = np.asarray(lrs, dtype=np.float64)
    return {"variables": [[v.path, str(v.dtype)] for v in opt.variables],
            "config": jsonable(opt.get_config()),
            "serialized": jsonable(keras.optimizers.serialize(opt))}


def main():
    arrays, meta = {}, {"keras_version": keras.__version__, "cases": {}}
    for name, case in cases.CASES.items():
        meta["cases"][name] = run_case(name, case, arrays)
    meta["schedules"] = {}
    for name, (cls_name, cfg) in cases.SCHEDULES.items():
        schedule = getattr(keras.optimizers.schedules, cls_name)(**cfg)
        arrays[f"schedule__{name}"] = np.asarray([float(schedule(s)) for s in cases.SCHEDULE_STEPS])
        meta["schedules"][name] = jsonable(keras.optimizers.schedules.serialize(schedule))
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    save_npz(OUT, arrays)
    print(f"wrote {OUT}: {len(cases.CASES)} cases, {len(arrays)} arrays")


if __name__ == "__main__":
    main()
