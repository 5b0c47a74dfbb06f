"""torch.einsum as one op: NumPy's einsum forward, and for each operand the einsum of the
output's gradient with the other operands back to that operand's subscripts (broadcast over
indices only it has, which the forward summed away)."""

from __future__ import annotations

from ..autograd import Function
from ..backend import get_array_module


def parse(equation: str, count: int) -> tuple[list[str], str]:
    """(input subscripts, output subscripts) of an einsum equation, the output as NumPy and
    PyTorch infer it when there is no '->' (the indices used once, in alphabetical order)."""
    equation = equation.replace(" ", "")
    left, arrow, output = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != count:
        raise ValueError(
            "einsum(): more operands were provided than specified in the equation"
            if count > len(inputs)
            else "einsum(): fewer operands were provided than specified in the equation"
        )
    if not arrow:
        letters = "".join(inputs).replace(".", "")
        output = ("..." if "..." in left else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    return inputs, output


class Einsum(Function):
    """einsum(equation, *operands): any number of operands of one dtype."""

    @staticmethod
    def saved(needs):  # an operand's gradient reads every other operand
        return tuple(range(len(needs))) if sum(needs) else ()

    def forward(self, *arrays, equation):
        self.inputs, self.output = parse(equation, len(arrays))
        self.arrays = arrays
        xp = get_array_module(arrays[0])
        return xp.einsum(f"{','.join(self.inputs)}->{self.output}", *arrays)

    def backward(self, grad):
        xp = get_array_module(grad)
        grads = []
        for k, (subscripts, needed) in enumerate(zip(self.inputs, self.needs_input_grad)):
            if not needed:
                grads.append(None)
                continue
            if "." in subscripts or len(set(subscripts)) != len(subscripts):
                raise NotImplementedError(
                    "the gradient of einsum through '...' or an index repeated in one operand "
                    f"({subscripts!r}) is not supported: write it with explicit indices"
                )
            others = [(s, a) for j, (s, a) in enumerate(zip(self.inputs, self.arrays)) if j != k]
            known = set(self.output).union(*(set(s) for s, _ in others))
            kept = "".join(c for c in subscripts if c in known)
            terms = ",".join([s for s, _ in others] + [self.output])
            part = xp.einsum(f"{terms}->{kept}", *[a for _, a in others], grad)
            shape = self.arrays[k].shape
            if kept != subscripts:  # indices only this operand has: the gradient spreads over them
                sizes = [shape[i] if c in known else 1 for i, c in enumerate(subscripts)]
                part = xp.broadcast_to(part.reshape(sizes), shape).copy()
            grads.append(part)
        return tuple(grads)
