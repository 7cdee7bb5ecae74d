"""compress.mann.render: skeleton strips (PNG) and animations (GIF) of rollouts, on a tiny synthetic rollout."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from compress.errors import CompressError
from compress.mann.controller import Rollout
from compress.mann.render import (
    PLOTS_MISSING,
    gif_frame_count,
    render_gif,
    render_strip,
    sample_frames,
    side_view,
    skeleton_parents,
    top_view,
)

NAMES = ("Hips", "Neck", "Head", "LeftHandSite", "RightHandSite", "LeftFootSite", "RightFootSite")
PARENTS = (-1, 0, 1, 1, 1, 0, 0)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mann_render.py"


def tiny_rollout(frames: int = 20, turn: float = 0.02) -> Rollout:
    """A stick dog walking along a gentle curve, paws lifting in turn."""
    base = np.array([[0, 40, 0], [0, 45, 25], [0, 50, 32], [5, 0, 25], [-5, 0, 25], [5, 0, -3], [-5, 0, -3]], float)
    t = np.arange(frames + 1)
    headings = turn * t
    root = np.stack([np.cumsum(np.sin(headings)), 0 * t, np.cumsum(np.cos(headings))], 1)
    positions = np.repeat(base[None], frames + 1, 0)
    positions[:, 3:, 1] += 3 * np.maximum(0, np.sin(0.3 * t[:, None] + np.arange(4)))
    c, s = np.cos(headings)[:, None], np.sin(headings)[:, None]
    x, z = positions[..., 0].copy(), positions[..., 2].copy()
    positions[..., 0] = c * x + s * z + root[:, None, 0]
    positions[..., 2] = -s * x + c * z + root[:, None, 2]
    return Rollout(positions, root, headings, np.full((frames, 8), 0.125), NAMES)


def test_views_put_the_dog_in_its_root_frame():
    motion = tiny_rollout()
    side = side_view(motion.positions, motion.root, motion.headings)
    # in its own frame the head is always ahead (forward 32 cm) at 50 cm height, whatever the heading
    np.testing.assert_allclose(side[:, 2], np.tile([32.0, 50.0], (21, 1)), atol=1e-9)
    top = top_view(motion.positions, motion.root)
    np.testing.assert_allclose(top[:, 0], 0.0, atol=1e-9)  # the hips sit on the root


def test_helpers():
    assert sample_frames(21, 5) == [0, 5, 10, 15, 20]
    assert sample_frames(3, 8) == [0, 1, 2]
    assert gif_frame_count(21, 2) == 11 and gif_frame_count(21, 1) == 21
    assert skeleton_parents(("Hips", "Head"), ("Hips", "Neck", "Head"), (-1, 0, 1)) == (-1, 0)
    with pytest.raises(CompressError, match="lacks"):
        skeleton_parents(("Tail",), NAMES, PARENTS)
    with pytest.raises(CompressError):
        sample_frames(0, 3)


needs_plots = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None or importlib.util.find_spec("PIL") is None,
    reason=PLOTS_MISSING)


@needs_plots
def test_strip_and_gif_written_and_deterministic(tmp_path):
    from PIL import Image

    a, b = tiny_rollout(), tiny_rollout(turn=-0.03)
    size = render_strip(tmp_path / "s.png", [a, b], PARENTS, labels=["a", "b"], samples=4)
    with Image.open(tmp_path / "s.png") as image:
        assert image.format == "PNG" and image.size == size
        assert size[0] > size[1] > 0
    count = render_gif(tmp_path / "g.gif", [a, b], PARENTS, labels=["a", "b"], every=2)
    assert count == gif_frame_count(21, 2) == 11
    with Image.open(tmp_path / "g.gif") as image:
        assert image.format == "GIF" and image.n_frames == 11 and image.is_animated
    render_gif(tmp_path / "g2.gif", [a, b], PARENTS, labels=["a", "b"], every=2)
    render_strip(tmp_path / "s2.png", [a, b], PARENTS, labels=["a", "b"], samples=4)
    assert (tmp_path / "g.gif").read_bytes() == (tmp_path / "g2.gif").read_bytes()
    assert (tmp_path / "s.png").read_bytes() == (tmp_path / "s2.png").read_bytes()
    assert render_gif(tmp_path / "one.gif", a, None, every=5) == 5  # one model, no bones


@needs_plots
def test_bad_input_is_one_line_error(tmp_path):
    a = tiny_rollout()
    with pytest.raises(CompressError, match="parents for"):
        render_strip(tmp_path / "s.png", a, PARENTS[:3])
    with pytest.raises(CompressError, match="no points named"):
        render_gif(tmp_path / "g.gif", a, PARENTS, paws=("Tail",))
    with pytest.raises(CompressError, match="labels"):
        render_gif(tmp_path / "g.gif", [a, a], PARENTS, labels=["x"])
    assert not (tmp_path / "g.gif").exists()


def test_missing_plotting_packages_give_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(CompressError) as info:
        render_strip(tmp_path / "s.png", tiny_rollout(), PARENTS)
    assert str(info.value) == PLOTS_MISSING


def load_example():
    spec = importlib.util.spec_from_file_location("mann_render", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_rejects_bad_files(tmp_path, capsys):
    render = load_example()
    assert render.main([str(tmp_path / "missing.dsz"), "-o", str(tmp_path / "o.gif")]) == 1
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert render.main([str(text), "-o", str(tmp_path / "o.gif")]) == 1
    fake = tmp_path / "fake.dsz"
    fake.write_bytes(b"\x89DSZ\r\n\x1a\ngarbage")
    assert render.main([str(fake), "-o", str(tmp_path / "o.gif")]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)
    assert not (tmp_path / "o.gif").exists()
