"""BPTT made visible: the unrolled graph of a recurrent model with the edges that carry
gradient (the reference text's Figure 14-5), and heatmaps of |dC/dh_t| and |dC/dY_t| over
time steps and training iterations.

Needs the `graphviz` Python binding and matplotlib (`pip install tinygrad_rnn[models]`);
rendering the graph to SVG/PNG also needs Graphviz's `dot` program (Debian: `graphviz`).
"""

from .graph import render, unrolled_graph
from .heatmap import gradient_heatmap
from .trace import GradientTrace

__all__ = ["GradientTrace", "gradient_heatmap", "render", "unrolled_graph"]
