"""BPTT made visible: the unrolled graph (which edges carry gradient), its rendering with
and without Graphviz's dot, the heatmap, and the gradient trace of any recurrent layer."""

import re
import shutil

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, viz
from tinygrad_rnn.viz import graph as graph_module


def backward_edges(source: str) -> set[tuple[str, str]]:
    pattern = r"(\w+) -> (\w+) \[[^\]]*color=\"#d62728\""
    return set(re.findall(pattern, source))


def test_figure_14_5_edges_follow_the_window():
    source = viz.unrolled_graph(5, (2, 4)).source
    assert backward_edges(source) == {
        *{("cost", f"y{t}") for t in (2, 3, 4)},
        *{(f"y{t}", f"h{t}") for t in (2, 3, 4)},
        *{(f"h{t}", f"h{t - 1}") for t in (1, 2, 3, 4)},
    }
    ignored = re.findall(r"(y\d) \[label=\"Y\(\d\)\signored\"", source)
    assert ignored == ["y0", "y1"]


def test_measured_norms_decide_which_states_carry_gradient():
    states = np.array([0.5, 0.4, 0.0, 0.0])  # e.g. a cut after step 1
    source = viz.unrolled_graph(4, state_grads=states, output_grads=np.ones(4)).source
    assert ("h1", "h0") in backward_edges(source) and ("h3", "h2") not in backward_edges(source)
    assert 'h2 [label="h(2)" color="#9a9a9a" style=dashed]' in source


def test_truncated_start_is_drawn_without_a_backward_edge():
    source = viz.unrolled_graph(3, detached_start=True).source
    assert "h_prev -> h0" in source
    assert all(target != "h_prev" for _, target in backward_edges(source))


@pytest.mark.parametrize(("steps", "window"), [(0, None), (3, (1, 3)), (3, (2, 1))])
def test_bad_shapes_are_refused(steps, window):
    with pytest.raises(ValueError):
        viz.unrolled_graph(steps, window)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_writes_source_svg_and_png(tmp_path):
    written = viz.render(viz.unrolled_graph(5, (2, 4)), tmp_path / "figure")
    assert [p.suffix for p in written] == [".gv", ".svg", ".png"]
    assert (tmp_path / "figure.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "figure.svg").read_text()


def test_render_without_dot_writes_the_source_and_says_so_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(graph_module, "_warned", False)
    for _ in range(2):
        written = viz.render(viz.unrolled_graph(3), tmp_path / "figure")
        assert written == [tmp_path / "figure.gv"]
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "apt-get install graphviz" in error


def test_gradient_trace_of_an_lstm_and_the_heatmap(tmp_path):
    lstm, dense = nn.LSTM(2, 3, batch_first=True, generator=0), nn.Linear(3, 1, generator=1)
    x = tg.randn(4, 6, 2, generator=2)
    rows = []
    for _ in range(3):
        trace = viz.GradientTrace(lstm)
        outputs = trace.watch_outputs(dense(lstm(x)[0]))  # (B, T, 1)
        (outputs[:, 1:4] ** 2).mean().backward()
        rows.append(trace.norms())
    states, outputs = rows[-1]
    assert states.shape == outputs.shape == (6,)
    assert np.all(outputs[[0, 4, 5]] == 0) and np.all(outputs[1:4] > 0)
    assert np.all(states[4:] == 0) and np.all(states[:4] > 0)
    assert not lstm.track_hidden_grads
    viz.gradient_heatmap(
        [0, 1, 2],
        np.stack([r[0] for r in rows]),
        np.stack([r[1] for r in rows]),
        tmp_path / "heatmap.png",
        window=(1, 3),
    )
    assert (tmp_path / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
