"""keras.optimizers: Keras 3 update formulas (numpy, written here from Keras's source) and real-Keras
fixtures, for every optimizer and option; names, configs, get/serialize, learning rate and schedules.

Each scenario of tests/keras_optimizer_cases.py runs three steps in float64 through the traced
update (``Optimizer.lower_updates``) compiled by graphc: the gradients are graph inputs, the
learning rate and ``iterations`` are the optimizer's buffers, every new value is a graph output
that the test writes back into its Variable between steps (no dependence on in-place aliasing).
tools/make_optimizer_fixtures.py recorded the same scenarios in real Keras 3 (JAX, float64).
"""
import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import graphc
import keras_optimizer_cases as cases
from graphc.errors import UnsupportedOpError
from graphc.keras import constraints, ops, optimizers
from graphc.keras.engine.trace import Tracer
from graphc.keras.engine.variable import Variable
from graphc.keras.optimizers import schedules

DATA = np.load(Path(__file__).resolve().parent.parent / "data" / "keras" / "optimizers.npz")
META = json.loads(DATA["meta"].item())
TOL = dict(rtol=1e-10, atol=1e-12)

DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}
COMMON = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
          "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
          "gradient_accumulation_steps": None}
KEYS = ("kernel", "bias")


# --------------------------------------------------------------------------- numpy reference (Keras 3 formulas)

def _schedule_value(spec, step):
    """Independent numpy forms of the two schedules the update scenarios use."""
    cls_name, cfg = spec
    if cls_name == "ExponentialDecay":
        return cfg["initial_learning_rate"] * cfg["decay_rate"] ** (step / cfg["decay_steps"])
    if cls_name == "PiecewiseConstantDecay":
        idx = int(np.searchsorted(cfg["boundaries"], step, side="left"))
        return cfg["values"][idx]
    raise AssertionError(cls_name)


def _clip(case_cfg, grads):
    if case_cfg.get("clipnorm"):
        c = case_cfg["clipnorm"]
        return {k: g * c / max(np.sqrt(np.sum(g * g)), c) for k, g in grads.items()}
    if case_cfg.get("global_clipnorm"):
        c = case_cfg["global_clipnorm"]
        norm = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
        return {k: g * (c * min(1.0 / norm, 1.0 / c)) for k, g in grads.items()}
    if case_cfg.get("clipvalue"):
        c = case_cfg["clipvalue"]
        return {k: np.clip(g, -c, c) for k, g in grads.items()}
    return grads


def _constrain(spec, w):
    eps = 1e-7
    if spec is None:
        return w
    cls_name, cfg = spec
    if cls_name == "NonNeg":
        return np.maximum(w, 0.0)
    norms = np.sqrt(np.sum(w * w, axis=cfg.get("axis", 0), keepdims=True))
    if cls_name == "MaxNorm":
        return w * (np.clip(norms, 0, cfg["max_value"]) / (eps + norms))
    if cls_name == "UnitNorm":
        return w / (eps + norms)
    if cls_name == "MinMaxNorm":
        desired = cfg["rate"] * np.clip(norms, cfg["min_value"], cfg["max_value"]) + (1 - cfg["rate"]) * norms
        return w * (desired / (eps + norms))
    raise AssertionError(cls_name)


def _slot_init(name, c):
    """The per-variable state Keras creates, with its initial value."""
    if name == "SGD":
        return {"momentum": 0.0} if c["momentum"] != 0 else {}
    if name == "RMSprop":
        return dict({"velocity": 0.0}, **({"momentum": 0.0} if c["momentum"] > 0 else {}),
                    **({"average_gradient": 0.0} if c["centered"] else {}))
    if name in ("Adam", "AdamW"):
        return dict({"momentum": 0.0, "velocity": 0.0}, **({"velocity_hat": 0.0} if c["amsgrad"] else {}))
    return {"Adagrad": {"accumulator": c.get("initial_accumulator_value")},
            "Adadelta": {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0},
            "Adamax": {"momentum": 0.0, "norm": 0.0},
            "Nadam": {"momentum": 0.0, "velocity": 0.0}}[name]


def _update(name, c, p, g, s, lr, t, nadam):
    """One Keras 3 update_step in numpy; mutates the slot dict ``s``; returns the new weight."""
    if name == "SGD":
        if c["momentum"] == 0:
            return p - g * lr
        s["momentum"] = s["momentum"] * c["momentum"] - g * lr
        if c["nesterov"]:
            return p + (s["momentum"] * c["momentum"] - g * lr)
        return p + s["momentum"]
    if name == "RMSprop":
        rho = c["rho"]
        s["velocity"] = rho * s["velocity"] + (1 - rho) * g * g
        if c["centered"]:
            s["average_gradient"] = rho * s["average_gradient"] + (1 - rho) * g
            denominator = s["velocity"] - s["average_gradient"] ** 2 + c["epsilon"]
        else:
            denominator = s["velocity"] + c["epsilon"]
        increment = lr * g / np.sqrt(denominator)
        if c["momentum"] > 0:
            s["momentum"] = c["momentum"] * s["momentum"] + increment
            return p - s["momentum"]
        return p - increment
    if name in ("Adam", "AdamW"):
        b1, b2 = c["beta_1"], c["beta_2"]
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - b1)
        s["velocity"] = s["velocity"] + (g * g - s["velocity"]) * (1 - b2)
        v = s["velocity"]
        if c["amsgrad"]:
            s["velocity_hat"] = np.maximum(s["velocity_hat"], s["velocity"])
            v = s["velocity_hat"]
        return p - s["momentum"] * alpha / (np.sqrt(v) + c["epsilon"])
    if name == "Adagrad":
        s["accumulator"] = s["accumulator"] + g * g
        return p - lr * g / np.sqrt(s["accumulator"] + c["epsilon"])
    if name == "Adadelta":
        rho, eps = c["rho"], c["epsilon"]
        s["accumulated_grad"] = rho * s["accumulated_grad"] + (1 - rho) * g * g
        delta = -np.sqrt(s["accumulated_delta_var"] + eps) * g / np.sqrt(s["accumulated_grad"] + eps)
        s["accumulated_delta_var"] = rho * s["accumulated_delta_var"] + (1 - rho) * delta * delta
        return p + lr * delta
    if name == "Adamax":
        b1 = c["beta_1"]
        s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - b1)
        s["norm"] = np.maximum(c["beta_2"] * s["norm"], np.abs(g))
        return p - lr * s["momentum"] / ((1 - b1 ** t) * (s["norm"] + c["epsilon"]))
    if name == "Nadam":
        u_t, u_t1, u_product = nadam
        b1, b2 = c["beta_1"], c["beta_2"]
        s["momentum"] = s["momentum"] + (g - s["momentum"]) * (1 - b1)
        s["velocity"] = s["velocity"] + (g * g - s["velocity"]) * (1 - b2)
        m_hat = u_t1 * s["momentum"] / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = s["velocity"] / (1 - b2 ** t)
        return p - m_hat * lr / (np.sqrt(v_hat) + c["epsilon"])
    raise AssertionError(name)


def numpy_reference(case):
    """Three Keras 3 ``apply`` calls: unscale, clip, weight decay, update_step, EMA, constraints."""
    name = case["optimizer"]
    c = dict(COMMON, **DEFAULTS[name])
    c.update(case["config"])
    w = cases.initial_values()
    slots = {k: {n: np.full_like(w[k], v) for n, v in _slot_init(name, c).items()} for k in KEYS}
    averages = {k: np.zeros_like(w[k]) for k in KEYS}
    u_product = 1.0
    excluded = case.get("exclude_from_weight_decay", [])
    history = []
    for step in range(cases.STEPS):
        t = step + 1.0
        raw_lr = _schedule_value(case["schedule"], step) if "schedule" in case else c["learning_rate"]
        lr = float(np.float32(raw_lr))  # Keras's learning-rate variable is floatx (float32)
        grads = cases.gradients(step)
        if c["loss_scale_factor"] is not None:
            grads = {k: g / c["loss_scale_factor"] for k, g in grads.items()}
        grads = _clip(c, grads)
        nadam = None
        if name == "Nadam":
            u_t = c["beta_1"] * (1.0 - 0.5 * 0.96 ** t)
            u_t1 = c["beta_1"] * (1.0 - 0.5 * 0.96 ** (t + 1))
            u_product = u_product * u_t
            nadam = (u_t, u_t1, u_product)
        for k in KEYS:
            p = w[k]
            if c["weight_decay"] is not None and not any(x in k for x in excluded):
                p = p - p * c["weight_decay"] * lr
            w[k] = _update(name, c, p, grads[k], slots[k], lr, t, nadam)
        if c["use_ema"]:
            momentum = c["ema_momentum"] if step > 0 else 0.0
            for k in KEYS:
                averages[k] = momentum * averages[k] + (1 - momentum) * w[k]
        for k in KEYS:
            w[k] = _constrain(case.get("constraints", {}).get(k), w[k])
        history.append({"lr": lr, "weights": {k: w[k].copy() for k in KEYS},
                        "slots": {k: {n: v.copy() for n, v in slots[k].items()} for k in KEYS},
                        "averages": {k: averages[k].copy() for k in KEYS}, "u_product": u_product})
    return history


# --------------------------------------------------------------------------- graphc runs (traced + compiled)

def make_optimizer(case, name):
    config = dict(case["config"])
    if "schedule" in case:
        cls_name, cfg = case["schedule"]
        config["learning_rate"] = getattr(schedules, cls_name)(**cfg)
    opt = getattr(optimizers, case["optimizer"])(name=name, **config)
    if "exclude_from_weight_decay" in case:
        opt.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    return opt


def make_variables(case, dtype="float64"):
    init = cases.initial_values()
    cons = {k: constraints.deserialize({"class_name": cn, "config": cfg})
            for k, (cn, cfg) in case.get("constraints", {}).items()}
    return [Variable(init[k].astype(dtype), dtype=dtype, name=k, path=f"dense/{k}", constraint=cons.get(k))
            for k in KEYS]


def compile_update(opt, variables):
    """The update as a graph: grads are inputs, every new value an output. Returns (exe, targets)."""
    tracer = Tracer(name=f"{opt.name}_update")
    dtype = variables[0].dtype
    with tracer.active():
        grads = [tracer.value(tracer.b.input(f"grad_{v.name}", v.dtype, v.shape)) for v in variables]
        lr = tracer.variable(opt._lr_var)
        step = ops.add(ops.cast(tracer.variable(opt.iterations), dtype), 1.0)
        updates = opt.lower_updates(list(zip(variables, grads)), lr, step)
    tracer.b.g.outputs = [new.name for _, new in updates]
    return graphc.compile(tracer.b.g), [var for var, _ in updates]


def run_steps(opt, variables, exe, targets, dtype="float64"):
    history = []
    for step in range(cases.STEPS):
        opt._sync_lr()
        lr = float(opt._lr_var.value)
        g = cases.gradients(step)
        outs = exe.run([g[v.name].astype(dtype) for v in variables])
        for var, new in zip(targets, outs):
            var.assign(new)
        opt.iterations.assign(opt.iterations.value + 1)
        history.append({"lr": lr, "weights": {v.name: v.numpy() for v in variables},
                        "opt": [v.numpy() for v in opt.variables],
                        "slots": {v.name: {n: s.numpy() for n, s in opt._slots[id(v)].items()} for v in variables}})
    return history


@functools.lru_cache(maxsize=None)
def graphc_run(case_name):
    case = cases.CASES[case_name]
    opt = make_optimizer(case, case_name)
    variables = make_variables(case)
    opt.build(variables)
    exe, targets = compile_update(opt, variables)
    updated = {id(v) for v in targets}
    assert opt.iterations not in targets and id(opt._lr_var) not in updated
    assert updated >= {id(v) for v in variables} | {id(s) for v in variables for s in opt._slots[id(v)].values()}
    return opt, run_steps(opt, variables, exe, targets)


# --------------------------------------------------------------------------- formulas: numpy and real Keras

@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_three_steps_match_keras_formulas(name):
    opt, got = graphc_run(name)
    want = numpy_reference(cases.CASES[name])
    for step, (g, w) in enumerate(zip(got, want)):
        assert g["lr"] == w["lr"], step
        for k in KEYS:
            np.testing.assert_allclose(g["weights"][k], w["weights"][k], **TOL, err_msg=f"{name} step {step + 1} {k}")
            assert set(g["slots"][k]) == set(w["slots"][k])
            for s in w["slots"][k]:
                np.testing.assert_allclose(g["slots"][k][s], w["slots"][k][s], **TOL,
                                           err_msg=f"{name} step {step + 1} {k} {s}")
    if opt.use_ema:
        for v in opt._trainable_variables:
            np.testing.assert_allclose(opt._averages[id(v)].value, want[-1]["averages"][v.name], **TOL)
    if isinstance(opt, optimizers.Nadam):
        assert float(opt._u_product.value) == pytest.approx(want[-1]["u_product"], rel=1e-13)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_three_steps_match_real_keras(name):
    opt, got = graphc_run(name)
    meta = META["cases"][name]
    paths = [v.path for v in opt.variables]
    keras_paths = [p for p, _ in meta["variables"]]
    if isinstance(opt, optimizers.Nadam):  # Keras's momentum-cache product is an unnamed "variable"
        assert keras_paths[-1].startswith("variable")
        keras_paths[-1] = f"{name}/u_product"
    assert paths == keras_paths
    for step, g in enumerate(got):
        assert g["lr"] == float(DATA[f"{name}__lr"][step])
        for k in KEYS:
            np.testing.assert_allclose(g["weights"][k], DATA[f"{name}__s{step + 1}__{k}"], **TOL,
                                       err_msg=f"{name} step {step + 1} {k}")
        for i, (path, value) in enumerate(zip(paths, g["opt"])):
            ref = DATA[f"{name}__s{step + 1}__opt{i}"]
            assert value.shape == ref.shape, path
            np.testing.assert_allclose(value, ref, **TOL, err_msg=f"{name} step {step + 1} {path}")


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_config_matches_real_keras(name):
    opt = make_optimizer(cases.CASES[name], name)
    ours, theirs = opt.get_config(), META["cases"][name]["config"]
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if key == "learning_rate" and not isinstance(value, dict):
            assert ours[key] == pytest.approx(value, rel=1e-7)  # Keras reports its float32 variable
        else:
            assert ours[key] == value, key
    # Keras's serialized dict deserializes into the same optimizer
    other = optimizers.deserialize(META["cases"][name]["serialized"])
    assert type(other) is type(opt)
    assert other.get_config() == pytest.approx(ours) if not isinstance(ours["learning_rate"], dict) else \
        other.get_config() == ours


def test_float32_variables_update_in_float32():
    case = cases.CASES["adam_amsgrad"]
    opt = make_optimizer(case, "adam_f32")
    variables = make_variables(case, "float32")
    opt.build(variables)
    assert all(s.dtype == "float32" for s in opt.variables[2:])
    exe, targets = compile_update(opt, variables)
    got = run_steps(opt, variables, exe, targets, "float32")
    want = numpy_reference(case)
    for k in KEYS:
        assert got[-1]["weights"][k].dtype == np.float32
        np.testing.assert_allclose(got[-1]["weights"][k], want[-1]["weights"][k], rtol=2e-5, atol=1e-6)


def test_apply_gradients_runs_the_same_update():
    case = cases.CASES["nadam_custom"]
    opt = make_optimizer(case, "nadam_eager")
    variables = make_variables(case)
    for step in range(cases.STEPS):
        g = cases.gradients(step)
        assert opt.apply_gradients([(g[v.name], v) for v in variables]) is opt.iterations
    assert int(opt.iterations.value) == 3
    want = numpy_reference(case)[-1]
    for v in variables:
        np.testing.assert_allclose(v.value, want["weights"][v.name], **TOL)
    assert len(opt._apply_programs) == 1  # compiled once, reused
    opt.apply([np.zeros((2, 3)), np.zeros(3)])  # grads only: the built variables
    assert int(opt.iterations.value) == 4


# --------------------------------------------------------------------------- defaults, names, state

@pytest.mark.parametrize("cls_name", sorted(DEFAULTS))
def test_defaults_are_keras_defaults(cls_name):
    opt = getattr(optimizers, cls_name)()
    config = opt.get_config()
    assert {k: config[k] for k in DEFAULTS[cls_name]} == DEFAULTS[cls_name]
    assert {k: config[k] for k in COMMON if k not in DEFAULTS[cls_name]} == \
        {k: v for k, v in COMMON.items() if k not in DEFAULTS[cls_name]}
    assert opt.learning_rate == DEFAULTS[cls_name]["learning_rate"]


def test_automatic_names():
    from graphc.keras.engine import naming
    naming.reset()
    assert [optimizers.SGD().name, optimizers.SGD().name, optimizers.RMSprop().name, optimizers.AdamW().name] == \
        ["sgd", "sgd_1", "rm_sprop", "adam_w"]


def test_build_creates_keras_named_state_once():
    kernel = Variable(np.zeros((2, 3), np.float32), name="kernel", path="dense/kernel")
    bias = Variable(np.zeros(3, np.float32), name="bias", path="dense/bias")
    opt = optimizers.Adam(name="adam")
    assert [v.path for v in opt.variables] == ["adam/iteration", "adam/learning_rate"]
    it = opt.iterations
    assert (it.dtype, it.shape, int(it.value), it.trainable) == ("int64", (), 0, False)
    assert (opt._lr_var.dtype, opt._lr_var.shape, float(opt._lr_var.value)) == ("float32", (), np.float32(0.001))
    opt.build([kernel, bias])
    names = ["adam/iteration", "adam/learning_rate", "adam/dense_kernel_momentum", "adam/dense_kernel_velocity",
             "adam/dense_bias_momentum", "adam/dense_bias_velocity"]
    assert [v.path for v in opt.variables] == names
    assert opt.variables[2].name == "dense_kernel_momentum"
    assert all(not v.trainable and v.dtype == "float32" for v in opt.variables[2:])
    assert opt.slot(kernel, "velocity").shape == (2, 3)
    opt.build([kernel, bias])  # no-op
    opt.build([bias])
    assert [v.path for v in opt.variables] == names
    extra = Variable(np.zeros((4,)), dtype="float64", name="gamma", path="bn/gamma")
    opt.build([kernel, bias, extra])  # new variables extend
    assert [v.path for v in opt.variables] == names + ["adam/bn_gamma_momentum", "adam/bn_gamma_velocity"]
    assert opt.slot(extra, "momentum").dtype == "float64"
    opt.variables.append(None)  # a copy
    assert len(opt.variables) == 8


def test_slots_only_when_needed():
    w = Variable(np.zeros(2), name="w", path="w")
    sgd = optimizers.SGD(name="sgd")
    sgd.build([w])
    assert [v.path for v in sgd.variables] == ["sgd/iteration", "sgd/learning_rate"]
    ada = optimizers.Adagrad(initial_accumulator_value=0.25, name="ada")
    ada.build([w])
    np.testing.assert_array_equal(ada.slot(w, "accumulator").value, [0.25, 0.25])


def test_set_weights_and_get_weights():
    w = Variable(np.ones(2), name="w", path="w")
    opt = optimizers.SGD(momentum=0.5, name="s")
    with pytest.raises(ValueError, match="not yet been built"):
        opt.set_weights([])
    opt.build([w])
    opt.set_weights([np.int64(7), np.float32(0.5), np.array([1.0, 2.0])])
    assert int(opt.iterations.value) == 7 and opt.learning_rate == 0.5
    assert [np.asarray(x).tolist() for x in opt.get_weights()] == [7, 0.5, [1.0, 2.0]]
    with pytest.raises(ValueError, match="shape"):
        opt.set_weights([0, 0.1, np.zeros(3)])


# --------------------------------------------------------------------------- learning rate

def test_learning_rate_get_set_and_sync():
    opt = optimizers.SGD(0.1)
    assert opt.learning_rate == 0.1 and isinstance(opt.learning_rate, float)
    assert float(opt._lr_var.value) == np.float32(0.1)
    opt.learning_rate = 0.05  # callbacks set it between epochs
    assert opt.learning_rate == 0.05 and float(opt._lr_var.value) == np.float32(0.05)
    assert opt.get_config()["learning_rate"] == 0.05
    opt.learning_rate = np.float64(0.5)
    assert opt.learning_rate == 0.5
    # Keras returns its learning-rate Variable: .numpy() and .assign() work on graphc's float too
    assert opt.learning_rate.numpy().dtype == np.float32 and opt.learning_rate.numpy() == np.float32(0.5)
    opt.learning_rate.assign(0.25)
    assert opt.learning_rate == 0.25 and float(opt._lr_var.value) == 0.25
    assert json.loads(json.dumps({"lr": opt.learning_rate})) == {"lr": 0.25}
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = "fast"
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=None)
    assert optimizers.SGD(1).learning_rate == 1.0  # ints are accepted (Keras insists on float)


def test_learning_rate_schedule():
    sched = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    opt = optimizers.Adam(sched, name="adam")
    assert [v.path for v in opt.variables] == ["adam/iteration"]  # no learning-rate variable, as in Keras
    assert opt.learning_rate == pytest.approx(0.1)
    opt.iterations.assign(10)
    assert opt.learning_rate == pytest.approx(0.05)
    opt._sync_lr()
    assert float(opt._lr_var.value) == np.float32(0.05)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    config = opt.get_config()
    assert config["learning_rate"] == {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                                       "config": sched.get_config(), "registered_name": None}
    back = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(back._learning_rate, schedules.ExponentialDecay)
    assert back.get_config() == config


def test_learning_rate_can_become_a_schedule_or_callable():
    opt = optimizers.SGD(0.1, name="s")
    opt.learning_rate = schedules.PiecewiseConstantDecay([2], [0.3, 0.2])
    assert [v.path for v in opt.variables] == ["s/iteration"]
    assert opt.learning_rate == 0.3
    opt.iterations.assign(3)
    assert opt.learning_rate == 0.2
    opt2 = optimizers.SGD(lambda: 0.25, name="c")
    assert opt2.learning_rate == 0.25 and float(opt2._lr_var.value) == 0.25
    opt2.learning_rate = 0.5
    assert [v.path for v in opt2.variables] == ["c/iteration", "c/learning_rate"] and opt2.learning_rate == 0.5


def test_schedule_drives_the_compiled_step():
    """The learning rate is a buffer: a schedule changes it per step without recompiling."""
    case = {"optimizer": "SGD", "config": {}, "schedule": ["PiecewiseConstantDecay",
                                                           {"boundaries": [0, 1], "values": [1.0, 0.5, 0.25]}]}
    opt = make_optimizer(case, "sgd_pw")
    variables = make_variables(case)
    exe, targets = compile_update(opt, variables)
    got = run_steps(opt, variables, exe, targets)
    assert [h["lr"] for h in got] == [1.0, 0.5, 0.25]
    w = cases.initial_values()["kernel"]
    for step, lr in enumerate([1.0, 0.5, 0.25]):
        w = w - cases.gradients(step)["kernel"] * lr
    np.testing.assert_allclose(variables[0].value, w, **TOL)


# --------------------------------------------------------------------------- schedules

@pytest.mark.parametrize("name", sorted(cases.SCHEDULES))
def test_schedule_matches_real_keras(name):
    cls_name, cfg = cases.SCHEDULES[name]
    sched = getattr(schedules, cls_name)(**cfg)
    got = np.array([sched(s) for s in cases.SCHEDULE_STEPS])
    assert all(isinstance(sched(s), float) for s in (0, np.int64(3), np.array(5)))
    np.testing.assert_allclose(got, DATA[f"schedule__{name}"], rtol=2e-6, atol=1e-8)  # Keras: float32 math
    assert schedules.serialize(sched) == META["schedules"][name]
    back = schedules.deserialize(META["schedules"][name])
    assert type(back) is type(sched) and back.get_config() == sched.get_config()


def test_schedule_formulas():
    e = schedules.ExponentialDecay(0.1, 10, 0.5)
    assert e(0) == 0.1 and e(10) == pytest.approx(0.05) and e(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    assert schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    p = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [p(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    it = schedules.InverseTimeDecay(1.0, 2, 0.5)
    assert it(4) == pytest.approx(1 / (1 + 0.5 * 2)) and it(3) == pytest.approx(1 / 1.75)
    assert schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=True)(3) == pytest.approx(1 / 1.5)
    poly = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=0.5)
    assert poly(5) == pytest.approx(0.09 * 0.5 ** 0.5 + 0.01) and poly(50) == pytest.approx(0.01)
    cyc = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0, cycle=True)
    assert cyc(0) == pytest.approx(0.1) and cyc(15) == pytest.approx(0.1 * (1 - 15 / 20))
    cos = schedules.CosineDecay(0.1, 100, alpha=0.2)
    assert cos(50) == pytest.approx(0.1 * (0.8 * 0.5 + 0.2)) and cos(1000) == pytest.approx(0.02)
    warm = schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    assert warm(2) == pytest.approx(0.5) and warm(4) == pytest.approx(1.0) and warm(9) == pytest.approx(0.5)
    r = schedules.CosineDecayRestarts(1.0, 10)
    assert r(0) == pytest.approx(1.0) and r(5) == pytest.approx(0.5) and r(10) == pytest.approx(1.0)
    assert r(20) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))


def test_schedule_errors_and_base_class():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="length of boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0])
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})

    class Halving(schedules.LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return self.lr / 2 ** int(step)

        def get_config(self):
            return {"lr": self.lr}

    opt = optimizers.SGD(Halving(1.0))
    opt.iterations.assign(2)
    assert opt.learning_rate == 0.25
    config = optimizers.serialize(opt)
    back = optimizers.deserialize(config, custom_objects={"Halving": Halving})
    assert isinstance(back._learning_rate, Halving) and back._learning_rate.lr == 1.0


# --------------------------------------------------------------------------- get / serialize

@pytest.mark.parametrize("identifier,cls", [
    ("sgd", optimizers.SGD), ("SGD", optimizers.SGD), ("rmsprop", optimizers.RMSprop),
    ("RMSprop", optimizers.RMSprop), ("adam", optimizers.Adam), ("Adam", optimizers.Adam),
    ("adamw", optimizers.AdamW), ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
    ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam), ("Nadam", optimizers.Nadam)])
def test_get_by_name(identifier, cls):
    opt = optimizers.get(identifier)
    assert type(opt) is cls
    assert opt.get_config()["learning_rate"] == DEFAULTS[cls.__name__]["learning_rate"]


def test_get_dict_instance_and_errors():
    assert optimizers.get(None) is None
    opt = optimizers.Adam(0.01)
    assert optimizers.get(opt) is opt
    got = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3, "momentum": 0.9}})
    assert type(got) is optimizers.SGD and got.learning_rate == 0.3 and got.momentum == 0.9
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get("nope")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(42)
    with pytest.raises(ValueError):
        optimizers.deserialize({"config": {}})


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_serialize_round_trip(name):
    opt = make_optimizer(cases.CASES[name], name)
    config = optimizers.serialize(opt)
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras.optimizers", cases.CASES[name]["optimizer"], None)
    json.dumps(config)
    back = optimizers.deserialize(json.loads(json.dumps(config)))
    assert type(back) is type(opt) and back.get_config() == opt.get_config()
    again = type(opt).from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_custom_optimizer_serialization():
    class MySGD(optimizers.SGD):
        pass

    config = optimizers.serialize(MySGD(0.2))
    assert config["registered_name"] == "MySGD"
    assert type(optimizers.deserialize(config, custom_objects={"MySGD": MySGD})) is MySGD


# --------------------------------------------------------------------------- argument checks

def test_argument_errors():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(bogus=1)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(UnsupportedOpError, match="gradient_accumulation_steps"):
        optimizers.Adam(gradient_accumulation_steps=4)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=2.0)
    with pytest.warns(UserWarning, match="decay"):
        optimizers.SGD(decay=0.1)


def test_missing_gradients_are_skipped_with_a_warning():
    a = Variable(np.ones(2), name="a", path="d/a")
    b = Variable(np.ones(2), name="b", path="d/b")
    opt = optimizers.SGD(0.5)
    tracer = Tracer()
    with tracer.active():
        g = tracer.value(tracer.b.input("g", "float64", (2,)))
        with pytest.warns(UserWarning, match="Gradients do not exist"):
            updates = opt.lower_updates([(a, g), (b, None)], tracer.variable(opt._lr_var),
                                        ops.add(ops.cast(tracer.variable(opt.iterations), "float64"), 1.0))
        assert [v for v, _ in updates] == [a]
        with pytest.raises(ValueError, match="No gradients"):
            opt.lower_updates([(b, None)], None, None)


def test_numpy_only_constraint_is_a_clear_error():
    w = Variable(np.ones(2), name="w", path="d/w", constraint=lambda x: np.clip(np.asarray(x), 0, 1))
    opt = optimizers.SGD()
    tracer = Tracer()
    with tracer.active():
        g = tracer.value(tracer.b.input("g", "float64", (2,)))
        with pytest.raises(UnsupportedOpError, match="keras.ops"):
            opt.lower_updates([(w, g)], tracer.variable(opt._lr_var),
                              ops.add(ops.cast(tracer.variable(opt.iterations), "float64"), 1.0))


def test_ema_finalize_writes_the_averages():
    opt, _ = graphc_run.__wrapped__("ema_adam")  # a fresh run: this test changes the weights
    w = Variable(np.zeros(2), name="w", path="w")
    opt.finalize_variable_values([w])  # unknown variables are left alone
    var = opt._trainable_variables[0]
    avg = opt._averages[id(var)].numpy()
    assert not np.allclose(var.value, avg)
    opt.finalize_variable_values([var])
    np.testing.assert_array_equal(var.value, avg)
