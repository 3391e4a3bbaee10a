"""The op registry: one OpDef per op type, the single place that knows an op.

An OpDef holds the op's schema (arity and attribute defaults, read from ``onnx.defs`` for
opset ``OPSET`` so they are never typed in by hand), its shape/type inference, its numpy
reference, its fusion pattern, and either a ``scalar`` emitter (elementwise ops, fused into
one loop by codegen) or an ``emit`` kernel emitter (loop nests for everything else).
Gradient rules (``grad``) join them in the training issue.
"""
from __future__ import annotations

import difflib

import numpy as np
import onnx
import onnx.defs

from ..errors import UnsupportedOpError

OPSET = 18
ELEMWISE, BROADCAST, INJECTIVE, REDUCE, OUT_EWISE_FUSABLE, OPAQUE = (
    "elemwise", "broadcast", "injective", "reduce", "out_ewise_fusable", "opaque")

_OPS: dict[tuple[str, str], "OpDef"] = {}


class OpDef:
    """Base class of op entries. Subclasses override what their op needs.

    - ``infer(op, in_types, g) -> [TensorType]``: output types from input types and attrs.
    - ``reference(op, *arrays) -> array | tuple``: numpy semantics (constant folding, tests).
    - ``scalar(s, op, *xs) -> ir.Value``: elementwise ops only; ``s`` is a ScalarEmitter.
    - ``emit(k, op)``: non-elementwise kernels; ``k`` is a KernelContext.
    - ``workspace(op, in_types) -> [TensorType]``: scratch buffers the kernel needs.
    - ``dtypes``: the element types the kernel supports.
    """

    op_type: str = ""
    domain: str = ""
    pattern: str = OPAQUE
    dtypes: tuple = ("float32", "float64")
    attr_defaults: dict = {}
    required_attrs: tuple = ()
    num_inputs: tuple = (1, 1)
    num_outputs: tuple = (1, 1)
    float_attrs: frozenset = frozenset()  # attributes of ONNX type FLOAT (held as float32 values)
    statistic_inputs: tuple = ()  # input slots holding running statistics (trained by updates, not gradients)

    def full_attrs(self, attrs: dict) -> dict:
        unknown = [k for k in attrs if k not in self.attr_defaults and k not in self.required_attrs]
        if unknown:
            raise UnsupportedOpError(
                f"op {self.op_type}: unknown attribute(s) {unknown}; known: {sorted(self.attr_defaults)}")
        missing = [k for k in self.required_attrs if k not in attrs]
        if missing:
            raise UnsupportedOpError(f"op {self.op_type}: required attribute(s) {missing} missing")
        if self.float_attrs:  # ONNX stores FLOAT attributes as float32: keep the same semantics
            attrs = {k: float(np.float32(v)) if k in self.float_attrs and v is not None else v for k, v in attrs.items()}
        return {**self.attr_defaults, **attrs}

    def infer_types(self, op, in_types, g=None):
        return self.infer(op, in_types, g)

    def infer(self, op, in_types, g):
        raise NotImplementedError(f"{self.op_type}: no shape inference")

    def reference(self, op, *arrays):
        raise NotImplementedError(f"{self.op_type}: no reference implementation")

    def workspace(self, op, in_types):
        return []

    def fold_from_types(self, op, in_types):
        """The op's outputs when its input *types* determine them (Shape of a static tensor), else None.
        Constant folding uses it for ops whose inputs are not consts."""
        return None

    scalar = None
    emit = None
    # symbolic(op, in_types, vals) -> [object array or None per output] or None: the op on integer
    # tensors whose entries may be graph symbols (shape arithmetic on the dynamic batch; see ops/symbolic)
    symbolic = None
    # expand_at_import(ctx, node, attrs, ins) -> [output value per output]: the ONNX importer calls it instead
    # of adding the op (Loop is unrolled, If inlined when their control values are known; see ops/control)
    expand_at_import = None
    # legacy_attrs(attrs, model_opset) -> attrs: the importer's fix-up of an op converted from an older
    # opset whose meaning onnx's version converter does not carry over (Resize from opset 9/10 Upsample/Resize)
    legacy_attrs = None
    # grad(ctx, op, dys) -> [dx per input slot or None]; ctx is passes.autodiff.GradContext, dys the
    # gradients of the op's outputs (None where an output does not reach the loss)
    grad = None
    # decompose(b, op, ins) -> [new output value per output] or None: rewrite the op into simpler
    # registered ops (``b`` is a GraphBuilder on the same graph; passes/decompose runs it), e.g.
    # inference BatchNormalization -> x * s + t, so fusion and weight folding can take it apart
    decompose = None
    # affine_output(b, op, ins, scale, shift) -> (new inputs, new attrs) or None: a linear op (Conv,
    # Gemm, MatMul) rewritten to compute ``y * scale + shift`` along its output-channel axis (``scale``
    # and ``shift`` are 1-D values of that length, or None) by folding them into its weights and bias
    # (passes/fold_scales; inference BatchNormalization folding). None when it cannot.
    affine_output = None
    # the output axis affine_output scales: 1 for Conv (NCHW), -1 for Gemm/MatMul
    channel_axis = None
    # False for ops whose results differ between two identical nodes (random draws): never merged by
    # common-subexpression elimination
    deterministic = True
    # packed_b(g, op) -> dict or None: how passes/pack_weights rewrites a product whose right operand is
    # a static 2-D weight into graphc.GemmPackedB(a, graphc.PackGemmB(w), c) (see ops/gemm_packed)
    packed_b = None


def _schema_defaults(op_type, domain):
    """Attribute defaults and arity of an ONNX op at OPSET, from onnx.defs."""
    schema = onnx.defs.get_schema(op_type, OPSET, domain)
    defaults, required = {}, []
    floats = frozenset(n for n, a in schema.attributes.items() if a.type == onnx.defs.OpSchema.AttrType.FLOAT)
    for name, a in schema.attributes.items():
        if a.default_value.name:
            v = onnx.helper.get_attribute_value(a.default_value)
            defaults[name] = v.decode() if isinstance(v, bytes) else (list(v) if isinstance(v, (list, tuple)) else v)
        elif a.required:
            required.append(name)
        else:
            defaults[name] = None  # optional without default: absent
    return (defaults, tuple(required), (schema.min_input, min(schema.max_input, 64)),
            (schema.min_output, min(schema.max_output, 64)), floats)


def register_op(op_type, pattern=OPAQUE, domain="", schema=True):
    """Class decorator: instantiate the OpDef once and enter it in the registry.

    With ``schema=True`` (ONNX ops) the defaults and arity come from onnx.defs; graphc-domain
    ops set ``attr_defaults``/``num_inputs`` themselves.
    """
    def deco(cls):
        cls.op_type, cls.domain, cls.pattern = op_type, domain, pattern
        if schema:
            (cls.attr_defaults, cls.required_attrs, cls.num_inputs, cls.num_outputs,
             cls.float_attrs) = _schema_defaults(op_type, domain)
        inst = cls()
        _OPS[(domain, op_type)] = inst
        return cls
    return deco


def get(op_type, domain="") -> OpDef:
    try:
        return _OPS[(domain or "", op_type)]
    except KeyError:
        close = difflib.get_close_matches(op_type, [t for _, t in _OPS], n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise UnsupportedOpError(
            f"op {(domain + '.') if domain else ''}{op_type} is not supported by graphc.{hint} "
            f"Supported: {', '.join(sorted(t for _, t in _OPS))}") from None


def has(op_type, domain="") -> bool:
    return (domain or "", op_type) in _OPS


def is_op(op, op_type, domain="") -> bool:
    """Whether ``op`` is an ``op_type`` op: the registry is the one place that compares op types."""
    return op is not None and op.op_type == op_type and op.domain == domain


def trainable_input(op_type, domain, slot) -> bool:
    """Whether a float initializer read at input ``slot`` of this op is a weight to train.

    Not when the op declares the slot a running statistic (BatchNormalization's mean/var) or when
    ONNX's schema marks the input NonDifferentiable (Clip's bounds, Pad's constant value, ...).
    """
    if slot in get(op_type, domain).statistic_inputs:
        return False
    if domain:
        return True
    inputs = onnx.defs.get_schema(op_type, OPSET, "").inputs
    if not inputs:
        return True
    formal = inputs[min(slot, len(inputs) - 1)]  # the last formal input may be variadic
    return formal.differentiation_category != onnx.defs.OpSchema.DifferentiationCategory.NonDifferentiable


def all_ops() -> dict:
    return dict(_OPS)


def as_tuple(result):
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def run_reference(op, arrays):
    """Run an op's numpy reference; always returns a tuple of arrays."""
    return tuple(np.asarray(r) for r in as_tuple(get(op.op_type, op.domain).reference(op, *arrays)))
