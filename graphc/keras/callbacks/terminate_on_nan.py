"""``keras.callbacks.TerminateOnNaN``: stop when the loss becomes NaN or infinite."""
from __future__ import annotations

import numpy as np

from ..utils.progbar import print_msg
from .callback import Callback


class TerminateOnNaN(Callback):
    """Checks the loss after every training batch; on NaN/Inf sets ``model.stop_training = True``
    (the loop then ends normally, ``on_train_end`` included), or with ``raise_error=True``
    raises RuntimeError at once."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
