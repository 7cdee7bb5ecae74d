"""``dualsparse demo``: the main job end to end on the embedded optdigits data, no input needed.

Trains a small CNN (:class:`compress.demo.model.DigitsNet`, three stride-1 3x3 convs) on the embedded
digits, runs the built-in ``digits-demo`` recipe (joint spatial/Winograd sparse fine-tuning, dithered
quantization, codebook tuning, entropy coding), verifies the ``.dsz`` file, decompresses it to the
spatial and the Winograd domain and scores both decompressed models.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from compress.cli.compress_cmd import run_recipe_command
from compress.cli.decompress_cmd import decompress_command
from compress.cli.inspect_cmd import inspect_command
from compress.cli.verify_cmd import verify_command


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=Path("dualsparse-demo"),
              show_default=True, help="Where the demo writes its files (created; existing demo files are replaced).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Seed of the model's training, the batch order and the dither.")
@click.option("--steps", type=click.IntRange(1), default=None, show_default="the recipe's",
              help="Fine-tuning steps (fewer for a quick look).")
@click.option("--codebook-steps", type=click.IntRange(0), default=None, show_default="the recipe's",
              help="Codebook fine-tuning steps.")
@click.option("--epochs", type=click.IntRange(1), default=None, show_default="the recipe's",
              help="Training epochs of the dense DigitsNet.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True,
              help="torch CPU threads; the demo's tensors are tiny, so more threads mostly add synchronisation.")
@click.pass_context
def demo_command(ctx: click.Context, workdir: Path, seed: int, steps: int | None, codebook_steps: int | None,
                 epochs: int | None, threads: int) -> None:
    """Train a digits CNN, compress it with the digits-demo recipe, then verify, decompress to both
    domains and report accuracy, sparsity, MACs and sizes."""
    import torch

    from compress.demo.digits import load_digits
    from compress.demo.model import DigitsNet
    from compress.pipeline.deploy_eval import load_decoded, winograd_deployed
    from compress.pipeline.recipe_file import load_recipe, parse_recipe, recipe_to_toml
    from compress.pipeline.report import evaluate_metric

    torch.set_num_threads(threads)
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    data = load_recipe("digits-demo").to_map()
    data["seed"] = seed
    if steps is not None:
        data["finetune"]["steps"] = steps
    if codebook_steps is not None:
        data["codebook"]["steps"] = codebook_steps
    if epochs is not None:
        data["task"]["options"]["epochs"] = epochs
    recipe = parse_recipe(data, where="digits-demo recipe")
    recipe_path = workdir / "digits-demo.toml"
    recipe_path.write_text(recipe_to_toml(recipe), encoding="utf-8")
    artifact = workdir / "digits.dsz"
    ft = recipe.section("finetune")
    click.echo(f"[1/4] train a DigitsNet on the embedded optdigits data, then compress it with {recipe_path}: "
               f"{ft['steps']} fine-tuning steps (s_SD {ft['s_sd']}, s_WD {ft['s_wd']}), "
               f"{recipe.codebook.bits or ''} bit quantization, {recipe.codebook.steps} codebook steps")
    report = run_recipe_command("digits-demo", None, artifact, force=True, loaded=recipe,
                                checkpoint_dir=workdir / "checkpoints")
    click.echo("[2/4] inspect and verify")
    ctx.invoke(inspect_command, path=artifact, as_json=False)
    ctx.invoke(verify_command, path=artifact, quiet=False)
    click.echo("[3/4] decompress to both domains")
    spatial_path = workdir / "digits-spatial.safetensors"
    winograd_path = workdir / "digits-winograd.safetensors"
    s_wd = recipe.finetune.s_wd
    ctx.invoke(decompress_command, path=artifact, output=spatial_path, domain="spatial", sparsity=None, force=True,
               quiet=False)
    ctx.invoke(decompress_command, path=artifact, output=winograd_path, domain="winograd", sparsity=s_wd,
               force=True, quiet=False)

    click.echo("[4/4] score the decompressed models")
    from safetensors.numpy import load_file

    architecture = DigitsNet()  # weights come from the decompressed files
    test = load_digits("test")
    spatial_acc = evaluate_metric(load_decoded(architecture, load_file(str(spatial_path))), test, "cross_entropy")
    winograd_model = winograd_deployed(architecture, load_file(str(winograd_path)), recipe.m_for_r)
    winograd_acc = evaluate_metric(winograd_model, test, "cross_entropy")
    q, sizes = report["quality"], report["sizes"]
    click.echo(f"test accuracy ({len(test)} images): dense {q['dense']:.4f}; from {spatial_path.name} "
               f"{spatial_acc:.4f}; from {winograd_path.name} (Winograd domain, {s_wd:.0%} pruned) {winograd_acc:.4f}")
    click.echo(f"{sizes['float32']:,} float32 bytes -> {artifact.stat().st_size:,} bytes; "
               f"done in {time.perf_counter() - started:.1f} s")

