"""Sequence helpers of ``keras.utils``: ``pad_sequences`` and ``timeseries_dataset_from_array`` (numpy)."""
from __future__ import annotations

import numpy as np

from .py_dataset import PyDataset


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or truncate) a list of sequences to one length, as Keras does: ``padding``/``truncating``
    ``"pre"`` works at the start, ``"post"`` at the end; the result has shape
    ``(len(sequences), maxlen) + sample_shape``."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    seqs = [np.asarray(s) for s in sequences]
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    sample_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and dtype != object and not is_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(seqs), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {tuple(sample_shape)}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        elif len(trunc):
            out[i, -len(trunc):] = trunc
    return out


class TimeseriesDataset(PyDataset):
    """Batches of sliding windows over an array (what ``timeseries_dataset_from_array`` returns)."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        super().__init__()
        self.data, self.targets, self.starts = data, targets, starts
        self.sequence_length, self.sampling_rate, self.batch_size = sequence_length, sampling_rate, batch_size
        self._offsets = np.arange(sequence_length) * sampling_rate

    def __len__(self):
        return -(-len(self.starts) // self.batch_size) if self.batch_size else len(self.starts)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        step = self.batch_size or len(self.starts)
        starts = self.starts[index * step:(index + 1) * step]
        x = self.data[starts[:, None] + self._offsets]
        if self.targets is None:
            return x
        return x, self.targets[starts]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows of ``sequence_length`` steps (every ``sampling_rate``-th step) starting every
    ``sequence_stride`` steps, in batches of ``batch_size``; window ``i`` starting at ``s`` is paired
    with ``targets[s]``. Returns a :class:`~graphc.keras.utils.PyDataset` that ``fit``/``evaluate``/
    ``predict`` accept (Keras returns a ``tf.data.Dataset``)."""
    data = np.asarray(data)
    for name, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                    ("sampling_rate", sampling_rate)):
        if int(v) <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={v}")
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"`batch_size` must be higher than 0. Received: batch_size={batch_size}")
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    if not 0 <= start_index < len(data) or not start_index < end_index <= len(data):
        raise ValueError(f"`start_index`/`end_index` must select a non-empty range of the {len(data)} rows; "
                         f"received start_index={start_index}, end_index={end_index}")
    if targets is not None:
        targets = np.asarray(targets)
        if len(targets) != len(data):
            raise ValueError(f"Expected data and targets to have the same number of time steps (axis=0), but got "
                             f"data.shape={data.shape}, targets.shape={targets.shape}")
    span = (int(sequence_length) - 1) * int(sampling_rate)
    starts = np.arange(start_index, end_index - span, int(sequence_stride), dtype=np.int64)
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    return TimeseriesDataset(data, targets, starts, int(sequence_length), int(sampling_rate),
                             None if batch_size is None else int(batch_size))
