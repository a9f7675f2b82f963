"""The epoch loop shared by the VAE and flow stages: validation, early stopping, resume."""

from __future__ import annotations

import math
import sys
import time

import torch

from astro_galflow.training.checkpoints import Checkpoint

__all__ = ["Heartbeat", "fit"]


class Heartbeat:
    """Log how far a long pass has got, at most every ``every`` seconds, so no minute is silent.

    Parameters
    ----------
    log : callable
        Receives the progress lines.
    what : str
        Prefix of each line, e.g. ``"[vae] epoch 3 train"``.
    total : int
        Items in the pass (e.g. cutouts).
    every : float
        Seconds between lines; the first comes after ``every`` seconds, so short passes print nothing.
    """

    def __init__(self, log, what: str, total: int, *, every: float = 10.0):
        self.log, self.what, self.total, self.every = log, what, total, every
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def update(self, n: int) -> None:
        """Count ``n`` more items done; log a line when ``every`` seconds have passed since the last."""
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self.log(
                f"{self.what}: {self.done:,}/{self.total:,} ({100 * self.done / max(self.total, 1):.0f} %), {now - self.t0:.0f} s"
            )


def fit(
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    train_epoch,
    validate,
    checkpoint: Checkpoint,
    *,
    epochs: int,
    patience: int,
    resume: bool = False,
    label: str = "",
    log=None,
) -> dict:
    """Train until ``epochs`` or until validation stops improving for ``patience`` epochs.

    Parameters
    ----------
    train_epoch : callable
        ``train_epoch(epoch) -> mean training loss``; shuffles with a seed derived from
        ``epoch`` so a resumed run repeats the same batches.
    validate : callable
        ``validate() -> validation loss``.
    checkpoint : Checkpoint
        Written after every epoch; the best weights are loaded into ``module`` at the end.
    resume : bool
        Continue from ``checkpoint`` if it exists.
    log : callable, optional
        Receives one progress line per epoch (default: print to standard error).

    Returns
    -------
    dict
        ``epochs_run``, ``best_epoch``, ``best_val_loss``, ``stopped_early``, ``history``.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    state = {"epoch": -1, "best_val_loss": math.inf, "best_epoch": -1, "bad_epochs": 0, "history": []}
    if resume and checkpoint.exists():
        state = checkpoint.load(module, optimizer)
        log(f"{label}resuming after epoch {state['epoch'] + 1}")
    # Keras semantics: stop once ``patience`` epochs (at least one) brought no improvement.
    limit = max(patience, 1)
    stopped = state["bad_epochs"] >= limit
    for epoch in range(state["epoch"] + 1, epochs):
        if stopped:
            break
        t0 = time.perf_counter()
        module.train()
        train_loss = float(train_epoch(epoch))
        module.eval()
        with torch.no_grad():
            val_loss = float(validate())
        improved = val_loss < state["best_val_loss"]
        if improved:
            state.update(best_val_loss=val_loss, best_epoch=epoch, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        state["history"].append(
            {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "seconds": time.perf_counter() - t0}
        )
        checkpoint.save(module, optimizer, state, best=improved)
        log(
            f"{label}epoch {epoch + 1}/{epochs}  train {train_loss:.4f}  val {val_loss:.4f}"
            f"{'  *' if improved else ''}  {time.perf_counter() - t0:.1f} s"
        )
        stopped = state["bad_epochs"] >= limit
    if not checkpoint.exists():
        raise RuntimeError(f"{label}no epoch was trained (epochs={epochs})")
    checkpoint.load_best(module)
    module.eval()
    return {
        "epochs_run": state["epoch"] + 1,
        "best_epoch": state["best_epoch"] + 1,
        "best_val_loss": state["best_val_loss"],
        "stopped_early": bool(stopped and state["epoch"] + 1 < epochs),
        "history": state["history"],
    }
