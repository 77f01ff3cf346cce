"""`errata predict` — predictions of timm / torchvision models over an image folder, one file per
model, resumable, locally or on a Ray cluster. Needs the optional 'predict' extra."""

from __future__ import annotations

from pathlib import Path

import typer

from errata.cli import app
from errata.cli._common import console, progress_bar


@app.command("predict")
def predict_cmd(
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="timm / torchvision name (tv:NAME), or a file listing "
        "'name \\[checkpoint]' per line; repeat for many.",
    ),
    images: Path = typer.Option(..., "--images", help="ImageNet-layout image folder."),
    out: Path = typer.Option(..., "--out", help="Output folder: <model>.npz per model."),
    logits: bool = typer.Option(False, "--logits", help="Also store (n, 1000) float16 logits."),
    pretrained: bool = typer.Option(
        True,
        "--pretrained/--random-weights",
        help="Library weights (download) or random (smoke test).",
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    shard_size: int = typer.Option(2048, "--shard-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, mps."),
    workers: int = typer.Option(4, "--workers", min=0, help="Image-decoding processes."),
    ray: str | None = typer.Option(
        None,
        "--ray",
        is_flag=False,
        flag_value="local",
        help="Spread models × shards over Ray: bare --ray starts a "
        "local cluster; --ray ADDRESS joins one.",
    ),
) -> None:
    """Predict every image with every model; writes errata's prediction format."""
    from errata.io.images import list_images
    from errata.predict import predict

    list_images(images)  # a bad folder fails before any model loads
    with progress_bar("predicting") as progress:
        reps = predict(
            model,
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
