"""Static description of a recurrent op (RnnConfig) and what follows from it alone: the tape's
segments, the workspaces, and which time-loop strategy each direction takes (kernels/rnn.py)."""
from __future__ import annotations

from dataclasses import dataclass

from .rnn_step import packed_size, padded


@dataclass(frozen=True)
class RnnConfig:
    """Static description of one recurrent op: everything the kernels and the reference need."""

    cell: str            # "RNN" | "GRU" | "LSTM"
    gates: int           # 1 | 3 | 4
    hidden: int
    input_size: int
    directions: int
    reverse: tuple       # per direction: runs from the last step to the first
    layout: int
    acts: tuple          # per direction: tuple of (name, alpha, beta)
    clip: float | None
    linear_before_reset: bool
    input_forget: bool
    zero_output_for_mask: bool
    present: frozenset   # names of the given inputs (X W R B sequence_lens initial_h initial_c P mask recurrent_mask)

    @property
    def gh(self):
        return self.gates * self.hidden

    @property
    def gru_split(self):
        """GRU with linear_before_reset=0: the candidate's recurrent product (r*h) R_h^T is a second GEMM."""
        return self.cell == "GRU" and not self.linear_before_reset

    @property
    def nrec(self):
        """Gate blocks of the first recurrent GEMM per step."""
        return 2 if self.gru_split else self.gates

    def has(self, name):
        return name in self.present


def tape_segments(cfg: RnnConfig):
    """Ordered (name, columns) of the tape of one direction: each segment holds T*B rows (row of
    step t and batch row b as in X), one after the other. ``xw``: the gate pre-activations, or
    their activations when ``keeps_activations(cfg)``; ``thp``:
    the state h_{t-1}; ``thm``: h_{t-1} * recurrent_mask; ``tcp``: LSTM's c_{t-1}; GRU's ``trh``
    (r * h_{t-1}, linear_before_reset=0) or ``thr`` (h_{t-1} R_h^T + Rb_h, linear_before_reset=1)."""
    H = cfg.hidden
    seg = [("xw", cfg.gh), ("thp", H)]
    if cfg.has("recurrent_mask"):
        seg.append(("thm", H))
    if cfg.cell == "LSTM":
        seg.append(("tcp", H))
    if cfg.cell == "GRU":
        seg.append(("trh", H) if cfg.gru_split else ("thr", H))
    return seg


def keeps_activations(cfg: RnnConfig):
    """Whether the tape holds the gates' activations instead of their pre-activations: when every
    activation is sigmoid or tanh (derivatives from their values) and there is no clip (whose
    mask needs the pre-activation). The backward pass then evaluates no gate activation again."""
    return cfg.clip is None and all(a[0] in ("sigmoid", "tanh") for acts in cfg.acts for a in acts)


def tape_width(cfg: RnnConfig):
    return sum(n for _, n in tape_segments(cfg))


def separate_drt(cfg: RnnConfig):
    """Whether the gradients of the recurrent products (``drt``) differ from those of the gate
    pre-activations (``da``): only GRU with linear_before_reset=1, whose candidate's recurrent part
    is multiplied by r. Otherwise BPTT reads ``da`` for both."""
    return cfg.cell == "GRU" and cfg.linear_before_reset


def packs_r(cfg: RnnConfig):
    """Whether the time loop multiplies by R packed once per call (kernels/rnn_step.py): RNN and
    LSTM. GRU's split recurrent products read row blocks of R^T with the shared GEMM."""
    return cfg.cell != "GRU"


# batches of at least this many rows multiply x_t W^T inside the time loop; fewer rows (batch-1
# latency) read W's panels once per row and step from L2 there: X W^T of all steps first is faster
X_STEP_ROWS = 4


def steps_from_x(cfg: RnnConfig, d):
    """Whether direction d's time loop computes each step's pre-activations whole, ``b + x_t W^T +
    h R^T`` in one packed product (RNN/LSTM), instead of reading ``X W^T`` of all steps from one
    GEMM before the loop: every row of a step must share its time index (not so for a reverse
    direction with sequence_lens)."""
    return packs_r(cfg) and not (cfg.reverse[d] and cfg.has("sequence_lens"))


def dh_fused(cfg: RnnConfig, grad=True):
    """RNN/LSTM BPTT with every row active each step: the state gradient is one product from da's
    rows of the step straight into dh (no drs copy, no add loop), and the step's rows of da, packed
    once, also update the accumulators of dW^T and dR^T (``gw``) while they are in cache, instead
    of two GEMMs over all T*B rows at the end that packed da twice over that depth."""
    return grad and cfg.cell != "GRU" and not cfg.has("sequence_lens") and not cfg.has("mask") \
        and not cfg.has("recurrent_mask")


def da_per_step(cfg: RnnConfig, skip_dx):
    """Whether BPTT keeps the gate gradients of one step only (``da`` is B x GH): with ``dh_fused``
    every product that reads them (dh, dW, dR, dB) runs inside the time loop, and with ``skip_dx``
    no dX GEMM reads all steps' rows at the end."""
    return dh_fused(cfg) and bool(skip_dx)


def workspace_shapes(cfg: RnnConfig, T, B, grad=False, tape=False, skip_dx=False):
    """Ordered (name, shape) of the kernel's scratch buffers (T and B may be symbols). With ``tape``
    the tape is an output (forward) or input (backward) instead, and the backward kernel, which
    then does not re-run the forward loop, needs none of the forward's buffers. ``skip_dx``: the
    backward kernel writes no dX (see :func:`da_per_step`)."""
    H, GH = cfg.hidden, cfg.gh
    ws = []
    if not (grad and tape):
        ws += [("rp", (packed_size(H, GH),)) if packs_r(cfg) else ("rt", (H * GH,)), ("hr", (B, GH)), ("h", (B, H)),
               ("bias", (padded(GH),))]
        if packs_r(cfg):
            ws.append(("wp", (packed_size(cfg.input_size, GH),)))
        if cfg.cell == "LSTM":
            ws.append(("c", (B, H)))
        if cfg.has("recurrent_mask"):
            ws.append(("hm", (B, H)))
        if cfg.gru_split:
            ws.append(("rh", (B, H)))
        if not tape:
            ws.append(("xw", (T, B, GH)))
    if grad:
        if not tape:
            ws += [(n, (T, B, w)) for n, w in tape_segments(cfg) if n != "xw"]
        ws += [("da", (B, GH) if da_per_step(cfg, skip_dx) else (T, B, GH)), ("dh", (B, H)), ("drs", (B, GH)),
               ("dhm", (B, H))]
        if dh_fused(cfg):  # da R per step; [x_t h_t-1 1]^T da_t accumulated per step from da_t's panels
            ws += [("rpb", (packed_size(GH, H),)), ("dap", (B, padded(GH))), ("gw", ((cfg.input_size + H + 1) * GH,)),
                   ("xh", (B, cfg.input_size + H + 1))]
        if separate_drt(cfg):
            ws.append(("drt", (T, B, GH)))
        if cfg.input_size < GH and not dh_fused(cfg):  # dW^T = X^T da: the GEMM's wide side is then GH
            ws.append(("dwt", (cfg.input_size * GH,)))
        if cfg.cell == "LSTM":
            ws.append(("dc", (B, H)))
        if cfg.gru_split:
            ws.append(("drh", (B, H)))
    return ws
