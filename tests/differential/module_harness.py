"""Run one nn module on PyTorch and on tinygrad_rnn from the same weights.

`module_case(make, inputs)` builds a case for diff_harness.check: the module made by
`make(lib)`, cast to the inputs' float dtype, its floating state (parameters and buffers)
set to the same values in both libraries, then called once per mode in `modes` ("train" or
"eval"), each time sending a fixed cotangent back. The case returns every output, the
gradients of the inputs and parameters after each call, the buffers after each call and
the state_dict's keys, shapes and dtypes (float64 when no input is floating).
"""

from __future__ import annotations

import numpy as np
from diff_harness import backward_through, dtype_name, leaves


def state_values(shape, index: int, dtype) -> np.ndarray:
    """Deterministic, positive, varied values (a running variance must stay positive)."""
    count = int(np.prod(shape))
    values = 0.75 + 0.5 * np.sin(np.arange(count) * 1.3 + index)
    return values.reshape(shape).astype(dtype)


def set_state(lib, module, dtype) -> None:
    """Give every floating entry of module's state_dict the same values in both libraries."""
    state = {}
    for index, (key, value) in enumerate(module.state_dict().items()):
        if dtype_name(value.dtype).startswith("float"):
            state[key] = lib.tensor(state_values(tuple(value.shape), index, dtype))
        else:
            state[key] = value
    module.load_state_dict(state)


def module_case(make, inputs, modes=("train",), set_weights=True, call=None):
    """A case: `make(lib)` run on `inputs` (arrays; floating ones require grad) per mode, as
    `call(lib, module, *inputs)` if given (inputs the call makes itself, such as indices)."""
    floats = [a.dtype for a in inputs if a.dtype.kind == "f"]
    dtype = floats[0] if floats else np.dtype(np.float64)

    def case(lib):
        module = make(lib)
        module.to(getattr(lib, dtype_name(dtype)))
        if set_weights:
            set_state(lib, module, dtype)
        results = []
        for mode in modes:
            module.train(mode == "train")
            xs = leaves(lib, inputs)
            out = call(lib, module, *xs) if call is not None else module(*xs)
            backward_through(lib, out)
            results.append(
                {
                    "mode": mode,
                    "out": out,
                    "input grads": [x.grad for x in xs],
                    "parameter grads": {n: p.grad for n, p in module.named_parameters()},
                    "buffers": dict(module.named_buffers()),
                }
            )
            module.zero_grad()
        state = [[k, list(v.shape), dtype_name(v.dtype)] for k, v in module.state_dict().items()]
        return {"steps": results, "state_dict": state}

    return case
