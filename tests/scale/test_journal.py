"""The resume journal: atomic, keyed by input and configuration, exact tiling."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from astro_galflow.config import GalflowConfig
from astro_galflow.exceptions import InputError
from astro_galflow.scale.journal import JOURNAL_NAME, Journal, RunKey, file_identity, run_identity


def _key(tmp_path, **config):
    src = tmp_path / "in.parquet"
    if not src.exists():
        src.write_bytes(b"data")
    return RunKey(input=file_identity(src), config=run_identity(GalflowConfig(**config)), chunk_rows=100)


def test_record_survives_reopen(tmp_path):
    key = _key(tmp_path)
    journal = Journal.open(tmp_path / "parts", key, 250)
    journal.record(0, 0, 100, "part-0.parquet", 100)
    journal.record(2, 200, 250, "part-2.parquet", 50)
    again = Journal.open(tmp_path / "parts", key, 250)
    assert set(again.chunks) == {0, 2}
    assert again.rows_done == 150
    assert not again.is_complete()
    again.record(1, 100, 200, "part-1.parquet", 100)
    assert Journal.open(tmp_path / "parts", key, 250).is_complete()


def test_leftover_temporary_file_does_not_matter(tmp_path):
    key = _key(tmp_path)
    journal = Journal.open(tmp_path / "parts", key, 100)
    journal.record(0, 0, 100, "p", 100)
    # A run killed while writing leaves a torn temporary file next to the journal.
    (tmp_path / "parts" / (JOURNAL_NAME + ".tmp")).write_text('{"chunks": {')
    assert Journal.open(tmp_path / "parts", key, 100).is_complete()


@pytest.mark.parametrize("change", ["seed", "input"])
def test_other_run_is_refused_naming_the_difference(tmp_path, change):
    Journal.open(tmp_path / "parts", _key(tmp_path), 100).save()
    if change == "seed":
        other = _key(tmp_path, seed=7)
    else:
        (tmp_path / "in.parquet").write_bytes(b"other data")
        other = _key(tmp_path)
    with pytest.raises(InputError, match=f"different {'--seed' if change == 'seed' else 'input catalog'}"):
        Journal.open(tmp_path / "parts", other, 100)


def test_recorded_command_line_is_not_part_of_the_key(tmp_path):
    a = _key(tmp_path, command="galflow infer a b")
    b = _key(tmp_path, command="galflow infer a b --resume")
    assert a.digest == b.digest
    assert a.digest != _key(tmp_path, compact_pdf={"kind": "quantiles"}).digest


def test_unreadable_journal_is_named(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / JOURNAL_NAME).write_text("{not json")
    with pytest.raises(InputError, match="journal.*unreadable"):
        Journal.open(tmp_path / "parts", _key(tmp_path), 10)


@given(sizes=st.lists(st.integers(1, 20), min_size=1, max_size=12), drop=st.integers(0, 20), data=st.data())
def test_complete_exactly_when_chunks_tile_the_rows(tmp_path_factory, sizes, drop, data):
    tmp = tmp_path_factory.mktemp("j")
    key = RunKey(input={"path": "x"}, config={}, chunk_rows=1)
    journal = Journal(tmp, key, sum(sizes))
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    order = data.draw(st.permutations(range(len(sizes))))
    for k in order:
        journal.chunks[k] = {"start": starts[k], "stop": starts[k] + sizes[k], "part": "p", "n_rows": sizes[k]}
    assert journal.is_complete()
    if drop < len(sizes):
        del journal.chunks[drop]
        assert not journal.is_complete()
    journal.save()
    assert json.loads(journal.path.read_text())["n_rows"] == sum(sizes)
