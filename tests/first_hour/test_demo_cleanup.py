"""A failed or interrupted ``galflow demo`` leaves nothing half-written behind."""

from __future__ import annotations

import pytest

import astro_galflow.pipeline
from astro_galflow.cli import main


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_demo_removes_what_it_wrote(tmp_path, monkeypatch, capsys, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(astro_galflow.pipeline, "infer_table", fail)
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "-n", "3", "--n-samples", "8", "--backend", "eager"])
    assert code == (130 if isinstance(error, KeyboardInterrupt) else 1)
    assert not out.exists()
    err = capsys.readouterr().err
    assert "[1/4] simulating 3 galaxies" in err and "Traceback" not in err

    # into an existing folder: its other files stay, the demo's own are removed
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    main(["demo", "--out", str(out), "-n", "3", "--n-samples", "8", "--backend", "eager"])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
