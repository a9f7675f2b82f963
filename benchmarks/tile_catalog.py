"""Grow a catalog to N rows by repeating it with fresh ``source_id``s and magnitudes redrawn within their errors.

For machines that cannot run the simulator (the GPU machine has no GalSim and its SED
files): a small simulated catalog travels there and becomes a large one with the same
photometry distribution, so the rows stay inside the shipped models' training domain.

    python benchmarks/tile_catalog.py small.parquet big.parquet --rows 1000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.table import QTable


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = QTable.read(args.input)
    rng = np.random.default_rng(args.seed)
    index = np.resize(np.arange(len(table)), args.rows)
    out = table[index]
    out["source_id"] = np.arange(1, args.rows + 1, dtype=np.int64)
    for name in [c for c in out.colnames if c.startswith("mag_")]:
        error = out[f"magerr_{name[4:]}"]
        out[name] = out[name] + rng.normal(0.0, 1.0, args.rows) * error
    out.write(args.output, overwrite=True)
    print(f"wrote {args.rows} rows to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
