"""The shared figure helpers: plain log ticks, the zoom window, reconstruction panels with error maps."""
import numpy as np
import pytest

from equinet.utils.plotting import plain_log_axis, pyplot, reconstruction_grid, zoom_window


def test_plain_log_axis_labels_are_plain_numbers():
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([10, 30, 100, 300], [1, 2, 3, 4])
    plain_log_axis(ax, [300, 10, 30, 100])
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "30", "100", "300"]
    assert ax.xaxis.get_minor_ticks() == [] or all(not t.label1.get_text() for t in ax.xaxis.get_minor_ticks())
    plt.close(fig)


@pytest.mark.parametrize("values", [[], [0, 10], [-1]])
def test_plain_log_axis_refuses_nonpositive(values):
    plt = pyplot()
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="positive"):
        plain_log_axis(ax, values)
    plt.close(fig)


def test_zoom_window_finds_the_largest_error_block():
    e = np.zeros((16, 16))
    e[10:13, 2:5] = 1.0
    e[0, 15] = 2.0  # a single larger pixel loses against the 3x3 block of nine
    assert zoom_window([e], 3) == (10, 2)
    assert zoom_window([e, e], 3) == (10, 2)


def test_reconstruction_grid_writes_a_figure_with_error_maps_and_colour_bars(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    ref = rng.random((16, 16))
    recs = [("a", ref + 0.1 * rng.standard_normal((16, 16)), 20.0), ("b", ref, None)]
    figs = []
    plt = pyplot()
    monkeypatch.setattr(plt, "close", lambda fig: figs.append(fig))
    path = tmp_path / "r.png"
    reconstruction_grid(str(path), [("held-out", ref, recs), ("rotated", ref, recs[:1])], title="t")
    assert path.stat().st_size > 0
    (fig,) = figs
    images = [im for ax in fig.axes for im in ax.get_images()]
    cmaps = sorted({im.get_cmap().name for im in images})
    assert cmaps == ["gray", "inferno"]
    errors = [im.get_array() for im in images if im.get_cmap().name == "inferno" and im.get_array().shape == (16, 16)]
    assert len(errors) == 3  # one full-size error map per reconstruction
    np.testing.assert_allclose(errors[1], 0.0)  # 'b' is the reference itself
    assert sum(1 for ax in fig.axes if ax.get_label() == "<colorbar>") == 4  # image and error bar per block
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "20.00 dB" in texts
    pyplot().close(fig)


def test_reconstruction_grid_needs_rows(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        reconstruction_grid(str(tmp_path / "x.png"), [])
