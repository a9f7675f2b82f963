"""The documented recipe that trains the shipped ``sim-default`` and ``sim-photometry`` models.

Run from the repository root (about an hour on 2 CPU cores)::

    python studies/ship_sim_models.py --workdir runs/ship --install

The models shipped now (issue 16: survey with the joint colour transfer and real-neighbour
magnitude errors) were made with::

    python studies/ship_sim_models.py --workdir runs/ship16b --models sim-photometry \
        --flow-epochs 35 --threads 1 --install
    python studies/ship_sim_models.py --workdir runs/ship16e --models sim-default \
        --vae-from runs/shipped_sim_default_4a7afc4 --n 20000 --flow-epochs 30 --threads 1 --install

(``runs/shipped_sim_default_4a7afc4``: a copy of the ``sim-default`` shipped before, whose VAE is
kept; 5 and 5.4 minutes of head training on the shared 2-core machine when it was quiet;
one torch thread is several times faster than two there when other jobs load both cores.)

Steps, each skipped when its output already exists (so an interrupted run resumes):

1. simulate the training survey (``galflow simulate``, seed 2026, 20,000 galaxies with
   gri cutouts);
2. train the image VAE on the first ``--vae-rows`` galaxies' training split (the paper's
   architecture: 3 conv layers k4 s2 p1; channels 16/32/32 keep the weights file small);
3. train the image + photometry heads (``sim-default``) and the photometry-only heads
   (``sim-photometry``), each an ensemble of ``--ensemble`` members, on the training split
   of all galaxies, with the validation split for early stopping;
4. fit each model's post-hoc calibration on the validation split
   (:mod:`astro_galflow.calibration`; what ``galflow calibrate`` does) and store it in
   its card;
5. with ``--install``, copy both model directories (without checkpoints) into
   ``astro_galflow/data/models/``.

``--models sim-photometry`` trains the photometry-only model alone (the survey is then
simulated without cutouts, which is most of the time saved); ``--vae-from DIR`` reuses
the frozen VAE of an image-model directory (e.g. the shipped ``sim-default``) instead of
training one, for when the images did not change.
The survey comes from the default simulator, whose photometry is mapped onto real SDSS
photometry (:mod:`astro_galflow.simulation.empirical`).

The test split (15 %, by hash of ``source_id``) is never seen by any stage; ``galflow
evaluate`` reports on it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from astropy.table import QTable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the studies folder: its _paths module
from _paths import SHIPPED_MODELS  # noqa: E402

__all__ = ["main"]

VAE_CHANNELS = (16, 32, 32)


def _log(message: str) -> None:
    print(f"[shipped {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _vae_subset(catalog: Path, rows: int) -> Path:
    subset = catalog.with_name("vae_subset.fits")
    if not subset.exists():
        table = QTable.read(catalog)
        table[:rows].write(subset)  # same meta, so it points at the same cutouts file
    return subset


def _vae_of_model(model_dir: Path, vae_dir: Path) -> Path:
    """A VAE directory (what ``train_vae`` writes) holding the frozen VAE of a shipped image model."""
    card = json.loads((model_dir / "card.json").read_text())
    image = card["architecture"]["image"]
    vae_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "vae.safetensors", vae_dir / "vae.safetensors")
    vae_card = {
        "architecture": {
            "n_bands": len(image["bands"]),
            "latent_dim": image["latent_dim"],
            "channels": image["channels"],
        },
        "image": {k: image[k] for k in ("bands", "pixel_scale_arcsec", "scaling")},
        "sha256": {"vae.safetensors": card["sha256"]["vae.safetensors"]},
        "origin": f"VAE of {model_dir}",
    }
    (vae_dir / "card.json").write_text(json.dumps(vae_card, indent=1) + "\n")
    return vae_dir


def _calibrate(model_dir: Path, catalog: Path, command: str) -> None:
    from astro_galflow.calibration import fit_calibration
    from astro_galflow.evaluation.evaluate import read_labelled_catalog
    from astro_galflow.model_card import write_calibration
    from astro_galflow.models import load_model

    model = load_model(model_dir)
    table, cutouts, index = read_labelled_catalog(catalog, model)
    provenance = {"catalog": str(catalog), "command": command}
    write_calibration(model_dir, fit_calibration(model, table, cutouts, index, split="val", provenance=provenance))


def main(argv=None) -> int:
    """Run the recipe; returns an exit code."""
    parser = argparse.ArgumentParser(prog="python studies/ship_sim_models.py", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="working folder (simulated survey, checkpoints)")
    parser.add_argument("--n", type=int, default=20000, help="simulated galaxies")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--vae-rows", type=int, default=9000, help="galaxies whose training split trains the VAE")
    parser.add_argument("--vae-epochs", type=int, default=12)
    parser.add_argument("--flow-epochs", type=int, default=120)
    parser.add_argument("--ensemble", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--install", action="store_true", help="copy the models into astro_galflow/data/models")
    parser.add_argument(
        "--models", default="sim-default,sim-photometry", help="comma-separated models to train (default: both)"
    )
    parser.add_argument("--vae-from", type=Path, help="reuse the VAE of this image-model directory (e.g. sim-default)")
    args = parser.parse_args(argv)

    import torch

    from astro_galflow.training.flow_stage import train_flows
    from astro_galflow.training.vae_stage import train_vae

    torch.set_num_threads(args.threads)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    catalog = work / "train.fits"
    command = " ".join(["python studies/ship_sim_models.py", *(argv if argv is not None else sys.argv[1:])])

    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(wanted) - {"sim-default", "sim-photometry"})
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from sim-default, sim-photometry")
    images = "sim-default" in wanted
    if not catalog.exists():
        _log(f"simulating {args.n} galaxies" + ("" if images else " (no cutouts)"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "astro_galflow",
                "simulate",
                str(catalog),
                "-n",
                str(args.n),
                "--seed",
                str(args.seed),
                *([] if images else ["--no-images"]),
            ],
            check=True,
        )
    vae_dir = work / "vae"
    if args.vae_from is not None and not (vae_dir / "card.json").exists():
        # Keep the shipped VAE when the images did not change, retraining only the heads.
        _vae_of_model(args.vae_from, vae_dir)
    if images and not (vae_dir / "card.json").exists():
        _log("training the VAE")
        train_vae(
            _vae_subset(catalog, args.vae_rows),
            vae_dir,
            epochs=args.vae_epochs,
            patience=3,
            seed=args.seed,
            channels=VAE_CHANNELS,
            resume=True,
            command=command,
            log=_log,
        )
    models = {
        name: extra
        for name, extra in (("sim-default", {"vae_dir": vae_dir}), ("sim-photometry", {"vae_dir": None}))
        if name in wanted
    }
    for name, extra in models.items():
        out = work / name
        if not (out / "card.json").exists():
            _log(f"training {name}")
            train_flows(
                catalog,
                out,
                ensemble=args.ensemble,
                epochs=args.flow_epochs,
                patience=12,
                seed=args.seed,
                name=name,
                resume=True,
                command=command,
                log=_log,
                **extra,
            )
        if "calibration" not in json.loads((out / "card.json").read_text()):
            _log(f"calibrating {name} on the validation split")
            _calibrate(out, catalog, command)
        if args.install:
            target = SHIPPED_MODELS / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(out, target, ignore=shutil.ignore_patterns("checkpoints"))
            _log(f"installed {name} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
