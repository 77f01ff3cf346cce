"""The edge — the data directory and the registry of public files errata can download.

The data directory is ``$ERRATA_DATA_DIR`` when set, else the user cache
(``~/.cache/errata`` on Linux). Each registry entry is stored at ``<data dir>/<path>``, so a
directory laid out like ``../shared/data`` (``cleanlab_resnet/…``, ``real_raters/…``) works as
it is. Downloads go through pooch, are checked against the sha256 when one is known, and a file
whose hash does not match is deleted, never kept.

A file is verified again each time it is used (:func:`path`): a registry file whose content is
not what the registry's sha256 says — edited, truncated, replaced — is an error naming the file
and the fix (``errata data fetch NAME``), unless verification is turned off for the run
(``errata --no-verify …`` or ``ERRATA_NO_VERIFY=1``). The hash is memoised on the file's
identity (:mod:`errata.io.checksums`), so a rerun pays nothing for it. A data directory that
is set but is not a folder is an error; one that does not exist holds no file, and what the
defaults then lack is said in the run's notes (:func:`errata.io.rejections.default_gaps`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from errata.exceptions import ErrataInputError, did_you_mean

ENV_VAR = "ERRATA_DATA_DIR"
NO_VERIFY_ENV = "ERRATA_NO_VERIFY"  # "1": registry files are used without checking their sha256

_CLEANLAB = "https://github.com/cleanlab/label-errors/raw/main/"
_MISTAKES = "https://github.com/google-research/imagenet-mistakes/raw/main/"
_REAL = "https://github.com/google-research/reassessed-imagenet/raw/master/"
_GCS = "https://storage.googleapis.com/brain-car-datasets/imagenet-mistakes/"
_PEYCHEV = "https://github.com/eth-sri/automated-error-analysis/raw/main/"
# the published per-model statistics of Peychev et al. 2023 (errata.io.population reads them)
_PEYCHEV_STATS = {
    ("imagenet", "all"): "b13681452563ae7f39de434bee060ef28905b74bbc388b42438db43408b6cd57",
    ("imagenet", "organism"): "29313121e05fe03a8a86b88e268900c22ea0a2921da98f09ba102236beb48a70",
    ("imagenet", "artifact"): "2a5b5f4d7bb284ccf2cc743a565ee4ca778c14d5775f7e4de17bc06ea4139c16",
    ("imagenet", "other"): "cbcc95980a9b8b43faa46b8e32ccbd18c0ae4c68672ff46ef96b349e282906ca",
    ("imagenet-a", "all"): "91ea25965b17a141a12d84fd61e67a3c41a04c50d28f394532e069e8c1b2eeef",
    ("imagenet-a", "organism"): "1cb479bda85fcd26225f48d157d8f465ae117fc2ecfd8a8484d84bb746ec1744",
    ("imagenet-a", "artifact"): "70dff5cb00b6f9db1f149b79d396f69f074b4698882446dea137660d2f51a969",
    ("imagenet-a", "other"): "b3e5457bcfe1f315df6c483d81d3b22d2d8f2e17e8cee993085ac240de9c1f8d",
}


@dataclass(frozen=True)
class DataFile:
    """One public file: where it lives in the data directory, where it comes from, its hash."""

    name: str
    path: str  # relative to the data directory
    url: str
    sha256: str | None
    license: str
    description: str
    order: str | None = None  # row order of a predictions file without file names


REGISTRY: dict[str, DataFile] = {
    f.name: f
    for f in [
        DataFile(
            "cleanlab-resnet50",
            "cleanlab_resnet/imagenet_val_set_pyx_argmax_predicted_labels.npy",
            _CLEANLAB
            + "cross_validated_predicted_labels/imagenet_val_set_pyx_argmax_predicted_labels.npy",
            "015c76ead98770e56a2db5f3265d7e28a0fee3481897c93301de773e60a8cb73",
            "Apache-2.0 (cleanlab/label-errors)",
            "ResNet-50 top-1 predictions on the 50,000 validation images, ImageFolder order "
            "(Northcutt et al. 2021)",
            order="imagefolder",
        ),
        DataFile(
            "cleanlab-original-labels",
            "cleanlab_resnet/imagenet_val_set_original_labels.npy",
            _CLEANLAB + "original_test_labels/imagenet_val_set_original_labels.npy",
            "02324a6ea2ebf9613c6bb5879aa945ae649fe3c422eb36164419c8ba3582df4d",
            "Apache-2.0 (cleanlab/label-errors)",
            "original labels in the same ImageFolder order",
        ),
        DataFile(
            "cleanlab-index",
            "cleanlab_resnet/imagenet_val_set_index_to_filepath.json",
            _CLEANLAB + "dataset_indexing/imagenet_val_set_index_to_filepath.json",
            "3289890d9df0484bacb4b519d460eb8dc2fbd009661f82ee8bbcce96e057f126",
            "Apache-2.0 (cleanlab/label-errors)",
            "the 50,000 file paths giving the order of the two arrays above",
        ),
        DataFile(
            "vit3b-mistakes",
            "dough_bagel/vit3b_mistakes.json",
            _MISTAKES + "metadata/vit3b_mistakes.json",
            "7c48988d683c60714ee720b9ee8f762b32e5759e2b98a12a5ab23d41b20d4c2a",
            "Apache-2.0",
            "expert categories and severities of 378 ViT-3B mistakes (Vasudevan et al. 2022)",
        ),
        DataFile(
            "greedysoups-mistakes",
            "dough_bagel/greedy_soups_mistakes.json",
            _MISTAKES + "metadata/greedy_soups_mistakes.json",
            "de1f832b337c2e88fea35cf55a81f7f7db0a2bddc7f0742f2d69a921672d6217",
            "Apache-2.0",
            "expert categories and severities of 249 Greedy Soups mistakes (Vasudevan et al. 2022)",
        ),
        DataFile(
            "real",
            "real_raters/real.json",
            _REAL + "real.json",
            "d83e9bff374c631aae8439eb064c7019acc56e1b3bc3f56b8380c2a710b0220b",
            "Apache-2.0",
            "ImageNet-ReaL label sets, file-name order (Beyer et al. 2020)",
        ),
        DataFile(
            "real-scores",
            "real_raters/scores.npz",
            _REAL + "scores.npz",
            "c4b558569f3da12945c57684294f439214a9cb7919b0ae5b44432bd077d03b79",
            "Apache-2.0",
            "Dawid-Skene posteriors behind ReaL, one per rated (image, label) question",
        ),
        DataFile(
            "real-raters",
            "real_raters/raters.npz",
            _REAL + "raters.npz",
            "d3ffe8082e4e61e9716cbc93a7a4e877e3b1d1240032a176e797b43f19107ec8",
            "Apache-2.0",
            "85 raters' no/maybe/yes answers to 184,962 ReaL questions",
        ),
        DataFile(
            "real-golden",
            "real_raters/golden.npz",
            _REAL + "golden.npz",
            "738a795e88351799934669ac48bb70e2ebe484b447fc3e09e0c36fbd987d06d2",
            "Apache-2.0",
            "five expert raters' answers to 1,135 golden questions",
        ),
        DataFile(
            "real-raters-golden",
            "real_raters/raters_golden.npz",
            _REAL + "raters_golden.npz",
            "6fd910fc7389c3d695ac5e18269689797d0246a378c536e218854f9d93bc8ea6",
            "Apache-2.0",
            "all raters' answers to the golden questions",
        ),
        DataFile(
            "imagenet-x-val-top-factor",
            "imagenet_x/imagenet_x_val_top_factor.jsonl",
            "https://github.com/facebookresearch/imagenetx/raw/main/imagenet_x/annotations/"
            "imagenet_x_val_top_factor.jsonl",
            "083253dfe7c3491c76c4745d00d2c1c6eb19615f3935cfc80c6b914dcd4bd177",
            "CC BY-NC 4.0",
            "ImageNet-X top factor of variation per validation image (Idrissi et al. 2022); "
            "also inside the imagenet-x wheel",
        ),
        DataFile(
            "peychev-examples-dev",
            "peychev_examples/examples_dev.jsonl",
            "https://github.com/eth-sri/automated-error-analysis/tree/"
            "d32916d21e1fb8e4e60bcaf0f0ac9b5115cc20d0/common_error_samples",
            "98fac8edd9a42c49cdfbfd6a58ffecc106556913dbece52d0960ede9ef99c4d9",
            "Apache-2.0",
            "the published pipeline's example classifications (Peychev et al. 2023), the rows "
            "with an even predicted class (development half; derived from the listed folder)",
        ),
        DataFile(
            "shankar",
            "shankar/human_accuracy_v3.0.0.json",
            _GCS + "human_accuracy_v3.0.0.json",
            None,
            "Apache-2.0 (TFDS imagenet2012_multilabel)",
            "Shankar et al. 2020 multi-label annotations with ImageNet-M; its keys that are not "
            "validation images are the ImageNetV2 images they annotated (--dataset imagenet-v2)",
        ),
        DataFile(
            "vit3b-logits",
            "logits/vit3b.npz",
            _GCS + "logits/vit3b.npz",
            None,
            "Apache-2.0",
            "ViT-3B logits on the validation set (Vasudevan et al. 2022)",
        ),
        DataFile(
            "greedysoups-logits",
            "logits/greedysoups.npz",
            _GCS + "logits/greedysoups.npz",
            None,
            "Apache-2.0",
            "Greedy Soups logits on the validation set (Vasudevan et al. 2022)",
        ),
        DataFile(
            "peychev-models-summary",
            "peychev_stats/models_summary.csv",
            _PEYCHEV + "models_summary.csv",
            "63007945762726367efd237a7e61442d723b4ad562873d2a469c852cf571eb52",
            "Apache-2.0 (eth-sri/automated-error-analysis)",
            "the 962 models Peychev et al. 2023 studied: source, architecture, training data",
        ),
        *(
            DataFile(
                f"peychev-{dataset}-{group}",
                f"peychev_stats/{dataset}_non_problematic_stats_{group}.csv",
                _PEYCHEV + f"stats-{dataset}/non_problematic_stats_{group}.csv",
                sha,
                "Apache-2.0 (eth-sri/automated-error-analysis)",
                "published error categories, MLA and top-1 of the 962 models on "
                + (
                    "ImageNet (Shankar et al. multi-labels)"
                    if dataset == "imagenet"
                    else "ImageNet-A"
                )
                + (", all images" if group == "all" else f", {group} images")
                + " (Peychev et al. 2023)",
            )
            for (dataset, group), sha in _PEYCHEV_STATS.items()
        ),
    ]
}


def data_dir() -> Path:
    """The data directory: ``$ERRATA_DATA_DIR``, else the user cache. A path that exists but
    is not a folder is an error (a missing one is a data directory that holds nothing yet)."""
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser()
        if folder.exists() and not folder.is_dir():
            raise ErrataInputError(
                f"{ENV_VAR}={env}: is a file, not a folder; point it at the data directory "
                "(a folder laid out as `errata data list` shows)"
            )
        return folder
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("errata"))


def verifying() -> bool:
    """Whether registry files are checked against their sha256 when used (the default)."""
    return os.environ.get(NO_VERIFY_ENV, "") in ("", "0")


def registry_name(name: str) -> str | None:
    """``name`` as a registry name, matched without regard to case; None when it is none."""
    if name in REGISTRY:
        return name
    return next((k for k in REGISTRY if k.lower() == name.lower()), None)


def entry(name: str) -> DataFile:
    known = registry_name(name)
    if known is None:
        raise ErrataInputError(
            f"unknown data file '{name}' (known: {', '.join(REGISTRY)})"
            + did_you_mean(name, REGISTRY)
        )
    return REGISTRY[known]


def local_path(name: str) -> Path:
    """Where ``name`` lives (or would live) in the data directory."""
    return data_dir() / entry(name).path


def path(name: str, *, verify: bool = True) -> Path:
    """Path of ``name`` in the data directory; a one-line error says how to get it if missing,
    or, with ``verify`` (and unless verification is off, :func:`verifying`), if its content is
    not the registry's (sha256, memoised: :func:`errata.io.checksums.sha256_of`)."""
    p = local_path(name)
    if not p.is_file():
        what = "is a folder, not the file," if p.is_dir() else "is not"
        raise ErrataInputError(
            f"data file '{name}' {what} in the data directory: run "
            f"`errata data fetch {name}` or place {entry(name).url} at {p}"
        )
    known = entry(name).sha256
    if verify and known and verifying():
        from errata.io.checksums import sha256_of

        try:
            got = sha256_of(p)
        except OSError as exc:
            raise ErrataInputError(f"{p}: cannot read ({exc.strerror or exc})") from None
        if got != known:
            raise ErrataInputError(
                f"{p}: its sha256 is not the registry's for '{name}' (the file was changed, "
                f"truncated or replaced); run `errata data fetch {name}` to download it again, "
                "or `errata --no-verify ...` to use it as it is"
            )
    return p


def is_present(name: str) -> bool:
    return local_path(name).is_file()


def fetch(name: str, *, progress: bool = False) -> Path:
    """Download ``name`` into the data directory (no-op when present and its hash matches)."""
    import pooch

    f = entry(name)
    target = local_path(name)
    known = f"sha256:{f.sha256}" if f.sha256 else None
    made = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
    try:
        got = pooch.retrieve(
            url=f.url, known_hash=known, fname=target.name, path=target.parent, progressbar=progress
        )
    except ValueError as exc:  # pooch: hash mismatch; it has already removed the download
        if target.exists() and f.sha256:
            target.unlink()
        raise ErrataInputError(
            f"{target}: sha256 does not match the registry for '{name}' "
            f"(file refused and not kept): {str(exc).splitlines()[0]}"
        ) from None
    except Exception as exc:  # network errors come in many types (requests, urllib3, OSError)
        for p in made:  # the folders this attempt made, if it left them empty
            try:
                p.rmdir()
            except OSError:
                pass
        raise ErrataInputError(
            f"could not download '{name}' from {f.url} "
            f"({type(exc).__name__}); place the file at {target}"
        ) from None
    return Path(got)


def verify(name: str) -> bool | None:
    """True/False when the file is present and has a known hash; None when it cannot be checked."""
    from errata.io.checksums import sha256_of

    f = entry(name)
    p = local_path(name)
    if not p.is_file() or not f.sha256:
        return None
    try:
        return sha256_of(p) == f.sha256
    except OSError:
        return False
