"""Options and output shared by the post-training commands that score what they write (``--eval``, ``--max-drop``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])


class InputShape(click.ParamType):
    """An example input shape with its batch axis, e.g. ``1,3,32,32``.

    Example:
        >>> InputShape().convert("1, 3, 32, 32", None, None)
        (1, 3, 32, 32)
    """

    name = "N,C,H,W"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        if len(parts) < 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            self.fail(f"{value!r} is not a shape such as 1,3,32,32 (positive integers, batch axis first)", param, ctx)
        return tuple(int(p) for p in parts)


def eval_options(command: _F) -> _F:
    """``--eval``, ``--max-drop`` and ``--data-root`` (the data of the built-in evaluation tasks)."""
    for option in reversed([
        click.option("--eval", "eval_spec", default=None, metavar="TASK|module:function",
                     help="Score what is written: a built-in task (lenet5-mnist, resnet20-cifar10 ... "
                          "resnet56-cifar10, digits-demo: top-1 accuracy on its test images, as a fraction) or "
                          "your function(model) -> number, higher is better (it gets --model's architecture "
                          "with the candidate weights, in eval mode). Prints the uncompressed and the compressed "
                          "figure. Imports and runs the named code."),
        click.option("--max-drop", type=click.FloatRange(0.0), default=None, metavar="FRACTION",
                     help="With --eval: search for the smallest file whose score is at most this much below the "
                          "uncompressed model's (0.01 = one accuracy point), printing each setting tried."),
        click.option("--data-root", type=click.Path(path_type=Path, file_okay=False), default=None,
                     show_default="../shared/data",
                     help="Where built-in tasks find their data (with --recipe: overrides task.data_root)."),
    ]):
        command = option(command)
    return command


def evaluation(eval_spec: str, architecture: Any, data_root: Path | None) -> Any:
    """The :class:`~compress.entry_points.Evaluation` of ``--eval`` over ``architecture`` (or the task's own)."""
    from compress.entry_points import resolve_evaluation

    return resolve_evaluation(eval_spec, model=architecture, data_root=data_root or "../shared/data")


def curve_header(what: str, evaluation: Any, baseline: float, max_drop: float) -> str:
    """The line before the curve."""
    return (f"searching {what} for the smallest file within {max_drop:g} of the uncompressed {evaluation.metric} "
            f"{baseline:.4f} ({evaluation.name}); settings tried:")


def point_printer(metric: str) -> Callable[[Any], None]:
    """Prints one line of the curve per point."""
    return lambda point: click.echo(f"  {point.line(metric)}")


def outcome(result: Any, output: Path) -> str:
    """The line after the curve: what was kept and written (or why nothing was)."""
    if result.best is None:
        safest = result.curve()[0] if result.points else None
        tried = f"; even the safest setting tried, {safest.setting}, drops {safest.drop:.4f}" if safest else ""
        return f"no setting keeps the {result.metric} within --max-drop {result.max_drop:g}{tried}; nothing written"
    best = result.best
    ratio = result.reference_bytes / max(result.written_bytes, 1)
    return (f"chose {best.setting}: wrote {output}: {result.written_bytes:,} bytes ({ratio:.1f}x smaller than "
            f"the input; {result.written_bytes - best.bytes:,} of them store the curve), {result.metric} "
            f"{best.metric:.4f} (drop {best.drop:+.4f})")
