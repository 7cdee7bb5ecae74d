"""``dualsparse report``: PNG plots and an HTML page of one ``.dsz`` file, for a person to open.

:func:`report_data` gathers what the page shows with numpy only: per weight tensor the sparsity in the
spatial domain (``formats.load``) and, for tensors marked for Winograd deployment, in the Winograd domain
(``formats.load(domain="winograd")``, the file's stored sparsity), the non-zero values of both domains
for the histograms, the stored report of a recipe run (quality, sparsity, MACs, ``sizes`` after each
stage, ζ), an accuracy-aware search curve when the file holds one (``metadata["search"]`` or the stored
report's ``search``) and the run log ``FILE.dsz.log.csv`` when it lies next to the file.
:func:`write_report` draws them with matplotlib (the ``plots`` extra, imported only there) and writes:

* ``sparsity.png``: per-layer sparsity in both domains;
* ``histograms.png``: the weight values in the spatial and the Winograd domain (zeros left out, counted
  in the titles);
* ``sizes.png``: the size after each stage (stored report only);
* ``search.png``: file size against the metric of every setting tried (search curve only);
* ``training.png``: loss and ζ over the steps of the run log (log only);
* ``index.html``: the key figures as tables and the images above, linked relatively, so the folder can
  be moved or served as it is.

Every image is drawn before anything is written; each file is then written atomically, and none that
exists is replaced unless ``force``.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import formats
from compress.atomic import atomic_output
from compress.errors import CompressError, OutputError
from formats.container.limits import DEFAULT_LIMITS, Limits

__all__ = ["PLOTS_MISSING", "ReportData", "render_html", "report_data", "write_report"]

PLOTS_MISSING = "matplotlib is missing: pip install 'dualsparse[plots]'"
_STAGES = ("float32", "sparse", "quantized", "coded")
_BINS = 101


@dataclass
class ReportData:
    """What the report page of one file shows.

    Attributes:
        path: the ``.dsz`` file.
        file_bytes: its size.
        layers: per weight tensor (two or more dimensions): ``elements``, ``spatial`` sparsity and
            ``winograd`` sparsity (None when not marked for Winograd deployment).
        spatial_values: the non-zero decoded weights, all weight tensors together.
        winograd_values: the non-zero Winograd-domain filters of the marked tensors.
        zeros: number of zeros in each domain, ``{"spatial": n, "winograd": n}`` (and the totals in ``counts``).
        counts: element counts in each domain.
        report: the stored stage report of a recipe run (empty when the file has none).
        search: the search curve: ``metric``, ``baseline``, ``max_drop``, ``chosen`` and ``points``, each
            ``(setting, bytes, metric)``; None when the file holds none.
        log: rows of the run log next to the file (:func:`compress.pipeline.run_log.read_log`), or empty.
        metadata: the file's metadata.
    """

    path: Path
    file_bytes: int
    layers: dict[str, dict[str, Any]]
    spatial_values: np.ndarray
    winograd_values: np.ndarray
    zeros: dict[str, int]
    counts: dict[str, int]
    report: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def report_data(path: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> ReportData:
    """Decode ``path`` in both domains and gather the figures of its report page (numpy only).

    Args:
        path: a ``.dsz`` file.
        limits: reader limits (``--max-decoded-bytes``).

    Returns:
        A :class:`ReportData`.

    Raises:
        formats.FormatError: the file is not a valid ``.dsz`` file.

    Example:
        >>> report_data("digits.dsz").layers["conv1.weight"]["winograd"]  # doctest: +SKIP
        0.12109375
    """
    path = Path(path)
    with formats.open_dsz(path, limits=limits) as reader:
        marked = {r.name for r in reader.records if isinstance(r.attrs, Mapping) and "winograd" in r.attrs}
        recipe = reader.recipe
        metadata = dict(reader.metadata or {})
    spatial = formats.load(path, limits=limits)
    winograd = formats.load(path, domain="winograd", limits=limits) if marked else {}
    layers: dict[str, dict[str, Any]] = {}
    spatial_parts, winograd_parts = [], []
    zeros = {"spatial": 0, "winograd": 0}
    counts = {"spatial": 0, "winograd": 0}
    for name, array in spatial.items():
        if array.ndim < 2 or not np.issubdtype(array.dtype, np.floating):
            continue
        values = np.asarray(array, dtype=np.float64).reshape(-1)
        layer: dict[str, Any] = {"elements": int(values.size), "spatial": _sparsity(values), "winograd": None}
        spatial_parts.append(values[values != 0])
        zeros["spatial"] += int(np.count_nonzero(values == 0))
        counts["spatial"] += int(values.size)
        if name in marked:
            filters = np.asarray(winograd[name], dtype=np.float64).reshape(-1)
            layer["winograd"] = _sparsity(filters)
            winograd_parts.append(filters[filters != 0])
            zeros["winograd"] += int(np.count_nonzero(filters == 0))
            counts["winograd"] += int(filters.size)
        layers[name] = layer
    stored = recipe.get("report") if isinstance(recipe, Mapping) else None
    report = dict(stored) if isinstance(stored, Mapping) else {}
    return ReportData(
        path=path, file_bytes=path.stat().st_size, layers=layers,
        spatial_values=np.concatenate(spatial_parts) if spatial_parts else np.zeros(0),
        winograd_values=np.concatenate(winograd_parts) if winograd_parts else np.zeros(0),
        zeros=zeros, counts=counts, report=report,
        search=_search_curve(metadata.get("search", report.get("search"))), log=_run_log(path), metadata=metadata,
    )


def write_report(path: str | Path, out_dir: str | Path, *, force: bool = False,
                 limits: Limits = DEFAULT_LIMITS) -> list[Path]:
    """Write the PNG plots and ``index.html`` of ``path`` into ``out_dir`` (created when missing).

    Args:
        path: a ``.dsz`` file.
        out_dir: the folder of the page.
        force: replace files of an earlier report in ``out_dir``.
        limits: reader limits.

    Returns:
        The files written, ``index.html`` last.

    Raises:
        CompressError: matplotlib is not installed (the message says how to install it).
        OutputError: ``out_dir`` is a file, its parent is missing, or a file to write exists without ``force``.
        formats.FormatError: ``path`` is not a valid ``.dsz`` file.

    Example:
        >>> write_report("digits.dsz", "digits-report")[-1].name  # doctest: +SKIP
        'index.html'
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} is a file; give a folder for the report")
    if not out.exists() and not out.parent.is_dir():
        raise OutputError(f"directory {out.parent} does not exist; create it first")
    plt = _pyplot()
    data = report_data(path, limits=limits)
    if not force:
        taken = [name for name in (*_image_names(data), "index.html") if (out / name).exists()]
        if taken:
            raise OutputError(f"{out / taken[0]} exists; pass --force to replace the report's files")
    images = _draw(plt, data)
    page = render_html(data, list(images))
    files = {**images, "index.html": page.encode("utf-8")}
    out.mkdir(exist_ok=True)
    written = []
    for name, content in files.items():
        with atomic_output(out / name, replace=force) as partial:
            partial.write_bytes(content)
        written.append(out / name)
    return written


def render_html(data: ReportData, images: list[str]) -> str:
    """The page: key figures and per-layer tables, then the images (relative links), all text escaped.

    Example:
        >>> d = ReportData(Path("m.dsz"), 10, {"w": {"elements": 4, "spatial": 0.5, "winograd": None}},
        ...                np.zeros(0), np.zeros(0), {"spatial": 2, "winograd": 0}, {"spatial": 4, "winograd": 0})
        >>> page = render_html(d, ["sparsity.png"])
        >>> "<td>w</td>" in page and '<img src="sparsity.png"' in page
        True
    """
    title = f"dualsparse report: {data.path.name}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.5em 0}"
        "figure{margin:1.5em 0}figcaption{color:#555}</style>",
        "</head>", "<body>", f"<h1>{_e(title)}</h1>",
        "<h2>Key figures</h2>", _table(["figure", "value"], _key_figures(data), "key-figures"),
        "<h2>Layers</h2>",
        _table(["weight tensor", "elements", "spatial sparsity", "Winograd sparsity"],
               [[name, f"{layer['elements']:,}", _pct(layer["spatial"]), _pct(layer["winograd"])]
                for name, layer in data.layers.items()], "layers"),
    ]
    captions = {
        "sparsity.png": "Sparsity per layer in the spatial and the Winograd domain, as decoded from the file.",
        "histograms.png": "Non-zero weight values in the spatial domain and the Winograd domain (zeros counted in "
                          "the titles).",
        "sizes.png": "Size after each stage of the pipeline (stored report).",
        "search.png": "File size against the metric of every setting the search tried.",
        "training.png": "Loss and ζ at each logged step of the run (its CSV log).",
    }
    if data.search is not None:
        parts += ["<h2>Search curve</h2>", _table(["setting", "bytes", data.search["metric"]],
                                                  [[s, f"{b:,}", f"{m:.4f}"] for s, b, m in data.search["points"]],
                                                  "search")]
    parts.append("<h2>Plots</h2>")
    for name in images:
        parts.append(f'<figure><img src="{_e(name)}" alt="{_e(captions.get(name, name))}">'
                     f"<figcaption>{_e(captions.get(name, name))}</figcaption></figure>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _key_figures(data: ReportData) -> list[list[str]]:
    rows = [["file", data.path.name], ["file size", f"{data.file_bytes:,} bytes"]]
    counted = data.counts["spatial"]
    if counted:
        rows.append(["weights", f"{counted:,}"])
        rows.append(["spatial sparsity (decoded)", _pct(data.zeros["spatial"] / counted)])
    if data.counts["winograd"]:
        rows.append(["Winograd sparsity (decoded, marked tensors)",
                     _pct(data.zeros["winograd"] / data.counts["winograd"])])
    report = data.report
    quality = report.get("quality") or {}
    metric = quality.get("metric", "metric")
    for key, label in (("dense", "dense"), ("finetuned", "fine-tuned"), ("pruned_spatial", "pruned spatial"),
                       ("pruned_winograd", "pruned Winograd")):
        if isinstance(quality.get(key), int | float):
            rows.append([f"{metric}: {label}", f"{quality[key]:.4f}"])
    sizes = report.get("sizes") or {}
    for key in _STAGES:
        if isinstance(sizes.get(key), int | float):
            rows.append([f"size: {key}", f"{int(sizes[key]):,} bytes"])
    if isinstance(sizes.get("ratio_vs_float32"), int | float):
        rows.append(["ratio vs float32", f"{sizes['ratio_vs_float32']:.1f}x"])
    if isinstance(sizes.get("bits_per_weight"), int | float):
        rows.append(["bits per weight", f"{sizes['bits_per_weight']:.3f}"])
    macs = report.get("macs") or {}
    for key in ("spatial_dense", "spatial_sparse", "winograd_dense", "winograd_sparse"):
        if isinstance(macs.get(key), int | float):
            rows.append([f"MACs/image: {key.replace('_', ' ')}", f"{int(macs[key]):,}"])
    for key, value in (report.get("zeta") or {}).items():
        if isinstance(value, int | float):
            rows.append([f"ζ: {key.replace('_', ' ')}", f"{value:.3f}"])
    if data.search is not None:
        rows.append(["search: chosen setting", str(data.search.get("chosen"))])
        rows.append(["search: budget (max drop)", str(data.search.get("max_drop"))])
    return rows


def _image_names(data: ReportData) -> list[str]:
    """The PNG files the page of ``data`` has, in page order."""
    sizes = data.report.get("sizes") or {}
    names = ["sparsity.png", "histograms.png"]
    if all(isinstance(sizes.get(k), int | float) for k in _STAGES):
        names.append("sizes.png")
    if data.search is not None and data.search["points"]:
        names.append("search.png")
    if data.log:
        names.append("training.png")
    return names


def _draw(plt: Any, data: ReportData) -> dict[str, bytes]:
    sizes = data.report.get("sizes") or {}
    draw = {
        "sparsity.png": lambda: _sparsity_plot(plt, data),
        "histograms.png": lambda: _histograms(plt, data),
        "sizes.png": lambda: _sizes_plot(plt, {k: int(sizes[k]) for k in _STAGES}),
        "search.png": lambda: _search_plot(plt, data.search or {}),
        "training.png": lambda: _training_plot(plt, data.log),
    }
    return {name: draw[name]() for name in _image_names(data)}


def _sparsity_plot(plt: Any, data: ReportData) -> bytes:
    names = list(data.layers)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(names) + 2), 4.2))
    x = np.arange(len(names))
    spatial = [100 * data.layers[n]["spatial"] for n in names]
    winograd = [np.nan if data.layers[n]["winograd"] is None else 100 * data.layers[n]["winograd"] for n in names]
    ax.bar(x - 0.2, spatial, 0.4, label="spatial")
    ax.bar(x + 0.2, winograd, 0.4, label="Winograd (marked tensors)")
    ax.set_xticks(x, names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center",
                  fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("zeros (%)")
    ax.set_title(f"Sparsity per layer: {data.path.name}")
    ax.legend()
    return _png(plt, fig)


def _histograms(plt: Any, data: ReportData) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, domain, values in ((axes[0], "spatial", data.spatial_values),
                               (axes[1], "winograd", data.winograd_values)):
        label = "Spatial domain" if domain == "spatial" else "Winograd domain"
        total = data.counts[domain]
        if total == 0:
            ax.text(0.5, 0.5, "no tensor marked for Winograd deployment", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_title(label)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        if values.size:
            ax.hist(values, bins=_BINS, color="C0" if domain == "spatial" else "C1")
            ax.set_yscale("log")
        ax.set_title(f"{label}: {values.size:,} non-zero, {data.zeros[domain]:,} zeros "
                     f"({100 * data.zeros[domain] / total:.1f} %)", fontsize=9)
        ax.set_xlabel("value")
        ax.set_ylabel("count")
    return _png(plt, fig)


def _sizes_plot(plt: Any, sizes: dict[str, int]) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    bars = ax.bar(list(sizes), list(sizes.values()), color=["C7", "C0", "C2", "C3"])
    for bar, value in zip(bars, sizes.values(), strict=True):
        ax.annotate(f"{value:,} B", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("bytes (log scale)")
    ax.set_title("Size after each stage")
    return _png(plt, fig)


def _search_plot(plt: Any, search: dict[str, Any]) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    points = sorted(search["points"], key=lambda p: p[1])
    ax.plot([p[1] for p in points], [p[2] for p in points], "o-", label="settings tried")
    for setting, size, metric in points:
        ax.annotate(setting, (size, metric), fontsize=7, xytext=(3, 3), textcoords="offset points")
    baseline, drop = search.get("baseline"), search.get("max_drop")
    if isinstance(baseline, int | float):
        ax.axhline(baseline, color="C2", linestyle="--", label="uncompressed")
        if isinstance(drop, int | float):
            ax.axhline(baseline - drop, color="C3", linestyle=":", label="budget")
    chosen = [p for p in points if p[0] == search.get("chosen")]
    if chosen:
        ax.plot([chosen[0][1]], [chosen[0][2]], "*", markersize=14, color="C3", label="kept")
    ax.set_xscale("log")
    ax.set_xlabel("file size (bytes, log scale)")
    ax.set_ylabel(search["metric"])
    ax.set_title("Size against " + search["metric"])
    ax.legend(fontsize=8)
    return _png(plt, fig)


def _training_plot(plt: Any, log: list[dict[str, Any]]) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for stage, marker in (("finetune", "-"), ("codebook", "--")):
        rows = [r for r in log if r["stage"] == stage]
        if not rows:
            continue
        offset = max((r["step"] for r in log if r["stage"] == "finetune"), default=0) if stage == "codebook" else 0
        steps = [offset + r["step"] for r in rows]
        axes[0].plot(steps, [r["loss"] for r in rows], marker, label=f"{stage} loss")
        for domain in ("sd", "wd"):
            zeta = [r[f"zeta_{domain}"] for r in rows]
            if any(z is not None for z in zeta):
                axes[1].plot(steps, [np.nan if z is None else z for z in zeta], marker,
                             label=f"{stage} ζ_{domain.upper()}")
    axes[0].set_yscale("log")
    axes[0].set_title("Task loss")
    axes[1].set_title("ζ (λ = e^ζ)")
    for ax in axes:
        ax.set_xlabel("step (codebook steps after fine-tuning's)")
        ax.legend(fontsize=8)
    return _png(plt, fig)


def _png(plt: Any, fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CompressError(PLOTS_MISSING) from None
    return plt


def _search_curve(raw: Any) -> dict[str, Any] | None:
    """The search curve of ``metadata["search"]`` (JSON text or a map) as ``(setting, bytes, metric)`` points."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("points"), list):
        return None
    points = []
    for point in raw["points"]:
        if isinstance(point, Mapping):
            entry = (point.get("setting"), point.get("bytes"), point.get("metric"))
        elif isinstance(point, list | tuple) and len(point) >= 4:
            entry = (point[0], point[2], point[3])
        else:
            continue
        setting, size, metric = entry
        if isinstance(size, int | float) and isinstance(metric, int | float) and math.isfinite(metric) and size > 0:
            points.append((str(setting), int(size), float(metric)))
    return {"metric": str(raw.get("metric", "metric")), "baseline": raw.get("baseline"),
            "max_drop": raw.get("max_drop"), "chosen": raw.get("chosen"), "points": points}


def _run_log(path: Path) -> list[dict[str, Any]]:
    from compress.pipeline.run_log import default_log_path, read_log

    log_path = default_log_path(path)
    if not log_path.is_file():
        return []
    try:
        return read_log(log_path)
    except (CompressError, ValueError, KeyError, OSError):
        return []  # not a log of this build: the page goes without it


def _sparsity(values: np.ndarray) -> float:
    return float(np.count_nonzero(values == 0)) / max(int(values.size), 1)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _table(header: list[str], rows: list[list[str]], css_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table id="{css_id}">\n<tr>{head}</tr>\n{body}\n</table>'
