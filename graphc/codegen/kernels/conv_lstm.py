"""ConvLSTM kernels: a time loop per image (never unrolled) over the shared convolution helpers.

The input convolution of every step is computed up front, one im2col + GEMM per (batch, time)
image of ``X`` ([B, T, C, H, W] viewed as [B*T, C, H, W]), into a gate workspace
``Z`` [B, T, 4F, P] (P = Ho*Wo) that starts as the bias. Per step the recurrent convolution
(``R`` over h_{t-1}, 'same' padding, stride 1) is im2col + GEMM accumulated into that step's
gates, then one elementwise loop applies the activations and updates c and h. Gates are
i, f, c, o (Keras order), each F rows of the 4F.

The backward kernel recomputes the forward pass of an image into a tape (post-activation gates
in ``Z``, c_t and h_t per step), then runs backpropagation through time: per step, the gate
gradients overwrite the gates in place, ``R^T dz`` folded back with col2im gives the recurrent
part of dh_{t-1}, and ``dR += dz col(h_{t-1})^T``. Finally dX (col2im of ``W^T dz``), dW and dB
come from the gate gradients of all steps.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..loops import const, for_range, iadd, imul
from .conv import emit_col2im, emit_im2col, emit_fill_rows, opaque
from .gemm import gemm_function

# name -> (forward f(s, x), derivative from the output g(s, y))
ACTIVATIONS = {
    "tanh": (lambda s, x: s.tanh(x), lambda s, y: s.sub(1.0, s.mul(y, y))),
    "sigmoid": (lambda s, x: s.sigmoid(x), lambda s, y: s.mul(y, s.sub(1.0, y))),
    "relu": (lambda s, x: s.max(x, 0.0), lambda s, y: s.select(s.cmp(">", y, 0.0), 1.0, 0.0)),
    "hard_sigmoid": (lambda s, x: s.clip(s.add(s.mul(x, 1.0 / 6.0), 0.5), 0.0, 1.0),
                     lambda s, y: s.select(s.b.and_(s.cmp(">", y, 0.0), s.cmp("<", y, 1.0)), 1.0 / 6.0, 0.0)),
    "linear": (lambda s, x: x, lambda s, y: s.c(1.0)),
}


@dataclass(frozen=True)
class ConvLstmConfig:
    dtype: str
    C: int          # input channels
    F: int          # filters
    P: int          # output positions Ho*Wo
    geo: object     # input convolution Window
    rgeo: object    # recurrent convolution Window ('same', stride 1)
    activation: str
    recurrent_activation: str
    reverse: bool
    zero_output_for_mask: bool

    @property
    def ck(self):
        return self.C * math.prod(self.geo.kernel)

    @property
    def fk(self):
        return self.F * math.prod(self.rgeo.kernel)

    @property
    def fp(self):
        return self.F * self.P


def workspace_shapes(cfg: ConvLstmConfig, B, T, grad: bool):
    """(shape, ...) of the kernel workspaces: input columns, recurrent columns, gates Z
    [B, T, 4F*P]; for the backward kernel also the c and h tapes [T, F*P], c0/h0 copies and the
    running dh, dc and recurrent dh buffers [F*P]."""
    shapes = [(cfg.ck * cfg.P,), (cfg.fk * cfg.P,), (B, T, 4 * cfg.fp)]
    if grad:
        shapes += [(T, cfg.fp), (T, cfg.fp)] + [(cfg.fp,)] * 5
    return shapes


class _Ctx:
    def __init__(self, k, cfg):
        self.k, self.cfg, self.b = k, cfg, k.b
        self.s = k.scalar(cfg.dtype)
        self.gemm = gemm_function(k, cfg.dtype)
        b = k.b
        self.G4, self.P, self.CK, self.FK, self.FP = (opaque(b, const(v)) for v in
                                                       (4 * cfg.F, cfg.P, cfg.ck, cfg.fk, cfg.fp))

    def at(self, ptr, idx):
        return self.k.gep(ptr, idx, self.cfg.dtype)

    def ld(self, ptr, idx):
        return self.k.load(ptr, idx, self.cfg.dtype)

    def st(self, v, ptr, idx):
        self.k.store(v, ptr, idx, self.cfg.dtype)

    def copy(self, src, dst, n):
        with for_range(self.b, n, name="cp") as j:
            self.st(self.ld(src, j) if src is not None else self.s.c(0.0), dst, j)

    def input_index(self, T, step):
        """The input time index processed at ``step`` (reversed with ``reverse``)."""
        return self.b.sub(self.b.sub(T, const(1)), step) if self.cfg.reverse else step

    def mask_at(self, mask, bi, T, tin):
        """The mask value of (bi, tin) as a 0/1 float (1 without a mask)."""
        if mask is None:
            return self.s.c(1.0)
        m = self.ld(mask, iadd(self.b, imul(self.b, bi, T), tin))
        return self.s.select(self.s.cmp(">", m, 0.5), 1.0, 0.0)


def _input_conv(c, X, W, Bias, Z, rows, col):
    """Z[n] = bias + W * im2col(X[n]) for the ``rows`` images of X."""
    k, b, cfg = c.k, c.b, c.cfg
    img = cfg.C * math.prod(cfg.geo.inp)
    with for_range(b, rows, name="n") as n:
        zn = c.at(Z, imul(b, n, 4 * cfg.fp))
        if Bias is not None:
            emit_fill_rows(k, zn, Bias, c.G4, c.P, cfg.dtype)
        emit_im2col(k, c.at(X, imul(b, n, img)), col, cfg.C, cfg.geo, cfg.dtype)
        b.call(c.gemm, [c.G4, c.P, c.CK, W, c.CK, const(1), col, c.P, const(1), zn, c.P,
                        c.s.c(1.0), c.s.c(0.0 if Bias is None else 1.0)])


def _forward_image(c, bi, T, ptrs, tape):
    """The time loop of image ``bi``. ``ptrs``: R, mask, Y, hstate, cstate (running state buffers,
    already initialized), Z, colr. With ``tape`` (ctape, htape), c_t and h_t are recorded and the
    gates are left post-activation in Z."""
    b, s, cfg = c.b, c.s, c.cfg
    R, mask, Y, hs, cs, Z, colr = ptrs
    act, dact = ACTIVATIONS[cfg.activation]
    ract, _ = ACTIVATIONS[cfg.recurrent_activation]
    FP = c.FP
    with for_range(b, T, name="t") as step:
        tin = c.input_index(T, step)
        z = c.at(Z, imul(b, iadd(b, imul(b, bi, T), tin), 4 * cfg.fp))
        emit_im2col(c.k, hs, colr, cfg.F, cfg.rgeo, cfg.dtype)
        b.call(c.gemm, [c.G4, c.P, c.FK, R, c.FK, const(1), colr, c.P, const(1), z, c.P, s.c(1.0), s.c(1.0)])
        m = c.mask_at(mask, bi, T, tin)
        keep = s.cmp(">", m, 0.5)
        y = c.at(Y, imul(b, iadd(b, imul(b, bi, T), step), cfg.fp)) if Y is not None else None
        with for_range(b, FP, name="j") as j:
            zi = [c.at(z, iadd(b, imul(b, const(g), FP), j)) for g in range(4)]
            gi, gf, gg, go = (f(s, b.load(p, typ=s.ty)) for f, p in
                              zip((ract, ract, act, ract), zi))
            cp, hp = c.ld(cs, j), c.ld(hs, j)
            cn = s.add(s.mul(gf, cp), s.mul(gi, gg))
            hn = s.mul(go, act(s, cn))
            if tape is not None:
                for v, p in zip((gi, gf, gg, go), zi):
                    b.store(v, p)
            c_new, h_new = s.select(keep, cn, cp), s.select(keep, hn, hp)
            c.st(c_new, cs, j)
            c.st(h_new, hs, j)
            if y is not None:
                c.st(s.select(keep, hn, 0.0 if cfg.zero_output_for_mask else hp), y, j)
        if tape is not None:
            off = imul(b, step, cfg.fp)
            c.copy(cs, c.at(tape[0], off), FP)
            c.copy(hs, c.at(tape[1], off), FP)


def emit_forward(k, cfg: ConvLstmConfig, B, T):
    """Kernel of ConvLSTM(X, W, R, B?, initial_h?, initial_c?, mask?) -> Y, Y_h, Y_c."""
    c = _Ctx(k, cfg)
    b = c.b
    X, W, R, Bias, H0, C0, mask = (k.slot_inputs() + [None] * 7)[:7]
    Y, YH, YC = k.outputs
    coli, colr, Z = k.workspace[:3]
    _input_conv(c, X, W, Bias, Z, imul(b, B, T), coli)
    with for_range(b, B, name="b") as bi:
        off = imul(b, bi, cfg.fp)
        hs, cs = c.at(YH, off), c.at(YC, off)
        c.copy(c.at(H0, off) if H0 is not None else None, hs, c.FP)
        c.copy(c.at(C0, off) if C0 is not None else None, cs, c.FP)
        _forward_image(c, bi, T, (R, mask, Y, hs, cs, Z, colr), None)
    b.ret_void()


def emit_backward(k, cfg: ConvLstmConfig, B, T):
    """Kernel of ConvLSTMGrad(forward inputs, dY?, dY_h?, dY_c?) -> dX, dW, dR, dB, dH0, dC0."""
    c = _Ctx(k, cfg)
    b, s = c.b, c.s
    ins = (k.slot_inputs() + [None] * 10)[:10]
    X, W, R, Bias, H0, C0, mask, dY, dYH, dYC = ins
    dX, dW, dR, dB, dH0, dC0 = k.outputs
    coli, colr, Z, ctape, htape, c0, h0, dh, dc, dhr = k.workspace
    act, dact = ACTIVATIONS[cfg.activation]
    _, dract = ACTIVATIONS[cfg.recurrent_activation]
    FP, fp = c.FP, cfg.fp
    for out, n in ((dW, 4 * cfg.F * cfg.ck), (dR, 4 * cfg.F * cfg.fk), (dB, 4 * cfg.F)):
        c.copy(None, out, const(n))
    _input_conv(c, X, W, Bias, Z, imul(b, B, T), coli)
    with for_range(b, B, name="b") as bi:
        off = imul(b, bi, fp)
        c.copy(c.at(H0, off) if H0 is not None else None, h0, FP)
        c.copy(c.at(C0, off) if C0 is not None else None, c0, FP)
        c.copy(h0, dh, FP)  # dh, dc serve as the running forward state here
        c.copy(c0, dc, FP)
        _forward_image(c, bi, T, (R, mask, None, dh, dc, Z, colr), (ctape, htape))
        c.copy(c.at(dYH, off) if dYH is not None else None, dh, FP)
        c.copy(c.at(dYC, off) if dYC is not None else None, dc, FP)
        with for_range(b, T, name="r") as r:
            step = b.sub(b.sub(T, const(1)), r)
            tin = c.input_index(T, step)
            first = b.icmp_signed("==", step, const(0))
            prev = b.sub(step, const(1))
            cprev = b.select(first, c0, c.at(ctape, imul(b, prev, fp)))
            hprev = b.select(first, h0, c.at(htape, imul(b, prev, fp)))
            ccur = c.at(ctape, imul(b, step, fp))
            z = c.at(Z, imul(b, iadd(b, imul(b, bi, T), tin), 4 * fp))
            m = c.mask_at(mask, bi, T, tin)
            dy = c.at(dY, imul(b, iadd(b, imul(b, bi, T), step), fp)) if dY is not None else None
            with for_range(b, FP, name="j") as j:
                zi = [c.at(z, iadd(b, imul(b, const(g), FP), j)) for g in range(4)]
                gi, gf, gg, go = (b.load(p, typ=s.ty) for p in zi)
                dyj = c.ld(dy, j) if dy is not None else s.c(0.0)
                dhj, dcj = c.ld(dh, j), c.ld(dc, j)
                dhn = s.mul(m, s.add(dyj, dhj))
                dcn = s.mul(m, dcj)
                ac = act(s, c.ld(ccur, j))
                dct = s.add(dcn, s.mul(s.mul(dhn, go), dact(s, ac)))
                dzs = (s.mul(s.mul(dct, gg), dract(s, gi)), s.mul(s.mul(dct, c.ld(cprev, j)), dract(s, gf)),
                       s.mul(s.mul(dct, gi), dact(s, gg)), s.mul(s.mul(dhn, ac), dract(s, go)))
                for v, p in zip(dzs, zi):
                    b.store(v, p)
                keep = s.sub(1.0, m)
                carry = dhj if cfg.zero_output_for_mask else s.add(dhj, dyj)
                c.st(s.add(s.mul(keep, dcj), s.mul(dct, gf)), dc, j)
                c.st(s.mul(keep, carry), dh, j)
            # dh_{t-1} += col2im(R^T dz); dR += dz col(h_{t-1})^T
            b.call(c.gemm, [c.FK, c.P, c.G4, R, const(1), c.FK, z, c.P, const(1), colr, c.P, s.c(1.0), s.c(0.0)])
            emit_col2im(c.k, colr, dhr, cfg.F, cfg.rgeo, cfg.dtype)
            with for_range(b, FP, name="j") as j:
                c.st(s.add(c.ld(dh, j), c.ld(dhr, j)), dh, j)
            emit_im2col(c.k, hprev, colr, cfg.F, cfg.rgeo, cfg.dtype, transposed=True)
            b.call(c.gemm, [c.G4, c.FK, c.P, z, c.P, const(1), colr, c.FK, const(1), dR, c.FK, s.c(1.0), s.c(1.0)])
        c.copy(dh, c.at(dH0, off), FP)
        c.copy(dc, c.at(dC0, off), FP)
    # input convolution gradients from the gate gradients of every (batch, time) image
    img = cfg.C * math.prod(cfg.geo.inp)
    with for_range(b, imul(b, B, T), name="n") as n:
        zn = c.at(Z, imul(b, n, 4 * fp))
        with for_range(b, c.G4, name="g") as g:
            row = imul(b, g, cfg.P)
            with for_range(b, c.P, name="p") as p:
                c.st(s.add(c.ld(dB, g), c.ld(zn, iadd(b, row, p))), dB, g)
        xn = c.at(X, imul(b, n, img))
        emit_im2col(c.k, xn, coli, cfg.C, cfg.geo, cfg.dtype, transposed=True)
        b.call(c.gemm, [c.G4, c.CK, c.P, zn, c.P, const(1), coli, c.CK, const(1), dW, c.CK, s.c(1.0), s.c(1.0)])
        b.call(c.gemm, [c.CK, c.P, c.G4, W, const(1), c.CK, zn, c.P, const(1), coli, c.P, s.c(1.0), s.c(0.0)])
        emit_col2im(c.k, coli, c.at(dX, imul(b, n, img)), cfg.C, cfg.geo, cfg.dtype)
    b.ret_void()
