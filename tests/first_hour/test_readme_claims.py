"""The numbers the README quotes agree with the committed result files they come from.

Each quoted number carries an HTML comment, invisible on GitHub, naming its source::

    280<!-- claim: benchmarks/results/cpu_interleaved.json interleaved[mode=pipeline,batch=256].galaxies_per_s.onnxruntime -->

i.e. ``NUMBER<!-- claim: FILE KEY [xSCALE] -->``: FILE relative to the repository root, KEY a
dotted path into its JSON where ``name[k=v,...]`` picks the element of the list ``name``
whose fields match and ``name[i]`` the i-th, and ``xSCALE`` multiplies the stored value
(``x100`` for a fraction quoted in per cent). The quoted number must equal the stored value
rounded to the quoted precision (its decimals, or its trailing zeros: ``41,000`` is
41,000 +- 500). A number followed by "galaxies/s" must carry a claim.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
CLAIM = re.compile(
    rf"(?P<number>{_NUMBER})<!--\s*claim:\s*(?P<file>\S+)\s+(?P<key>\S+)(?:\s+x(?P<scale>[0-9.eE+-]+))?\s*-->"
)
_SELECTOR = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<select>[^\]]*)\])?$")


def lookup(data, key: str):
    """The value at the dotted ``key`` of ``data`` (see the module docstring for the syntax)."""
    value = data
    for part in key.split("."):
        match = _SELECTOR.match(part)
        if match is None:
            raise KeyError(f"bad key segment {part!r}")
        value = value[match["name"]]
        select = match["select"]
        if select is None:
            continue
        if select.isdigit():
            value = value[int(select)]
            continue
        wanted = dict(item.split("=", 1) for item in select.split(","))
        hits = [v for v in value if all(str(v.get(k)) == w for k, w in wanted.items())]
        if len(hits) != 1:
            raise KeyError(f"{part!r} matches {len(hits)} elements, not one")
        value = hits[0]
    return value


def tolerance(quoted: str) -> float:
    """Half a unit of the last significant digit of ``quoted`` (``"0.919"`` -> 5e-4, ``"41,000"`` -> 500)."""
    digits = quoted.replace(",", "")
    if "." in digits:
        return 0.5 * 10.0 ** -len(digits.split(".")[1])
    return 0.5 * 10.0 ** (len(digits) - len(digits.rstrip("0")))


def claims(text: str):
    return [m.groupdict() | {"line": text.count("\n", 0, m.start()) + 1} for m in CLAIM.finditer(text)]


def test_the_checker_catches_a_wrong_number(tmp_path):
    data = {"runs": [{"mode": "flow", "batch": 16, "rate": 521.44}, {"mode": "pipeline", "batch": 16, "rate": 219.5}]}
    assert lookup(data, "runs[mode=pipeline,batch=16].rate") == 219.5
    assert lookup(data, "runs[0].rate") == 521.44
    assert tolerance("521") == 0.5 and tolerance("41,000") == 500 and tolerance("0.0099") == 5e-5
    (found,) = claims("about 220<!-- claim: x.json runs[mode=pipeline,batch=16].rate --> galaxies/s")
    assert found["number"] == "220" and found["key"] == "runs[mode=pipeline,batch=16].rate"
    assert abs(220 - 219.5) <= tolerance("220")
    assert abs(230 - 219.5) > tolerance("230")  # a stale number fails


@pytest.mark.parametrize("claim", claims(README.read_text(encoding="utf-8")), ids=lambda c: f"README:{c['line']}")
def test_readme_number_matches_its_source(claim):
    path = ROOT / claim["file"]
    assert path.is_file(), f"README line {claim['line']}: source {claim['file']} does not exist"
    value = float(lookup(json.loads(path.read_text()), claim["key"])) * float(claim["scale"] or 1)
    quoted = float(claim["number"].replace(",", ""))
    assert abs(quoted - value) <= tolerance(claim["number"]) * (1 + 1e-9), (
        f"README line {claim['line']} quotes {claim['number']} but {claim['file']} {claim['key']} is {value:.6g}"
    )


def test_readme_speed_numbers_name_their_source():
    text = README.read_text(encoding="utf-8")
    assert len(claims(text)) >= 5
    # "NUMBER galaxies/s" with nothing between: a speed quoted without its source.
    assert re.findall(rf"(?<![\w.,]){_NUMBER} galaxies/s", text) == []


def test_ci_runs_exactly_the_readme_test_command():
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0].strip() for part in quick_start.split("```bash")[1:]]
    assert blocks == ["tools/run demo", "tools/run test"]  # the two commands, one block each
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert [line for line in ci if line and not line.startswith("#")] == [blocks[1]]
