"""Per-step gradient norms of a recurrent model's states and outputs, read after backward."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class GradientTrace:
    """Watch one forward/backward pass: |dC/dh_t| of a recurrent layer and |dC/dY_t| of the
    outputs, each an L2 norm over the batch and features of step t.

    Usage::

        trace = GradientTrace(model.rnn)         # before the forward pass
        outputs = trace.watch_outputs(model(x))  # (B, T, O), batch first
        cost(outputs).backward()
        state_norms, output_norms = trace.norms()  # (T,) each
    """

    def __init__(self, rnn):
        self.rnn, self.outputs = rnn, None
        rnn.track_hidden_grads = True

    def watch_outputs(self, outputs: Tensor) -> Tensor:
        """Keep the gradient of `outputs` (B, T, ...) for `norms`; returns it unchanged."""
        outputs.retain_grad()
        self.outputs = outputs
        return outputs

    def norms(self) -> tuple[np.ndarray, np.ndarray]:
        """(|dC/dh_t| of the top layer, |dC/dY_t|), each (T,); stops watching the layer."""
        states = self.rnn.hidden_grad_norms()[-1]
        self.rnn.track_hidden_grads = False
        self.rnn.hidden_states = []
        if self.outputs is None or self.outputs.grad is None:
            outputs = np.zeros_like(states)
        else:
            grad = self.outputs.grad.detach().cpu().numpy()
            outputs = np.sqrt((grad.reshape(grad.shape[0], grad.shape[1], -1) ** 2).sum((0, 2)))
        return states, outputs
