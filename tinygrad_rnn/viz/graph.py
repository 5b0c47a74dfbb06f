"""The unrolled graph of a recurrent model over a short sequence, as the reference text's
Figure 14-5: inputs X(t), states h(t), outputs Y(t) and the cost C, the forward edges, and
the backward edges that carry gradient. Outputs the cost ignores, and the states after the
cost's window, receive exactly zero gradient and are drawn grey and dashed."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np

FORWARD, BACKWARD, IGNORED = "black", "#d62728", "#9a9a9a"


def _carries(steps: int, window, state_grads, output_grads):
    """Which outputs and states receive gradient: measured norms where given, else the
    window's rule (outputs inside it; states up to its last step)."""
    t_min, t_max = window
    outputs = (
        np.asarray(output_grads) > 0
        if output_grads is not None
        else np.array([t_min <= t <= t_max for t in range(steps)])
    )
    states = (
        np.asarray(state_grads) > 0
        if state_grads is not None
        else np.array([t <= t_max for t in range(steps)])
    )
    return outputs, states


def _width(norm, largest) -> str:
    """Pen width 1..5 growing with the log of the norm, so vanishing gradients look thin."""
    if norm is None or largest is None or largest <= 0 or norm <= 0:
        return "1.6"
    return f"{1 + 4 * max(0.0, 1 + np.log10(norm / largest) / 4):.2f}"


def unrolled_graph(
    steps: int,
    window: tuple[int, int] | None = None,
    state_grads=None,
    output_grads=None,
    detached_start: bool = False,
    title: str | None = None,
):
    """A graphviz.Digraph of `steps` unrolled steps with the cost on outputs
    window = (t_min, t_max) (default: all). state_grads and output_grads (T,) are measured
    |dC/dh_t| and |dC/dY_t|: they decide which edges carry gradient and how thick they are.
    detached_start draws h(-1) as a state carried from the previous chunk and cut (truncated
    BPTT): its forward edge stays, no gradient goes back through it."""
    import graphviz

    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    window = (0, steps - 1) if window is None else window
    if not 0 <= window[0] <= window[1] < steps:
        raise ValueError(f"window {window} does not fit {steps} steps (0..{steps - 1})")
    output_carries, state_carries = _carries(steps, window, state_grads, output_grads)
    largest_output = None if output_grads is None else float(np.max(output_grads))
    largest_state = None if state_grads is None else float(np.max(state_grads))

    def norm(values, t):
        return None if values is None else float(values[t])

    graph = graphviz.Digraph("bptt", graph_attr={"rankdir": "BT", "nodesep": "0.35"})
    graph.attr("node", shape="circle", fontname="Helvetica", fontsize="11", width="0.6")
    graph.attr("edge", arrowsize="0.6")
    graph.attr(
        label=title
        or f"BPTT over {steps} steps, cost on Y({window[0]})..Y({window[1]})\nblack: forward; "
        "red: backward (thicker = larger gradient); grey dashed: no gradient",
        labelloc="t",
        fontname="Helvetica",
    )
    rows = {name: graphviz.Digraph(name=f"row_{name}") for name in ("x", "h", "y")}
    for row in rows.values():
        row.attr(rank="same")
    if detached_start:
        rows["h"].node(
            "h_prev", "h(-1)\ncarried,\ndetached", shape="box", style="dashed", color=IGNORED
        )
    for t in range(steps):
        rows["x"].node(f"x{t}", f"X({t})", shape="box")
        state_style = {} if state_carries[t] else {"style": "dashed", "color": IGNORED}
        rows["h"].node(f"h{t}", f"h({t})", **state_style)
        if output_carries[t]:
            rows["y"].node(f"y{t}", f"Y({t})", style="filled", fillcolor="#fde0dd")
        else:
            rows["y"].node(
                f"y{t}", f"Y({t})\nignored", style="dashed", color=IGNORED, fontcolor=IGNORED
            )
    for row in rows.values():
        graph.subgraph(row)
    graph.node("cost", "C", shape="doublecircle", style="filled", fillcolor="#fde0dd")

    for t in range(steps):
        graph.edge(f"x{t}", f"h{t}", color=FORWARD)
        graph.edge(f"h{t}", f"y{t}", color=FORWARD)
        previous = f"h{t - 1}" if t else ("h_prev" if detached_start else None)
        if previous:
            graph.edge(previous, f"h{t}", color=FORWARD)
        if window[0] <= t <= window[1]:
            graph.edge(f"y{t}", "cost", color=FORWARD)
    # backward edges: drawn against the forward ones, kept out of the layout
    back = {"color": BACKWARD, "constraint": "false", "style": "bold"}
    for t in range(steps):
        if output_carries[t] and window[0] <= t <= window[1]:
            width = _width(norm(output_grads, t), largest_output)
            graph.edge("cost", f"y{t}", penwidth=width, **back)
            graph.edge(f"y{t}", f"h{t}", penwidth=width, **back)
        if t and state_carries[t]:
            width = _width(norm(state_grads, t), largest_state)
            graph.edge(f"h{t}", f"h{t - 1}", penwidth=width, **back)
    return graph


_warned = False


def render(graph, stem: str | os.PathLike, formats=("svg", "png")) -> list[Path]:
    """Write stem.gv (the DOT source) and, when Graphviz's `dot` is installed, stem.svg and
    stem.png; returns the paths written. Without `dot`, says so in one line on stderr."""
    global _warned
    from ..checkpoint import atomic_write

    stem = Path(stem)
    source = stem.with_suffix(".gv")
    atomic_write(source, lambda temporary: temporary.write_text(graph.source))
    written = [source]
    if shutil.which("dot") is None:
        if not _warned:
            print(
                f"note: Graphviz's dot program is not installed (Debian: apt-get install "
                f"graphviz), so only the DOT source {source} was written",
                file=sys.stderr,
            )
            _warned = True
        return written
    for kind in formats:
        image = graph.pipe(format=kind)
        path = stem.with_suffix(f".{kind}")
        atomic_write(path, lambda temporary, data=image: temporary.write_bytes(data))
        written.append(path)
    return written
