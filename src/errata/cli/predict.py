"""`errata predict` — predictions of timm / torchvision models over an image folder, one file per
model, resumable, locally or on a Ray cluster. Needs the optional 'predict' extra."""

from __future__ import annotations

from pathlib import Path

import typer

from errata.cli import app
from errata.cli._common import console, dataset_opt, dataset_option, progress_bar


@app.command("predict")
def predict_cmd(
    model: list[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="timm / torchvision name (tv:NAME), or a file listing "
        "'name \\[checkpoint]' per line; repeat for many.",
    ),
    supersub: list[Path] = typer.Option(
        None,
        "--supersub",
        help="A Super-Sub composite (TOML: taxonomy, a superclass model and one specialist "
        "per superclass, each from a checkpoint): the superclass model picks the superclass, "
        "its specialist the class. Repeat for many; combines with --model.",
    ),
    dataset: str = dataset_opt(
        "Test set of the images: names are class paths outside imagenet-val, and on "
        "imagenet-a/-r the ranking is restricted to the 200 classes."
    ),
    images: Path = typer.Option(..., "--images", help="ImageNet-layout image folder."),
    out: Path = typer.Option(..., "--out", help="Output folder: <model>.npz per model."),
    logits: bool = typer.Option(False, "--logits", help="Also store (n, 1000) float16 logits."),
    pretrained: bool = typer.Option(
        True,
        "--pretrained/--random-weights",
        help="Library weights (download) or random (smoke test).",
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1, max=4096),
    shard_size: int = typer.Option(2048, "--shard-size", min=1, max=1_000_000),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, mps."),
    workers: int = typer.Option(4, "--workers", min=0, max=256, help="Image-decoding processes."),
    ray: str | None = typer.Option(
        None,
        "--ray",
        metavar="local|ADDRESS",
        help="Spread models × shards over Ray: '--ray local' starts a local cluster; "
        "'--ray auto' or '--ray ray://host:port' joins one.",
    ),
) -> None:
    """Predict every image with every model; writes errata's prediction format."""
    from errata.exceptions import ErrataInputError
    from errata.io.images import list_images
    from errata.predict import load_supersub_spec, predict, resolve_models
    from errata.predict.spec import ModelSpec, SuperSubSpec

    if not model and not supersub:
        raise ErrataInputError("give --model (one or more) or --supersub (a composite's TOML)")
    dataset, _ = dataset_option(dataset)
    list_images(images, dataset=dataset)  # a bad folder fails before any model loads
    specs: list[ModelSpec | SuperSubSpec] = [*(resolve_models(model) if model else [])] + [
        load_supersub_spec(s) for s in supersub or []
    ]
    with progress_bar("predicting") as progress:
        reps = predict(
            specs,
            images,
            out,
            pretrained=pretrained,
            logits=logits,
            batch_size=batch_size,
            shard_size=shard_size,
            device=device,
            workers=workers,
            ray=ray,
            progress=progress,
            dataset=dataset,
        )
    con = console(stderr=True)
    for rep in reps:
        for name, why in sorted(rep.skipped.items()):
            con.print(f"{rep.model}: skipped {name}: {why}")
        console().print(
            f"{rep.model}: {rep.path} ({rep.n_images - len(rep.skipped)} images, "
            f"{rep.computed} shards computed, {rep.reused} reused, "
            f"{len(rep.skipped)} skipped)"
        )
