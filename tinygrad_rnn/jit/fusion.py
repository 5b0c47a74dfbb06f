"""Fusion: a statement made only of elementwise calls becomes one expression per output.

The rules write an op as a few NumPy calls into one destination (tanh(a + b) is an add, then a
tanh in place). On the CPU that is already one pass per call over cached memory; on a GPU each
call is a launch, so the CUDA lowering fuses each such statement into one generated kernel.
`fuse` reads the statement's lines back into expression trees; `c_source` prints them for a
CuPy ElementwiseKernel and `evaluate` computes them with NumPy (what the tests compare with
running the lines).
"""

from __future__ import annotations

import re

import numpy as np

# name: (arity, C template)
FUNCTIONS = {
    "add": (2, "({0} + {1})"),
    "subtract": (2, "({0} - {1})"),
    "multiply": (2, "({0} * {1})"),
    "divide": (2, "({0} / {1})"),
    "maximum": (2, "max({0}, {1})"),
    "less_equal": (2, "({0} <= {1})"),
    "negative": (1, "(-{0})"),
    "invert": (1, "(!{0})"),
    "tanh": (1, "tanh({0})"),
    "exp": (1, "exp({0})"),
}
_CALL = re.compile(r"^(\w+)\(([^()]*)\)$")
_NAME = re.compile(r"^[A-Za-z_]\w*$")
_NUMBER = re.compile(r"^-?\d+(\.\d*)?(e-?\d+)?$")


class Fused:
    """A statement as expressions: `outputs` maps each array it leaves for later statements to
    its expression tree, whose leaves are input names (`inputs`) or numbers."""

    def __init__(self, inputs: list[str], outputs: dict):
        self.inputs, self.outputs = inputs, outputs

    def c_source(self) -> tuple[str, str, str]:
        """(input parameters, output parameters, body) for cupy.ElementwiseKernel, with T the
        arrays' one float type; the inputs are read once, before any output is written."""
        inputs = [name for name in self.inputs if name not in self.outputs]
        body = [f"const T in_{name} = {name};" for name in self.inputs]
        body += [f"{name} = {_c(tree)};" for name, tree in self.outputs.items()]
        return (
            ", ".join(f"T {name}" for name in inputs),
            ", ".join(f"T {name}" for name in self.outputs),
            "\n".join(body),
        )

    def evaluate(self, arrays: dict) -> dict:
        """The outputs computed with NumPy from the input arrays (by name)."""
        return {name: _evaluate(tree, arrays) for name, tree in self.outputs.items()}


def fuse(lines: list[str], keep: set[str]) -> Fused | None:
    """The lines as expressions, or None unless every line is an elementwise call `f(x, y,
    out=z)` of FUNCTIONS. `keep`: the destinations later statements read (the others are
    scratch, folded into the expressions)."""
    trees: dict = {}
    inputs: list[str] = []
    for line in lines:
        match = _CALL.match(line.strip())
        if match is None or match.group(1) not in FUNCTIONS:
            return None
        arity = FUNCTIONS[match.group(1)][0]
        arguments = [a.strip() for a in match.group(2).split(",")]
        if len(arguments) != arity + 1 or not arguments[-1].startswith("out="):
            return None
        operands = []
        for argument in arguments[:-1]:
            if _NUMBER.match(argument):
                operands.append(("number", argument))
            elif _NAME.match(argument):
                if argument not in trees and argument not in inputs:
                    inputs.append(argument)
                operands.append(trees.get(argument, ("input", argument)))
            else:
                return None
        destination = arguments[-1][4:].strip()
        if not _NAME.match(destination):
            return None
        trees[destination] = (match.group(1), *operands)
    outputs = {name: tree for name, tree in trees.items() if name in keep}
    return Fused(inputs, outputs) if outputs else None


def _c(tree) -> str:
    kind = tree[0]
    if kind == "number":
        return tree[1]
    if kind == "input":
        return f"in_{tree[1]}"
    return FUNCTIONS[kind][1].format(*(_c(operand) for operand in tree[1:]))


def _evaluate(tree, arrays: dict):
    kind = tree[0]
    if kind == "number":
        return float(tree[1]) if "." in tree[1] or "e" in tree[1] else int(tree[1])
    if kind == "input":
        return arrays[tree[1]]
    operands = [_evaluate(operand, arrays) for operand in tree[1:]]
    if kind == "invert":
        return np.logical_not(operands[0])
    return getattr(np, kind)(*operands)
