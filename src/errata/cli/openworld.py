"""`errata openworld` — CLIP embeddings, the training-image index and proposal text embeddings
(the inputs of the fine-grained OOV stage). Needs the optional 'openworld' extra."""

from __future__ import annotations

from pathlib import Path

import typer

from errata.cli import app
from errata.cli._common import console, progress_bar

ow_app = typer.Typer(
    help="Open-world inputs of the OOV stage: CLIP embeddings, index, proposals.",
    no_args_is_help=True,
)
app.add_typer(ow_app, name="openworld")


@ow_app.command()
def embed(
    images: Path = typer.Option(..., "--images", help="ImageNet-layout folder (train or val)."),
    out: Path = typer.Option(..., "--out", help="Output folder of shards (resumable)."),
    model: str = typer.Option("ViT-L-14-336", "--model", help="open_clip model name."),
    pretrained: str = typer.Option(
        "auto", "--pretrained", help="open_clip weight tag to download; 'random' for none."
    ),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Local weights file."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, max=4096),
    shard_size: int = typer.Option(4096, "--shard-size", min=1, max=1_000_000),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, mps."),
    workers: int = typer.Option(4, "--workers", min=0, max=256, help="Image-decoding processes."),
) -> None:
    """Embed every image of a folder with CLIP; skips unreadable images and lists them."""
    from errata.io.images import list_images
    from errata.openworld import embed_folder, load_clip

    list_images(images)  # a bad folder fails before the model loads
    clip = load_clip(model, pretrained=pretrained, checkpoint=checkpoint, device=device)
    con = console(stderr=True)
    con.print(f"model {clip.name} on {clip.device}; weights: {clip.weights}")
    with progress_bar("embedding with") as progress:
        rep = embed_folder(
            images,
            out,
            clip=clip,
            batch_size=batch_size,
            shard_size=shard_size,
            workers=workers,
            progress=progress,
        )
    for name, why in sorted(rep.skipped.items()):
        con.print(f"skipped {name}: {why}")
    console().print(
        f"{rep.n_images - len(rep.skipped)} images embedded into {rep.out} "
        f"({rep.computed} shards computed, {rep.reused} reused, {len(rep.skipped)} "
        f"skipped) in {rep.seconds:.1f} s; weights: {rep.weights}"
    )


@ow_app.command()
def index(
    train: Path = typer.Option(..., "--train", help="Training-image embeddings (folder or file)."),
    out: Path = typer.Option(..., "--out", help="Index folder to write."),
) -> None:
    """Build the faiss nearest-neighbour index over training-image embeddings."""
    from errata.openworld import build_index, load_embeddings, save_index

    idx = build_index(load_embeddings(train))
    save_index(idx, out)
    console().print(f"index of {len(idx)} training images (dim {idx.dim}) written to {out}")


@ow_app.command()
def texts(
    out: Path = typer.Option(..., "--out", help="Text-embedding cache (.npz) to write."),
    model: str = typer.Option("ViT-L-14-336", "--model", help="open_clip model name."),
    pretrained: str = typer.Option("auto", "--pretrained"),
    checkpoint: Path | None = typer.Option(None, "--checkpoint"),
    device: str = typer.Option("auto", "--device"),
) -> None:
    """Encode the WordNet proposals of all 1000 classes ("A photo of a {lemma}.") once."""
    from errata.openworld import build_proposals, load_clip, text_embeddings

    clip = load_clip(model, pretrained=pretrained, checkpoint=checkpoint, device=device)
    props = build_proposals()
    vec = text_embeddings(props, clip, cache=out)
    console().print(f"{len(vec)} proposal embeddings ({clip.name}, {clip.weights}) in {out}")
