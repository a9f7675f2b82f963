"""The noise a row's posterior samples are drawn from: a function of the run seed and the row.

The seed rule: row ``i``'s standard-normal noise ``eps_i`` of shape ``(n_samples, D)`` comes
from a :class:`torch.Generator` seeded with the first 63 bits of
``blake2b(f"{seed}:{source_id_i}")``. It depends on nothing else -- not on the row's position,
the chunk or batch it is read in, the engine (memory, streaming, Dask), the number of
workers, nor on which other rows are inferred with it -- so every engine gives the same
posterior for the same row, and a resumed or re-partitioned run reproduces the rest.
Rows that share a ``source_id`` share their noise (identical inputs then give identical
posteriors).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["row_seeds", "row_noise"]

_MASK_63 = (1 << 63) - 1


def row_seeds(source_ids, seed: int) -> np.ndarray:
    """int64 seeds ``(n,)`` of the rows with ``source_ids`` under run seed ``seed``.

    Parameters
    ----------
    source_ids : array-like
        The rows' identifiers (any type; their ``str`` is hashed).
    seed : int
        The run seed.
    """
    prefix = f"{int(seed)}:".encode()
    out = np.empty(len(source_ids), dtype=np.int64)
    for i, source_id in enumerate(np.asarray(source_ids).tolist()):
        digest = hashlib.blake2b(prefix + str(source_id).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little") & _MASK_63
    return out


def row_noise(seeds: np.ndarray, n_samples: int, dim: int):
    """Standard-normal noise ``(n, n_samples, dim)`` float32 (a CPU torch tensor), one stream per row.

    Parameters
    ----------
    seeds : numpy.ndarray
        :func:`row_seeds` of the rows.
    n_samples, dim : int
        Samples per row and parameters per sample.
    """
    import torch

    out = torch.empty((len(seeds), n_samples, dim), dtype=torch.float32)
    generator = torch.Generator()
    for i, row_seed in enumerate(seeds.tolist()):
        generator.manual_seed(row_seed)
        torch.randn((n_samples, dim), generator=generator, out=out[i])
    return out
