"""Benchmark: CLIP image-embedding throughput on this machine (CPU unless a GPU is visible).

Measures the tiny random-weight config end to end (JPEG decode + preprocessing + model) over
generated images, and the ViT-L-14-336 forward pass alone on random inputs (random weights: the
cost of a forward pass does not depend on the weight values). Run:
``uv run --frozen --extra openworld python benchmarks/openworld_embed.py [--no-large]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import torch
    from PIL import Image

    from errata.openworld import TINY_MODEL, embed_folder, load_clip

    n = 512
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "imgs" / "n01440764"
        root.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)).save(
                root / f"img_{i}.JPEG", quality=90
            )  # ImageNet's typical size
        clip = load_clip(TINY_MODEL, pretrained=None)
        rep = embed_folder(root.parent, Path(tmp) / "emb", clip=clip, batch_size=64, workers=0)
        print(
            f"{TINY_MODEL} ({clip.device}, {torch.get_num_threads()} threads), 500x375 JPEGs, "
            f"decode+preprocess+embed: {n / rep.seconds:.0f} images/s"
        )
    if "--no-large" in sys.argv:
        return
    big = load_clip("ViT-L-14-336", pretrained=None)
    x = torch.randn(8, 3, 336, 336, device=big.device)
    with torch.inference_mode():
        big.model.encode_image(x[:2])  # warm-up
        t = time.perf_counter()
        big.model.encode_image(x)
        dt = time.perf_counter() - t
    print(
        f"ViT-L-14-336 ({big.device}) forward only, batch 8: {8 / dt:.2f} images/s "
        f"-> {1_331_167 / (8 / dt) / 3600:.0f} h for ImageNet train + val on this machine"
    )


if __name__ == "__main__":
    main()
