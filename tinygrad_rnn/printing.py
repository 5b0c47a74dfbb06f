"""How tensors print, by PyTorch's rules: `tensor([1.5000, 2.2500])`, `tensor(3.5000)`,
`tensor([1., 2.])`, `1.0000e-05` where magnitudes call for it, rows wrapped at 80 columns,
large tensors summarised with `...`, and `set_printoptions` to change it (PyTorch's precision,
threshold, edgeitems, linewidth, profile and sci_mode).

One difference: dtypes print by their short name (`dtype=float64`, PyTorch `torch.float64`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


OPTIONS = PrintOptions()

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """PyTorch's print options: a profile ("default", "short", "full") first, then each option
    given; sci_mode True or False forces scientific notation on or off, None decides."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"Invalid profile: {profile}")
        for name, value in _PROFILES[profile].items():
            setattr(OPTIONS, name, value)
    for name, value in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode


class _Formatter:
    """One width and one notation for every element, chosen from the values shown."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for value in flat.tolist():
                self.width = max(self.width, len(str(value)))
            return
        with np.errstate(invalid="ignore"):
            shown = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if not shown.size:
            return  # nothing but zeros, infinities and NaNs
        magnitudes = np.abs(shown)
        low, high = magnitudes.min(), magnitudes.max()
        self.int_mode = bool((shown == np.ceil(shown)).all())
        self.sci_mode = (
            bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
            if OPTIONS.sci_mode is None
            else OPTIONS.sci_mode
        )
        precision = OPTIONS.precision
        if self.sci_mode:
            texts = [f"{v:.{precision}e}" for v in shown.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in shown.tolist()]
        else:
            texts = [f"{v:.{precision}f}" for v in shown.tolist()]
        self.width = max(len(text) for text in texts)

    def format(self, value) -> str:
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.width}.{OPTIONS.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
            else:
                text = f"{value:.{OPTIONS.precision}f}"
        else:
            text = str(value)
        return (self.width - len(text)) * " " + text


def _edges(values: np.ndarray) -> np.ndarray:
    """The elements a summary shows: `edgeitems` from each end of every dimension."""
    edge = OPTIONS.edgeitems
    if values.ndim == 0 or values.shape[0] <= 2 * edge:
        parts = list(values) if values.ndim else [values]
    else:
        parts = [*values[:edge], *values[-edge:]]
    if values.ndim <= 1:
        return np.asarray(values if values.ndim == 0 else parts)
    return np.concatenate([_edges(part).reshape(-1) for part in parts])


def _vector(values: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    per_line = max(1, int((OPTIONS.linewidth - indent) // (formatter.width + 2)))
    edge = OPTIONS.edgeitems
    items = values.tolist()
    if summarize and len(items) > 2 * edge:
        texts = [formatter.format(v) for v in items[:edge]]
        texts += [" ..."] + [formatter.format(v) for v in items[-edge:]]
    else:
        texts = [formatter.format(v) for v in items]
    lines = [", ".join(texts[i : i + per_line]) for i in range(0, len(texts), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, formatter)
    edge = OPTIONS.edgeitems
    rows = range(values.shape[0])
    if summarize and values.shape[0] > 2 * edge:
        rows = [*range(edge), None, *range(values.shape[0] - edge, values.shape[0])]
    parts = [
        "..." if i is None else _nested(values[i], indent + 1, summarize, formatter) for i in rows
    ]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def array_text(values: np.ndarray, indent: int) -> str:
    """A host array's values as PyTorch prints them after `indent` columns."""
    if values.size == 0:
        return "[]"
    summarize = values.size > OPTIONS.threshold
    formatter = _Formatter(_edges(values) if summarize else values)
    return _nested(values, indent, summarize, formatter)


def with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """`text, suffix, ...)`: each suffix on the last line while it fits the line width. A
    dtype suffix counts as long as PyTorch's (`dtype=torch.float64`), so lines break where
    PyTorch's do."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        width = len(suffix) + (len("torch.") if suffix.startswith("dtype=") else 0)
        if last + width + 2 > OPTIONS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + width
        else:
            parts.append(", " + suffix)
            last += width + 2
    return "".join(parts) + ")"
