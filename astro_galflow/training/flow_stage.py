"""The flow stage of ``galflow train``: heads on [VAE latents +] photometry, saved as a model.

Rows are split by :func:`~astro_galflow.training.data.split_of`; the validation rows
drive early stopping, the test rows are never touched. Each of the ``K`` ensemble
members is trained independently from seed ``seed + k``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from astro_galflow.exceptions import InputError
from astro_galflow.inputs import SDSS_BANDS
from astro_galflow.model_card import CARD_FORMAT, DEFAULT_BACKENDS, write_card
from astro_galflow.models import load_model
from astro_galflow.noise import row_seeds
from astro_galflow.params import PARAMETERS
from astro_galflow.training.data import SPLIT_FRACTIONS, SPLIT_METHOD, detectable_of, labels_of, read_catalog, split_of
from astro_galflow.training.features import catalog_features
from astro_galflow.training.standardise import column_stats

__all__ = ["train_flows", "DEFAULT_ARCHITECTURE"]

#: Architecture of the paper (context 256, 12 couplings) with our flow network width.
DEFAULT_ARCHITECTURE = {"context_dim": 256, "n_couplings": 12, "flow_hidden": 64, "scalar_layers": 2}


def _default_parameters(table) -> tuple[str, ...]:
    present = [p for p in PARAMETERS if p in table.colnames]
    if not present:
        raise InputError(f"training catalog has no label column; expected some of {', '.join(PARAMETERS)}")
    return tuple(present)


def _load_vae(vae_dir):
    from astro_galflow.encoders.vae import ImageVAE
    from astro_galflow.model_card import load_weights

    vae_dir = Path(vae_dir)
    card_path = vae_dir / "card.json"
    if not card_path.exists():
        raise InputError(f"VAE directory {os.fspath(vae_dir)!r} has no card.json (run `galflow train vae` first)")
    card = json.loads(card_path.read_text())
    arch = card["architecture"]
    vae = ImageVAE(arch["n_bands"], arch["latent_dim"], tuple(arch["channels"]))
    load_weights(vae, vae_dir / "vae.safetensors", card["sha256"]["vae.safetensors"])
    return vae.eval().requires_grad_(False), card


def train_flows(
    catalog_path,
    out,
    *,
    vae_dir=None,
    parameters=None,
    head: str = "flow",
    ensemble: int = 1,
    epochs: int = 200,
    patience: int = 15,
    seed: int = 0,
    resume: bool = False,
    batch_size: int = 256,
    lr: float = 1e-3,
    with_errors: bool = False,
    name: str | None = None,
    architecture: dict | None = None,
    command: str = "",
    log=None,
) -> dict:
    """Train the heads and write a model directory ``out``; return its card.

    Parameters
    ----------
    catalog_path : path
        Training catalog (input convention + label columns).
    out : path
        Model directory to write (``card.json``, ``member_<k>.safetensors``, ``vae.safetensors``).
    vae_dir : path, optional
        Trained VAE (``galflow train vae``); None trains a photometry-only model.
    parameters : sequence of str, optional
        Parameters to infer; default every parameter with a label column.
    head : {"flow", "gaussian"}
        The paper's flows or the Gaussian baseline.
    ensemble : int
        Number of independently trained members.
    resume : bool
        Continue interrupted members from their checkpoints in ``out/checkpoints``.

    Returns
    -------
    dict
        The model card.
    """
    import torch

    from astro_galflow.encoders.vae import ImageVAE
    from astro_galflow.heads.network import (
        JointNetwork,
        JointSampler,
        default_head_classes,
        head_slots,
        ordered_parameters,
    )
    from astro_galflow.model_card import save_weights
    from astro_galflow.training.checkpoints import Checkpoint
    from astro_galflow.training.loop import fit

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arch = {**DEFAULT_ARCHITECTURE, **(architecture or {})}
    table = read_catalog(catalog_path)
    bands = tuple(table.meta.get("bands", SDSS_BANDS))
    params = ordered_parameters(parameters) if parameters else _default_parameters(table)
    if ensemble < 1:
        raise ValueError(f"ensemble must be >= 1, got {ensemble}")

    vae, vae_card = _load_vae(vae_dir) if vae_dir is not None else (None, None)
    features, feature_names = catalog_features(
        table, catalog_path, bands=bands, with_errors=with_errors, vae=vae, log=log
    )
    labels = labels_of(table, params)
    detectable = detectable_of(table)
    split = split_of(table)
    usable = np.isfinite(features).all(axis=1) & np.isfinite(labels).any(axis=1)
    train_rows = np.flatnonzero(usable & (split == "train"))
    val_rows = np.flatnonzero(usable & (split == "val"))
    if len(train_rows) < 2 or len(val_rows) < 1:
        raise InputError(
            f"catalog {os.fspath(catalog_path)!r}: {len(train_rows)} usable training and {len(val_rows)} validation "
            "rows; need at least 2 and 1 (rows need finite features and at least one label)"
        )
    fstats, tstats = column_stats(features[train_rows]), column_stats(labels[train_rows])
    x_all = ((features - np.array(fstats["mean"])) / np.array(fstats["std"])).astype(np.float32)
    y_all = ((labels - np.array(tstats["mean"])) / np.array(tstats["std"])).astype(np.float32)
    det_all = detectable.astype(np.float32)
    log(
        f"{len(train_rows)} training / {len(val_rows)} validation rows, {len(feature_names)} features, "
        f"parameters {', '.join(params)}, head {head}, {ensemble} member(s)"
    )

    members, fits = [], []
    for k in range(ensemble):
        torch.manual_seed(seed + k)
        network = JointNetwork(len(feature_names), params, head, **arch)
        sampler = JointSampler(network, fstats["mean"], fstats["std"], tstats["mean"], tstats["std"])
        optimizer = torch.optim.Adam(network.parameters(), lr=lr)

        def batches(rows, shuffle_seed=None):
            if shuffle_seed is not None:
                rows = np.random.default_rng(shuffle_seed).permutation(rows)
            for start in range(0, len(rows), batch_size):
                idx = rows[start : start + batch_size]
                yield torch.from_numpy(x_all[idx]), torch.from_numpy(y_all[idx]), torch.from_numpy(det_all[idx])

        def train_epoch(epoch, network=network, optimizer=optimizer, k=k):
            total, count = 0.0, 0
            for x, y, det in batches(train_rows, shuffle_seed=[seed, k, epoch]):
                loss = network.loss(x, y, det)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), 5.0)
                optimizer.step()
                total, count = total + loss.item() * len(x), count + len(x)
            return total / count

        def validate(network=network):
            total = 0.0
            for x, y, det in batches(val_rows):
                total += float(network.loss(x, y, det)) * len(x)
            return total / len(val_rows)

        result = fit(
            sampler,
            optimizer,
            train_epoch,
            validate,
            Checkpoint(out / "checkpoints" / f"member_{k}"),
            epochs=epochs,
            patience=patience,
            resume=resume,
            label=f"[member {k + 1}/{ensemble}] ",
            log=log,
        )
        fits.append(result)
        members.append(sampler)

    weights = {
        f"member_{k}.safetensors": save_weights(m, out / f"member_{k}.safetensors") for k, m in enumerate(members)
    }
    image = None
    if vae is not None:
        shutil.copyfile(Path(vae_dir) / "vae.safetensors", out / "vae.safetensors")
        weights["vae.safetensors"] = vae_card["sha256"]["vae.safetensors"]
        image = {
            "bands": vae_card["image"]["bands"],
            "pixel_scale_arcsec": vae_card["image"]["pixel_scale_arcsec"],
            "scaling": vae_card["image"]["scaling"],
            "latent_dim": vae.latent_dim,
            "channels": list(vae.channels),
        }
    card = {
        "format": CARD_FORMAT,
        "name": name or out.name,
        "architecture": {
            "head": head,
            # the registered names the model is built from (astro_galflow.model_card)
            "encoder": None if vae is None else ImageVAE.name,
            "heads": {slot: cls.name for slot, cls in default_head_classes(head_slots(params, head)).items()},
            "backends": list(DEFAULT_BACKENDS),
            "parameters": list(params),
            "ensemble": ensemble,
            "photometry_bands": list(bands),
            "with_errors": with_errors,
            "image": image,
            **arch,
        },
        "features": {"names": feature_names, **fstats},
        "targets": {
            "names": list(params),
            "space": {p: PARAMETERS[p].transform for p in params},
            **tstats,
        },
        "sha256": weights,
        "data": {
            "catalog": os.fspath(catalog_path),
            "n_rows": len(table),
            "n_train": int(len(train_rows)),
            "n_val": int(len(val_rows)),
            "n_test": int(np.sum(usable & (split == "test"))),
            "split": {"method": SPLIT_METHOD, "fractions": list(SPLIT_FRACTIONS)},
            "vae": None if vae_card is None else {"directory": os.fspath(vae_dir), "data": vae_card.get("data")},
        },
        "metrics": {"members": fits},
        "training": {
            "command": command,
            "seed": seed,
            "epochs": epochs,
            "patience": patience,
            "batch_size": batch_size,
            "learning_rate": lr,
            "optimizer": "Adam",
            "torch_version": torch.__version__,
        },
    }
    # issue 15: the density check of the training features, threshold at 1 % of the val rows
    card["domain"] = _domain_entry(features[train_rows], features[val_rows], seed=seed, catalog=catalog_path, log=log)
    write_card(out, card)
    card["metrics"]["validation"] = _validation_metrics(out, features[val_rows], labels[val_rows], params)
    card["training"]["wall_time_s"] = round(time.perf_counter() - t_start, 1)
    write_card(out, card)
    log(f"model written to {os.fspath(out)} in {card['training']['wall_time_s']} s")
    return card


def _domain_entry(train_features, val_features, *, seed: int, catalog, log):
    """The card's ``"domain"`` entry (:mod:`astro_galflow.domain`); None with too few rows to fit one."""
    from astro_galflow.domain import fit_domain_check

    try:
        check = fit_domain_check(
            train_features,
            val_features,
            seed=seed,
            fitted_on={"catalog": os.fspath(catalog), "split": "train (fit), val (threshold)"},
        )
    except ValueError as exc:
        log(f"no domain check in the card: {exc}")
        return None
    return check.to_card()


def _validation_metrics(out, features, labels, params, n_samples: int = 200) -> dict:
    """R² of the posterior mean and 68 %/95 % central-interval coverage, in model space.

    The model is read back from ``out``, so the metrics also check the saved bundle.
    """
    seeds = row_seeds(np.arange(len(features)), 12345)
    samples, _ = load_model(out).model_space_samples(features, n_samples=n_samples, seeds=seeds)
    metrics = {}
    for k, p in enumerate(params):
        truth = labels[:, k]
        ok = np.isfinite(truth)
        if ok.sum() < 2:
            continue
        s = samples[ok, :, k]
        t = truth[ok]
        mean = s.mean(axis=1)
        r2 = 1.0 - np.sum((mean - t) ** 2) / np.sum((t - t.mean()) ** 2)
        lo68, hi68 = np.percentile(s, [16, 84], axis=1)
        lo95, hi95 = np.percentile(s, [2.5, 97.5], axis=1)
        metrics[p] = {
            "n": int(ok.sum()),
            "r2": float(r2),
            "rmse": float(np.sqrt(np.mean((mean - t) ** 2))),
            "coverage_68": float(np.mean((t >= lo68) & (t <= hi68))),
            "coverage_95": float(np.mean((t >= lo95) & (t <= hi95))),
        }
    return metrics
