"""Time-loop kernels of the recurrent ops (ONNX RNN, GRU, LSTM and their graphc variants).

One emitter serves the three cell types; a cell only contributes its pointwise step (forward
and backward). Per direction the kernel

1. multiplies every time step's input at once, ``XW = X W^T`` (one GEMM over the T*B rows of X,
   W^T read through strides: the GEMM's packing transposes it);
2. runs a loop over the time steps (``for s in range(T)``, never unrolled) that multiplies the
   recurrent state by ``R^T`` and applies the cell pointwise.

RNN and LSTM (``steps_from_x``: all but a reverse direction with sequence_lens) pack R, and W,
once per call (kernels/rnn_step.py) and from ``X_STEP_ROWS`` batch rows on skip step 1: each
step's product writes whole pre-activations ``b + x_t W^T + h R^T`` with register-held
accumulators, so no T*B x 4H buffer streams through memory before the loop (without a tape the
step's rows go to the small ``hr`` buffer). With fewer rows (batch-1 latency) step 1 runs, into
``b + X W^T``, and the loop adds ``h R^T``. BPTT's ``da R`` uses the packed product too. GRU's two
recurrent products per step use the shared GEMM on R^T.

``sequence_lens`` (clamped to [0, T] by the kernel) and ``mask`` decide per batch row whether a
step runs: a row past its length is frozen and outputs 0, a masked step carries the state over
and outputs the previous state (or 0 with ``zero_output_for_mask``). ``recurrent_mask``
multiplies the state before the recurrent products.

The backward kernel (backpropagation through time) needs per step the pre-activations and the
states the forward pass read (the "tape", ``tape_segments``). In training graphs the forward
kernel records it into its extra ``tape`` output while it runs (the pre-activations replace
``XW`` in place) and the backward kernel reads it; without a tape the backward kernel first
re-runs the forward loop of a direction to record it into its workspace. Then it walks the steps
backwards, accumulating the state gradients, and ends with one GEMM each for dX, dW and dR over
all steps. When every row runs every step (``dh_fused``: RNN/LSTM without sequence_lens or masks)
each step instead packs its rows of the gate gradients once and adds ``[x_t h_t-1 1]^T da_t`` to
the accumulators of dW^T, dR^T and dB (``gw``) with the packed product while they are in cache;
without dX (``skip_dx``) the gate gradients then need one step's rows only.
"""
from __future__ import annotations

import hashlib

from llvmlite import ir

from ..kernel import PTR
from ..loops import I64, const, for_range, iadd, imax, imin, imul
from ..scalar import ScalarEmitter
from .conv import opaque
from .gemm import gemm_function
from .rnn_acts import act_deriv, act_value
from .rnn_config import (X_STEP_ROWS, RnnConfig, da_per_step, dh_fused, keeps_activations, steps_from_x,
                         tape_segments, tape_width)
from .rnn_step import XARGS, pack_function, padded, rec_function


class RecurrentKernel:
    """Emits the forward (``grad=False``) or backward kernel of one recurrent op.

    ``ins`` maps input names to pointers (absent: missing), ``outs`` output names to pointers,
    ``ws`` workspace names to pointers; ``x_type`` is X's TensorType.
    """

    def __init__(self, k, cfg: RnnConfig, x_type, ins, outs, ws, grad=False, lens_dtype="int32", tape=None):
        self.k, self.b, self.cfg, self.grad = k, k.b, cfg, grad
        self.tape = tape  # the tape output (forward) or input (backward), or None
        self.record = grad or tape is not None  # the forward loop writes the tape
        self.post = keeps_activations(cfg)
        self.lens_type = ir.IntType(64 if lens_dtype == "int64" else 32)
        self.dtype = x_type.dtype
        self.s = k.scalar(self.dtype)
        self.ins, self.outs, self.ws = ins, outs, ws
        self.T = k.dim(x_type, 1 if cfg.layout else 0)
        self.B = k.dim(x_type, 0 if cfg.layout else 1)
        self.gemm = gemm_function(k, self.dtype)
        self.rec = rec_function(k.module, self.dtype)
        self.recx = rec_function(k.module, self.dtype, with_x=True)
        self.pack = pack_function(k.module, self.dtype)
        H, GH, I = cfg.hidden, cfg.gh, cfg.input_size
        b = self.b
        self.cH, self.cGH, self.cI, self.cNR = (opaque(b, const(v)) for v in (H, GH, I, cfg.nrec * H))
        self.TB = imul(b, self.T, self.B)
        self.dv = const(0)
        self.hr_fused = False  # per direction: see run_forward
        # rows can be skipped (sequence_lens, mask): tape and gradient rows of skipped steps are zeroed first
        self.may_skip = cfg.has("sequence_lens") or cfg.has("mask")
        self.dh_fused = dh_fused(cfg, grad)
        self.da_step = grad and da_per_step(cfg, "dX" not in outs)  # da holds one step's rows

    def use_tape(self, d):
        """Point the tape segments of direction d at the tape buffer (when there is one)."""
        if self.tape is None:
            return
        b = self.b
        off = imul(b, imul(b, const(d), self.TB), tape_width(self.cfg))
        for name, cols in tape_segments(self.cfg):
            self.ws[name] = self.gep(self.tape, off)
            off = iadd(b, off, imul(b, self.TB, cols))

    def clear_tape(self):
        """Rows of skipped steps are multiplied by zero gradients: keep them finite."""
        if not self.may_skip:
            return
        rows_h = imul(self.b, self.TB, self.cfg.hidden)
        ws = self.ws
        self.fill(ws["thm"] if "thm" in ws else ws["thp"], rows_h)
        if "trh" in ws:
            self.fill(ws["trh"], rows_h)

    # --- indexing -----------------------------------------------------------------------------
    def gep(self, ptr, off):
        return self.b.gep(ptr, [off], source_etype=self.s.ty, inbounds=True)

    def ld(self, ptr, idx):
        return self.b.load(self.gep(ptr, idx), typ=self.s.ty)

    def st(self, v, ptr, idx):
        self.b.store(v, self.gep(ptr, idx))

    def row_helper(self, tag, d, body, *ints):
        """Emit ``body(*ints)`` (the pointwise work of every batch row at one step: a loop over the
        rows, so constants stay in registers across rows) as a module-level helper and call it. The
        helper takes T, B, the direction and ``ints`` as arguments and every buffer as a pointer, so
        directions with the same activations and time direction share it: LLVM optimizes each
        cell's math once, which bounds compile time."""
        cfg = self.cfg
        bufs = [("in", n, p) for n, p in sorted(self.ins.items())] + \
            [("out", n, p) for n, p in sorted(self.outs.items())] + [("ws", n, p) for n, p in sorted(self.ws.items())]
        key = repr((tag, cfg.cell, cfg.hidden, cfg.input_size, cfg.directions, cfg.layout, cfg.clip,
                    cfg.linear_before_reset, cfg.input_forget, cfg.zero_output_for_mask, cfg.acts[d], cfg.reverse[d],
                    self.grad, self.record, self.hr_fused, self.dh_fused, self.da_step, self.dtype,
                    [(kind, n) for kind, n, _ in bufs]))
        name = f"gc_rnn_{tag}_{hashlib.sha1(key.encode()).hexdigest()[:16]}"
        n_int = 3 + len(ints)
        ftype = ir.FunctionType(ir.VoidType(), [I64] * n_int + [PTR] * len(bufs))

        def build(fn):
            fn.attributes.add("noinline")
            fn.attributes.add("nounwind")
            for a in fn.args[n_int:]:
                a.add_attribute("noalias")
            saved = (self.b, self.s, self.T, self.B, self.ins, self.outs, self.ws, self.dv)
            self.b = ir.IRBuilder(fn.append_basic_block("entry"))
            self.s = ScalarEmitter(self.b, self.dtype)
            self.T, self.B, self.dv = fn.args[:3]
            maps = {"in": {}, "out": {}, "ws": {}}
            for (kind, n, _), a in zip(bufs, fn.args[n_int:]):
                maps[kind][n] = a
            self.ins, self.outs, self.ws = maps["in"], maps["out"], maps["ws"]
            body(*fn.args[3:n_int])
            self.b.ret_void()
            (self.b, self.s, self.T, self.B, self.ins, self.outs, self.ws, self.dv) = saved

        fn = self.k.helper(name, ftype, build)
        self.b.call(fn, [self.T, self.B, self.dv] + list(ints) + [p for _, _, p in bufs])

    def row(self, t, bb):
        """Row of (t, bb) in X (and in every per-step tape)."""
        b = self.b
        return iadd(b, imul(b, bb, self.T), t) if self.cfg.layout else iadd(b, imul(b, t, self.B), bb)

    def y_base(self, t, d, bb):
        b, D, H = self.b, self.cfg.directions, self.cfg.hidden
        if self.cfg.layout:
            return imul(b, iadd(b, imul(b, self.row(t, bb), D), d), H)
        return imul(b, iadd(b, imul(b, iadd(b, imul(b, t, D), d), self.B), bb), H)

    def state_base(self, d, bb):
        b, D, H = self.b, self.cfg.directions, self.cfg.hidden
        if self.cfg.layout:
            return imul(b, iadd(b, imul(b, bb, D), d), H)
        return imul(b, iadd(b, imul(b, d, self.B), bb), H)

    def seq_len(self, bb):
        """Row bb's sequence length, clamped to [0, T] (T without sequence_lens)."""
        b, lens = self.b, self.ins.get("sequence_lens")
        if lens is None:
            return self.T
        ity = self.lens_type
        n = b.load(b.gep(lens, [bb], source_etype=ity, inbounds=True), typ=ity)
        return imin(b, imax(b, b.sext(n, I64) if ity.width == 32 else n, const(0)), self.T)

    def step_info(self, d, step, bb):
        """(active, t, row): whether row bb runs at loop step ``step``, its time index (clamped into
        range when inactive) and its row; also the i1 ``valid`` (inside the sequence length)."""
        b = self.b
        n = self.seq_len(bb)
        valid = b.icmp_signed("<", step, n)
        t = b.sub(b.sub(n, const(1)), step) if self.cfg.reverse[d] else step
        t = b.select(valid, t, const(0))
        row = self.row(t, bb)
        active = valid
        mask = self.ins.get("mask")
        if mask is not None:
            active = b.and_(valid, self.s.cmp("!=", self.ld(mask, row), 0.0))
        return active, valid, t, row

    def call_gemm(self, M, N, K, A, rsa, csa, Bm, rsb, csb, C, ldc, beta=0.0):
        s = self.s
        # noinline at the call site: a dozen calls per kernel must not each get their own copy of the GEMM
        self.b.call(self.gemm, [M, N, K, A, rsa, csa, Bm, rsb, csb, C, ldc, s.c(1.0), s.c(beta)], attrs=("noinline",))

    def call_rec(self, M, N, K, A, lda, P, C, ldc, transposed=False):
        """C += op(A) P with P packed by pack_r (kernels/rnn_step.py); op(A) = A, or with ``transposed``
        A^T (A: K rows of M with row stride lda, read in place)."""
        one = self.s.c(1.0)
        rsa, csa = (const(1), lda) if transposed else (lda, const(1))
        self.b.call(self.rec, [M, N, K, A, rsa, csa, P, const(0), K, C, ldc, one, one, ir.Constant(PTR, None),
                               ir.Constant(PTR, None), const(0), const(0)], attrs=("noinline",))

    def call_recx(self, C, ldc, x_t, ldx, hsrc):
        """C = bias + x_t W_d^T + h R_d^T for the B rows of one step (W_d and R_d packed by the prologue)."""
        b, ws = self.b, self.ws
        with b.goto_entry_block():
            xargs = b.alloca(XARGS, name="xargs")
            xargs.type = PTR
        for i, v in enumerate((x_t, ldx, self.cI, ws["wp"], ws["bias"])):
            b.store(v, b.gep(xargs, [const(0, ir.IntType(32)), const(i, ir.IntType(32))], source_etype=XARGS))
        one = self.s.c(1.0)
        b.call(self.recx, [self.B, self.cGH, self.cH, hsrc, self.cH, const(1), ws["rp"], const(0), self.cH, C, ldc,
                           one, one, xargs, ir.Constant(PTR, None), const(0), const(0)], attrs=("noinline",))

    def pack_r(self, d, transposed, dst):
        """Pack R_d for the time loop: transposed (R^T, K = H, N = GH: h R^T) or as is (K = GH, N = H: da R)."""
        H, GH = self.cfg.hidden, self.cfg.gh
        R_d = self.gep(self.ins["R"], const(d * GH * H))
        args = [const(1), self.cH, self.cH, self.cGH] if transposed else [self.cH, const(1), self.cGH, self.cH]
        self.b.call(self.pack, [R_d] + args + [dst])

    def fill(self, ptr, n, value=0.0):
        with for_range(self.b, n, name="fill") as i:
            self.st(self.s.c(value), ptr, i)

    def clipped(self, x):
        c = self.cfg.clip
        return x if c is None else self.s.clip(x, -c, c)

    def clip_mask(self, x, dv):
        c = self.cfg.clip
        return dv if c is None else self.s.select(self.s.cmp("<=", self.s.abs(x), c), dv, 0.0)

    def f(self, d, i, x):
        return act_value(self.s, self.cfg.acts[d][i], self.clipped(x))

    def df(self, d, i, x, y=None):
        """Derivative of activation i at pre-activation x, through the clip (y: the activation's value)."""
        return self.clip_mask(x, act_deriv(self.s, self.cfg.acts[d][i], self.clipped(x), y))

    # --- forward --------------------------------------------------------------------------------
    def prologue(self, d):
        """R_d packed (RNN/LSTM) or R_d^T (GRU), the combined bias, XW = X W_d^T and the initial states."""
        b, cfg, s, ws = self.b, self.cfg, self.s, self.ws
        H, GH, I = cfg.hidden, cfg.gh, cfg.input_size
        W, R, Bv = self.ins["W"], self.ins["R"], self.ins.get("B")
        if "rp" in ws:
            self.pack_r(d, True, ws["rp"])
        with for_range(b, const(GH), name="tg") as g:
            if "rt" in ws:
                with for_range(b, const(H), name="th") as i:
                    self.st(self.ld(R, iadd(b, imul(b, iadd(b, const(d * GH), g), H), i)), ws["rt"],
                            iadd(b, imul(b, i, GH), g))
            if Bv is None:
                self.st(s.c(0.0), ws["bias"], g)
            else:
                wb = self.ld(Bv, iadd(b, const(2 * d * GH), g))
                rb = self.ld(Bv, iadd(b, const(2 * d * GH + GH), g))
                if cfg.cell == "GRU" and cfg.linear_before_reset:  # R's candidate bias stays inside r * (.)
                    rb = s.select(b.icmp_signed(">=", g, const(2 * H)), 0.0, rb)
                self.st(s.add(wb, rb), ws["bias"], g)
        with for_range(b, const(padded(GH)), start=GH, name="tz") as g:
            self.st(s.c(0.0), ws["bias"], g)
        W_d = self.gep(W, const(d * GH * I))
        upfront = b.not_(self.xstep) if self.hr_fused else ir.Constant(ir.IntType(1), 1)
        if self.hr_fused:  # the time loop multiplies x_t by W_d^T packed (enough rows) ...
            with b.if_then(self.xstep):
                b.call(self.pack, [W_d, const(1), self.cI, self.cI, self.cGH, ws["wp"]])
            with b.if_then(upfront):  # ... or accumulates h R^T into b + X W^T of all steps
                with for_range(b, self.TB, name="xb") as r:
                    with for_range(b, const(GH), name="xg") as g:
                        self.st(self.ld(ws["bias"], g), ws["xw"], iadd(b, imul(b, r, GH), g))
        with b.if_then(upfront):  # W_d^T through strides: the GEMM's packing transposes it in registers
            self.call_gemm(self.TB, self.cGH, self.cI, self.ins["X"], self.cI, const(1), W_d, const(1), self.cI,
                           ws["xw"], self.cGH, beta=1.0 if self.hr_fused else 0.0)
        for name, buf in (("initial_h", "h"), ("initial_c", "c")):
            if buf not in ws:
                continue
            src = self.ins.get(name)
            with for_range(b, self.B, name="ib") as bb:
                base = self.state_base(d, bb)
                with for_range(b, const(H), name="ij") as j:
                    v = s.c(0.0) if src is None else self.ld(src, iadd(b, base, j))
                    self.st(v, ws[buf], iadd(b, imul(b, bb, H), j))

    def h_for_gemm(self, d):
        """The state the recurrent products read: h, or h * recurrent_mask[d]."""
        b, ws, H = self.b, self.ws, self.cfg.hidden
        rm = self.ins.get("recurrent_mask")
        if rm is None:
            return ws["h"]
        with for_range(b, self.B, name="mb") as bb:
            off = imul(b, bb, H)
            moff = imul(b, iadd(b, imul(b, const(d), self.B), bb), H)
            with for_range(b, const(H), name="mj") as j:
                self.st(self.s.mul(self.ld(ws["h"], iadd(b, off, j)), self.ld(rm, iadd(b, moff, j))), ws["hm"],
                        iadd(b, off, j))
        return ws["hm"]

    def run_forward(self, d):
        b, cfg, s, ws = self.b, self.cfg, self.s, self.ws
        H, GH = cfg.hidden, cfg.gh
        self.dv = const(d)
        self.hr_fused = steps_from_x(cfg, d)  # then the step's product writes whole pre-activations
        self.xstep = b.icmp_signed(">=", self.B, const(X_STEP_ROWS))
        if self.record:
            self.use_tape(d)
            self.clear_tape()
        self.prologue(d)
        with for_range(b, self.T, name="step") as step:
            hsrc = self.h_for_gemm(d)
            if self.hr_fused:  # b + x_t W^T + h R^T: into the step's rows of the tape, else into hr
                t = b.sub(b.sub(self.T, const(1)), step) if cfg.reverse[d] else step
                I = cfg.input_size
                x_t = self.gep(self.ins["X"], imul(b, self.row(t, const(0)), I))
                ldx = imul(b, self.T, I) if cfg.layout else self.cI
                if cfg.layout:
                    xw_t, ld = self.gep(ws["xw"], imul(b, t, GH)), imul(b, self.T, GH)
                else:
                    xw_t, ld = self.gep(ws["xw"], imul(b, imul(b, t, self.B), GH)), self.cGH
                with b.if_else(self.xstep) as (xs, up):
                    with xs:  # without a tape into hr (L1-resident), not into all steps' rows
                        self.call_recx(xw_t if self.record else ws["hr"], ld if self.record else self.cGH, x_t, ldx,
                                       hsrc)
                    with up:
                        self.call_rec(self.B, self.cGH, self.cH, hsrc, self.cH, ws["rp"], xw_t, ld)
            elif "rp" in ws:
                self.fill(ws["hr"], imul(b, self.B, GH))
                self.call_rec(self.B, self.cGH, self.cH, hsrc, self.cH, ws["rp"], ws["hr"], self.cGH)
            else:
                self.call_gemm(self.B, self.cNR, self.cH, hsrc, self.cH, const(1), ws["rt"], self.cGH, const(1),
                               ws["hr"], self.cGH)
            if cfg.gru_split:
                self.gru_reset_product(d, step, hsrc)
            xstep = self.xstep
            self.row_helper("fwd", d, lambda step_, xs: self.forward_rows(d, step_, xs), step, b.zext(xstep, I64))
            self.xstep = xstep
        for name, buf in (("Y_h", "h"), ("Y_c", "c")):
            out = self.outs.get(name)
            if out is None:
                continue
            with for_range(b, self.B, name="ob") as bb:
                base = self.state_base(d, bb)
                empty = b.icmp_signed("==", self.seq_len(bb), const(0))  # length 0: final states are 0 (as ORT)
                with for_range(b, const(H), name="oj") as j:
                    v = s.select(empty, 0.0, self.ld(ws[buf], iadd(b, imul(b, bb, H), j)))
                    self.st(v, out, iadd(b, base, j))

    def forward_rows(self, d, step, xstep):
        """One step of every batch row: the cell where the row is active, else the masked output."""
        b, cfg, s, ws, H = self.b, self.cfg, self.s, self.ws, self.cfg.hidden
        self.xstep = b.icmp_signed("!=", xstep, const(0))
        with for_range(b, self.B, name="bb") as bb:
            active, valid, t, row = self.step_info(d, step, bb)
            with b.if_else(active) as (then, otherwise):
                with then:
                    self.cell_row_forward(d, bb, t, row)
                with otherwise:
                    Y = self.outs.get("Y")
                    if Y is not None:
                        masked = b.and_(valid, b.not_(active))
                        with b.if_then(masked):
                            ybase = self.y_base(t, self.dv, bb)
                            with for_range(b, const(H), name="mj") as j:
                                v = s.c(0.0) if cfg.zero_output_for_mask else self.ld(ws["h"], iadd(b, imul(b, bb, H), j))
                                self.st(v, Y, iadd(b, ybase, j))

    def each_row(self, d, step, body):
        """``body(bb, row, active)`` for every batch row at loop step ``step`` (inside a helper)."""
        with for_range(self.b, self.B, name="rb") as bb:
            active, _, t, row = self.step_info(d, step, bb)
            body(bb, row, active)

    def gru_reset_product(self, d, step, hsrc):
        """GRU (linear_before_reset=0): rh = r * h for every row, then hr_h = rh R_h^T."""
        ws, H = self.ws, self.cfg.hidden

        def body(bb, row, on):
            b, s = self.b, self.s
            src = self.ws.get("hm", self.ws["h"])
            with for_range(b, const(H), name="rj") as j:
                r = self.f(d, 0, self.preact(bb, j, row, 1))
                hv = self.ld(src, iadd(b, imul(b, bb, H), j))
                self.st(s.select(on, s.mul(r, hv), 0.0), self.ws["rh"], iadd(b, imul(b, bb, H), j))

        self.row_helper("gru_r", d, lambda step_: self.each_row(d, step_, body), step)
        self.call_gemm(self.B, self.cH, self.cH, ws["rh"], self.cH, const(1), self.gep(ws["rt"], const(2 * H)), self.cGH,
                       const(1), self.gep(ws["hr"], const(2 * H)), self.cGH)

    def preact(self, bb, j, row, g, with_bias=True):
        b, s, ws, H, GH = self.b, self.s, self.ws, self.cfg.hidden, self.cfg.gh
        col = iadd(b, const(g * H), j)
        if self.hr_fused:  # the step's product wrote whole pre-activations (bias included)
            base = self.gep(ws["xw"], imul(b, row, GH))
            if not self.record:  # per-step x products went to hr
                base = b.select(self.xstep, self.gep(ws["hr"], imul(b, bb, GH)), base)
            return self.ld(base, col)
        v = self.ld(ws["xw"], iadd(b, imul(b, row, GH), col))
        if not self.hr_fused:
            v = s.add(v, self.ld(ws["hr"], iadd(b, imul(b, bb, GH), col)))
        return s.add(v, self.ld(ws["bias"], col)) if with_bias else v

    def peephole(self, d, g, j):
        P = self.ins.get("P")
        if P is None:
            return None
        b = self.b
        return self.ld(P, iadd(b, imul(b, self.dv, 3 * self.cfg.hidden), iadd(b, const(g * self.cfg.hidden), j)))

    def cell_row_forward(self, d, bb, t, row):
        with for_range(self.b, const(self.cfg.hidden), name="j") as j:
            self.cell_forward(d, bb, j, t, row, self.ws.get("hm", self.ws["h"]))

    def cell_forward(self, d, bb, j, t, row, hsrc):
        b, cfg, s, ws = self.b, self.cfg, self.s, self.ws
        H, GH = cfg.hidden, cfg.gh
        sidx = iadd(b, imul(b, bb, H), j)
        hp = self.ld(ws["h"], sidx)
        xrow = imul(b, row, GH)
        trow = iadd(b, imul(b, row, H), j)

        def keep(g, v, y):  # the tape: pre-activations v (or activations y) replace XW in place
            if self.post:
                v = y
            if self.record:
                self.st(v, ws["xw"], iadd(b, xrow, iadd(b, const(g * H), j)))

        if self.record:
            self.st(hp, ws["thp"], trow)
            if "thm" in ws:
                self.st(self.ld(hsrc, sidx), ws["thm"], trow)
        if cfg.cell == "RNN":
            a = self.preact(bb, j, row, 0)
            hn = self.f(d, 0, a)
            keep(0, a, hn)
        elif cfg.cell == "GRU":
            az, ar = self.preact(bb, j, row, 0), self.preact(bb, j, row, 1)
            z, r = self.f(d, 0, az), self.f(d, 0, ar)
            keep(0, az, z)
            keep(1, ar, r)
            if cfg.linear_before_reset:
                ah = s.add(self.ld(ws["xw"], iadd(b, xrow, iadd(b, const(2 * H), j))),
                           self.ld(ws["bias"], iadd(b, const(2 * H), j)))
                hrh = self.ld(ws["hr"], iadd(b, imul(b, bb, GH), iadd(b, const(2 * H), j)))
                Bv = self.ins.get("B")
                if Bv is not None:
                    hrh = s.add(hrh, self.ld(Bv, iadd(b, imul(b, self.dv, 2 * GH), iadd(b, const(GH + 2 * H), j))))
                pre = s.add(ah, s.mul(r, hrh))
                if self.record:
                    self.st(hrh, ws["thr"], trow)
            else:
                ah = pre = self.preact(bb, j, row, 2)
                if self.record:
                    self.st(self.ld(ws["rh"], sidx), ws["trh"], trow)
            hh = self.f(d, 1, pre)
            keep(2, ah, hh)
            hn = s.add(s.mul(s.sub(1.0, z), hh), s.mul(z, hp))
        else:  # LSTM, gates i, o, f, c
            cp = self.ld(ws["c"], sidx)
            if self.record:
                self.st(cp, ws["tcp"], trow)
            ai, af, ac = self.preact(bb, j, row, 0), self.preact(bb, j, row, 2), self.preact(bb, j, row, 3)
            pi, po, pf = (self.peephole(d, g, j) for g in range(3))
            if pi is not None:
                ai, af = s.fma(pi, cp, ai), s.fma(pf, cp, af)
            i = self.f(d, 0, ai)
            fg = s.sub(1.0, i) if cfg.input_forget else self.f(d, 0, af)
            ct = self.f(d, 1, ac)
            cn = s.add(s.mul(fg, cp), s.mul(i, ct))
            ao = self.preact(bb, j, row, 1)
            if po is not None:
                ao = s.fma(po, cn, ao)
            o = self.f(d, 0, ao)
            hn = s.mul(o, act_value(s, cfg.acts[d][2], cn))  # h(C) is never clipped (as onnxruntime)
            for g, v, y in ((0, ai, i), (1, ao, o), (2, af, fg), (3, ac, ct)):
                keep(g, v, y)
            self.st(cn, ws["c"], sidx)
        self.st(hn, ws["h"], sidx)
        Y = self.outs.get("Y")
        if Y is not None:
            self.st(hn, Y, iadd(b, self.y_base(t, self.dv, bb), j))

    def emit_forward(self):
        Y = self.outs.get("Y")
        if Y is not None:  # rows past their sequence length output 0
            cfg = self.cfg
            self.fill(Y, imul(self.b, self.TB, cfg.directions * cfg.hidden))
        for d in range(self.cfg.directions):
            self.run_forward(d)
        self.b.ret_void()

    # --- backward -------------------------------------------------------------------------------
    def emit_backward(self):
        b, cfg = self.b, self.cfg
        H, D = cfg.hidden, cfg.directions
        o = self.outs
        if cfg.cell == "LSTM":
            self.fill(o["dP"], const(D * 3 * H))
        for d in range(D):
            self.run_backward(d)
        b.ret_void()

    def run_backward(self, d):
        b, cfg, s, ws, o = self.b, self.cfg, self.s, self.ws, self.outs
        H, GH, I = cfg.hidden, cfg.gh, cfg.input_size
        self.dv = const(d)
        if self.may_skip:  # otherwise every row is written by its step
            rows_gh = imul(b, self.TB, GH)
            self.fill(ws["da"], rows_gh)
            if "drt" in ws:
                self.fill(ws["drt"], rows_gh)
        if self.tape is None:
            self.run_forward(d)  # recompute this direction, recording the tapes
        else:
            self.use_tape(d)
        hm_tape = ws.get("thm", ws["thp"])
        for name, buf in (("dY_h", "dh"), ("dY_c", "dc")):
            if buf not in ws:
                continue
            src = self.ins.get(name)
            with for_range(b, self.B, name="gb") as bb:
                base = self.state_base(d, bb)
                empty = b.icmp_signed("==", self.seq_len(bb), const(0))
                with for_range(b, const(H), name="gj") as j:
                    v = s.c(0.0) if src is None else s.select(empty, 0.0, self.ld(src, iadd(b, base, j)))
                    self.st(v, ws[buf], iadd(b, imul(b, bb, H), j))
        R_d = self.gep(self.ins["R"], const(d * GH * H))
        if self.dh_fused:
            self.pack_r(d, False, ws["rpb"])
            self.fill(ws["gw"], const((I + H + 1) * GH))
        with for_range(b, self.T, name="bstep") as back:
            step = b.sub(b.sub(self.T, const(1)), back)
            self.row_helper("bwd", d, lambda step_: self.backward_rows(d, step_), step)
            if cfg.gru_split:
                self.gru_reset_backward(d, step, R_d)
            if self.dh_fused:  # every row ran its cell (which consumed dh): dh = da[t] R
                t = b.sub(b.sub(self.T, const(1)), step) if cfg.reverse[d] else step
                if self.da_step:
                    da_t, lda = ws["da"], self.cGH
                elif cfg.layout:
                    da_t, lda = self.gep(ws["da"], imul(b, t, GH)), imul(b, self.T, GH)
                else:
                    da_t, lda = self.gep(ws["da"], imul(b, imul(b, t, self.B), GH)), self.cGH
                # (the cell left dh = 0)
                self.call_rec(self.B, self.cH, self.cNR, da_t, lda, ws["rpb"], ws["dh"], self.cH)
                self.weight_grads_step(t, da_t, lda)
            else:
                self.state_gradient_step(d, step, R_d)
        # whole-sequence products
        X, W = self.ins["X"], self.ins["W"]
        if "dX" in o:  # absent: the op's skip_dx (no gradient flows to X)
            self.call_gemm(self.TB, self.cI, self.cGH, ws["da"], self.cGH, const(1), self.gep(W, const(d * GH * I)),
                           self.cI, const(1), o["dX"], self.cI, beta=1.0 if d else 0.0)
        dW_d = self.gep(o["dW"], const(d * GH * I))
        dR_d = self.gep(o["dR"], const(d * GH * H))
        if self.dh_fused:  # gw = [dW^T; dR^T; dB_W = dB_R], accumulated by the time loop
            for dst, n, r0 in ((dW_d, I, 0), (dR_d, H, I)):
                with for_range(b, const(GH), name="wg") as g:
                    with for_range(b, const(n), name="wi") as i:
                        self.st(self.ld(ws["gw"], iadd(b, imul(b, iadd(b, const(r0), i), GH), g)), dst,
                                iadd(b, imul(b, g, n), i))
            with for_range(b, const(GH), name="bg") as g:
                v = self.ld(ws["gw"], iadd(b, const((I + H) * GH), g))
                for off in (2 * d * GH, 2 * d * GH + GH):
                    self.st(v, o["dB"], iadd(b, const(off), g))
        elif "dwt" in ws:
            self.call_gemm(self.cI, self.cGH, self.TB, X, const(1), self.cI, ws["da"], self.cGH, const(1), ws["dwt"],
                           self.cGH)
            with for_range(b, const(GH), name="wg") as g:
                with for_range(b, const(I), name="wi") as i:
                    self.st(self.ld(ws["dwt"], iadd(b, imul(b, i, GH), g)), dW_d, iadd(b, imul(b, g, I), i))
        else:
            self.call_gemm(self.cGH, self.cI, self.TB, ws["da"], const(1), self.cGH, X, self.cI, const(1), dW_d, self.cI)
        drt = ws.get("drt", ws["da"])
        if not self.dh_fused:
            self.call_gemm(self.cNR, self.cH, self.TB, drt, const(1), self.cGH, hm_tape, self.cH, const(1), dR_d,
                           self.cH)
        if cfg.gru_split:
            self.call_gemm(self.cH, self.cH, self.TB, self.gep(drt, const(2 * H)), const(1), self.cGH, ws["trh"],
                           self.cH, const(1), self.gep(dR_d, const(2 * H * H)), self.cH)
        dB = o["dB"]
        if not self.dh_fused:
            with for_range(b, const(2 * GH), name="zb") as g:
                self.st(s.c(0.0), dB, iadd(b, const(2 * d * GH), g))
            with for_range(b, self.TB, name="sb") as r:
                for src, off in ((ws["da"], 2 * d * GH), (drt, 2 * d * GH + GH)):
                    with for_range(b, const(GH), name="sg") as g:
                        idx = iadd(b, const(off), g)
                        self.st(s.add(self.ld(dB, idx), self.ld(src, iadd(b, imul(b, r, GH), g))), dB, idx)
        for name, buf in (("dH0", "dh"), ("dC0", "dc")):
            if buf not in ws:
                continue
            with for_range(b, self.B, name="hb") as bb:
                base = self.state_base(d, bb)
                with for_range(b, const(H), name="hj") as j:
                    self.st(self.ld(ws[buf], iadd(b, imul(b, bb, H), j)), o[name], iadd(b, base, j))

    def weight_grads_step(self, t, da_t, lda):
        """gw += [x_t h_t-1 1]^T da_t (rows of gw: dW^T, dR^T, dB): da_t's B rows packed once into
        column panels (depth B), the step's rows of x_t, h_t-1 and a 1 copied side by side (``xh``),
        then one register-tiled product (one parallel region per step), A read transposed in place.
        Every element sums its steps in time-loop order, its rows in order within a step."""
        b, cfg, ws, s = self.b, self.cfg, self.ws, self.s
        H, I = cfg.hidden, cfg.input_size
        b.call(self.pack, [da_t, lda, const(1), self.B, self.cGH, ws["dap"]])
        n = I + H + 1
        with for_range(b, self.B, name="xhb") as bb:
            row, dst = self.row(t, bb), imul(b, bb, n)
            for src, w, c0 in ((self.ins["X"], I, 0), (ws["thp"], H, I)):
                with for_range(b, const(w), name="xhi") as i:
                    self.st(self.ld(src, iadd(b, imul(b, row, w), i)), ws["xh"], iadd(b, dst, iadd(b, const(c0), i)))
            self.st(s.c(1.0), ws["xh"], iadd(b, dst, const(I + H)))
        self.call_rec(opaque(b, const(n)), self.cGH, self.B, ws["xh"], opaque(b, const(n)), ws["dap"], ws["gw"],
                      self.cGH, transposed=True)

    def state_gradient_step(self, d, step, R_d):
        """dh += (drs R) of each active row (times recurrent_mask; plus GRU's r*h share); drt rows."""
        b, cfg, s, ws, H, GH = self.b, self.cfg, self.s, self.ws, self.cfg.hidden, self.cfg.gh
        rm = self.ins.get("recurrent_mask")
        self.call_gemm(self.B, self.cH, self.cNR, ws["drs"], self.cGH, const(1), R_d, self.cH, const(1),
                       ws["dhm"], self.cH)
        with for_range(b, self.B, name="cb") as bb:
            active, _, t, row = self.step_info(d, step, bb)
            with b.if_then(active):
                moff = imul(b, iadd(b, imul(b, const(d), self.B), bb), H)
                with for_range(b, const(H), name="cj") as j:
                    idx = iadd(b, imul(b, bb, H), j)
                    g = self.ld(ws["dhm"], idx)
                    if cfg.gru_split:
                        g = s.add(g, self.ld(ws["drh"], idx))
                    if rm is not None:
                        g = s.mul(g, self.ld(rm, iadd(b, moff, j)))
                    self.st(s.add(self.ld(ws["dh"], idx), g), ws["dh"], idx)
                if "drt" in ws:
                    with for_range(b, const(GH), name="cg") as j:
                        self.st(self.ld(ws["drs"], iadd(b, imul(b, bb, GH), j)), ws["drt"],
                                iadd(b, imul(b, row, GH), j))

    def backward_rows(self, d, step):
        """The backward cell of every active batch row at loop step ``step``; inactive rows pass no
        gradient to the recurrent product, and a masked step's output was the previous state."""
        b, cfg, s, ws, H, GH = self.b, self.cfg, self.s, self.ws, self.cfg.hidden, self.cfg.gh
        dY = self.ins.get("dY")
        with for_range(b, self.B, name="bb") as bb:
            active, valid, t, row = self.step_info(d, step, bb)
            with b.if_else(active) as (then, otherwise):
                with then:
                    self.cell_row_backward(d, bb, t, row)
                with otherwise:
                    with for_range(b, const(GH), name="zj") as j:
                        self.st(s.c(0.0), ws["drs"], iadd(b, imul(b, bb, GH), j))
                    if dY is not None and not cfg.zero_output_for_mask and self.ins.get("mask") is not None:
                        with b.if_then(b.and_(valid, b.not_(active))):  # Y[t] = h[t-1]
                            ybase = self.y_base(t, self.dv, bb)
                            with for_range(b, const(H), name="mj") as j:
                                idx = iadd(b, imul(b, bb, H), j)
                                self.st(s.add(self.ld(ws["dh"], idx), self.ld(dY, iadd(b, ybase, j))), ws["dh"], idx)

    def gru_reset_backward(self, d, step, R_d):
        """GRU (linear_before_reset=0): d(rh) = dpre_h R_h, then the reset gate's gradient and rh's share of dh."""
        ws, H, GH = self.ws, self.cfg.hidden, self.cfg.gh
        self.call_gemm(self.B, self.cH, self.cH, self.gep(ws["drs"], const(2 * H)), self.cGH, const(1),
                       self.gep(R_d, const(2 * H * H)), self.cH, const(1), ws["drh"], self.cH)

        def body(bb, row, on):
            b, s, ws = self.b, self.s, self.ws
            hm_tape = ws.get("thm", ws["thp"])
            with for_range(b, const(H), name="rj") as j:
                idx = iadd(b, imul(b, bb, H), j)
                r, dr = self.gate(d, 0, self.ld(ws["xw"], iadd(b, imul(b, row, GH), iadd(b, const(H), j))))
                drh = self.ld(ws["drh"], idx)
                hm = self.ld(hm_tape, iadd(b, imul(b, row, H), j))
                dar = s.select(on, s.mul(s.mul(drh, hm), dr), 0.0)
                self.st(dar, ws["drs"], iadd(b, imul(b, bb, GH), iadd(b, const(H), j)))
                with b.if_then(on):
                    self.st(dar, ws["da"], iadd(b, imul(b, row, GH), iadd(b, const(H), j)))
                self.st(s.select(on, s.mul(drh, r), 0.0), ws["drh"], idx)

        self.row_helper("gru_dr", d, lambda step_: self.each_row(d, step_, body), step)

    def gate(self, d, i, v):
        """(activation, derivative) of gate value ``v`` read from the tape under activation i."""
        act = self.cfg.acts[d][i]
        if self.post:
            return v, act_deriv(self.s, act, v, v)
        y = self.f(d, i, v)
        return y, self.df(d, i, v, y)

    def cell_row_backward(self, d, bb, t, row):
        with for_range(self.b, const(self.cfg.hidden), name="j") as j:
            self.cell_backward(d, bb, j, t, row)

    def cell_backward(self, d, bb, j, t, row):
        b, cfg, s, ws = self.b, self.cfg, self.s, self.ws
        H, GH = cfg.hidden, cfg.gh
        sidx = iadd(b, imul(b, bb, H), j)
        xrow = imul(b, row, GH)
        trow = iadd(b, imul(b, row, H), j)
        dh = self.ld(ws["dh"], sidx)
        dY = self.ins.get("dY")
        if dY is not None:
            dh = s.add(dh, self.ld(dY, iadd(b, self.y_base(t, self.dv, bb), j)))

        def a(g):
            return self.ld(ws["xw"], iadd(b, xrow, iadd(b, const(g * H), j)))

        darow = imul(b, bb, GH) if self.da_step else xrow

        def put(g, v, rec=None):
            col = iadd(b, const(g * H), j)
            self.st(v, ws["da"], iadd(b, darow, col))
            if not self.dh_fused:
                self.st(v if rec is None else rec, ws["drs"], iadd(b, imul(b, bb, GH), col))

        if cfg.cell == "RNN":
            put(0, s.mul(dh, self.gate(d, 0, a(0))[1]))
            self.st(s.c(0.0), ws["dh"], sidx)
        elif cfg.cell == "GRU":
            z, dz = self.gate(d, 0, a(0))
            hp = self.ld(ws["thp"], trow)
            if cfg.linear_before_reset:
                r, dr = self.gate(d, 0, a(1))
                hrh = self.ld(ws["thr"], trow)
            if self.post:  # the tape holds the candidate's activation
                hh, dhh = self.gate(d, 1, a(2))
            else:
                pre = s.add(a(2), s.mul(r, hrh)) if cfg.linear_before_reset else a(2)
                hh, dhh = self.gate(d, 1, pre)
            dpre = s.mul(s.mul(dh, s.sub(1.0, z)), dhh)
            daz = s.mul(s.mul(dh, s.sub(hp, hh)), dz)
            put(0, daz)
            self.st(s.mul(dh, z), ws["dh"], sidx)
            if cfg.linear_before_reset:
                put(1, s.mul(s.mul(dpre, hrh), dr))
                put(2, dpre, s.mul(dpre, r))
            else:
                put(2, dpre)  # the reset gate's share follows in gru_reset_backward
        else:  # LSTM
            dc = self.ld(ws["dc"], sidx)
            cp = self.ld(ws["tcp"], trow)
            pi, po, pf = (self.peephole(d, g, j) for g in range(3))
            i, dig = self.gate(d, 0, a(0))
            fg, dfg = (s.sub(1.0, i), None) if cfg.input_forget else self.gate(d, 0, a(2))
            ct, dct = self.gate(d, 1, a(3))
            cn = s.add(s.mul(fg, cp), s.mul(i, ct))
            o, dog = self.gate(d, 0, a(1))
            hc = act_value(s, cfg.acts[d][2], cn)
            dao = s.mul(s.mul(dh, hc), dog)
            dC = s.add(dc, s.mul(s.mul(dh, o), act_deriv(s, cfg.acts[d][2], cn, hc)))
            if po is not None:
                dC = s.fma(dao, po, dC)
            di = s.mul(dC, ct)
            if cfg.input_forget:
                di = s.sub(di, s.mul(dC, cp))
                daf = s.c(0.0)
            else:
                daf = s.mul(s.mul(dC, cp), dfg)
            dai = s.mul(di, dig)
            dac = s.mul(s.mul(dC, i), dct)
            dcp = s.mul(dC, fg)
            if pi is not None:
                dcp = s.fma(dai, pi, s.fma(daf, pf, dcp))
                dP = self.outs["dP"]
                for g, v in ((0, s.mul(dai, cp)), (1, s.mul(dao, cn)), (2, s.mul(daf, cp))):
                    idx = iadd(b, imul(b, self.dv, 3 * H), iadd(b, const(g * H), j))
                    self.st(s.add(self.ld(dP, idx), v), dP, idx)
            for g, v in ((0, dai), (1, dao), (2, daf), (3, dac)):
                put(g, v)
            self.st(s.c(0.0), ws["dh"], sidx)
            self.st(dcp, ws["dc"], sidx)
