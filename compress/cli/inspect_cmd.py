"""``dualsparse inspect``: what is inside a ``.dsz`` file and how well it is coded."""

from __future__ import annotations

import json
from pathlib import Path

import click

import formats
from compress.cli.options import InputFile, max_decoded_bytes_option, reader_limits
from formats.stats import TensorStats, tensor_stats


@click.command("inspect")
@click.argument("path", type=InputFile())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@max_decoded_bytes_option
def inspect_command(path: Path, as_json: bool, max_decoded_bytes: int | None) -> None:
    """Show each tensor of PATH: shape, kind, codec, bytes, bits/weight, sparsity, and the ratio of
    its coded size to the order-0 entropy bound N·H0 (1.00 = at the bound)."""
    with formats.open_dsz(path, limits=reader_limits(max_decoded_bytes)) as reader:
        stats = [tensor_stats(reader, record) for record in reader.records]
        producer = reader.producer
        metadata = reader.metadata
        recipe = reader.recipe
    file_bytes = path.stat().st_size
    elements = sum(s.elements for s in stats)
    payload = sum(s.payload_bytes for s in stats)
    entropy = sum(s.entropy_bytes for s in stats)
    zeros = sum(s.sparsity * s.elements for s in stats)
    if as_json:
        doc = {
            "file": str(path),
            "file_bytes": file_bytes,
            "producer": {"name": producer.name, "version": producer.version},
            "metadata": metadata,
            "recipe": recipe,
            "tensors": [_tensor_json(s) for s in stats],
            "totals": {
                "elements": elements,
                "payload_bytes": payload,
                "bits_per_weight": 8 * file_bytes / elements if elements else 0.0,
                "sparsity": zeros / elements if elements else 0.0,
                "entropy_bytes": entropy,
                "float32_bytes": 4 * elements,
                "ratio_vs_float32": 4 * elements / file_bytes if file_bytes else 0.0,
            },
        }
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    click.echo(f"{path}: {len(stats)} tensors, {file_bytes:,} bytes, made by {producer.name} {producer.version}")
    header = (f"{'name':<36} {'shape':<18} {'kind':<9} {'codec':<6} {'bytes':>10} {'bits/w':>7} {'sparse':>7} "
              f"{'N*H0':>10} {'/H0':>6}")
    click.echo(header)
    click.echo("-" * len(header))
    for s in stats:
        shape = "x".join(str(d) for d in s.shape) or "scalar"
        ratio = f"{s.ratio_to_entropy:6.3f}" if s.entropy_bytes else "     -"
        click.echo(f"{s.name[:36]:<36} {shape[:18]:<18} {s.kind:<9} {s.codec:<6} {s.payload_bytes:>10,} "
                   f"{s.bits_per_weight:>7.3f} {s.sparsity:>7.1%} {s.entropy_bytes:>10.1f} {ratio}")
    click.echo("-" * len(header))
    overhead = file_bytes - payload
    click.echo(f"total: {elements:,} values, payload {payload:,} bytes + header/framing {overhead:,} bytes; "
               f"{8 * file_bytes / max(elements, 1):.3f} bits/value, sparsity {zeros / max(elements, 1):.1%}, "
               f"{4 * elements / max(file_bytes, 1):.1f}x smaller than float32")


def _tensor_json(s: TensorStats) -> dict[str, object]:
    return {
        "name": s.name, "shape": list(s.shape), "kind": s.kind, "codec": s.codec, "elements": s.elements,
        "bytes": s.payload_bytes, "bits_per_weight": s.bits_per_weight, "sparsity": s.sparsity,
        "entropy_bytes": s.entropy_bytes,
        "ratio_to_entropy": None if s.entropy_bytes == 0 else s.ratio_to_entropy,
    }
