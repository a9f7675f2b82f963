import pytest

from astro_galflow.registry import Registry, RegistryError
from astro_galflow.sources.base import DataSource


class _Good(DataSource):
    name = "good"
    survey = "test"


def test_add_get_and_duplicates_name_both_plugins():
    reg = Registry("source", DataSource, ("name", "survey"))
    with reg.registering_for("first"):
        reg.add(_Good)
    assert reg.get("good") is _Good and "good" in reg and len(reg) == 1

    class Again(DataSource):
        name = "good"
        survey = "other"

    with (
        reg.registering_for("second"),
        pytest.raises(RegistryError, match=r"registered twice: by plugin 'first'.*by plugin 'second'"),
    ):
        reg.add(Again)
    assert reg.entry("good").plugin == "first"


def test_rejects_non_subclass_missing_attribute_and_bad_name():
    reg = Registry("source", DataSource, ("name", "survey"))
    with pytest.raises(RegistryError, match="not a subclass"):
        reg.add(int)

    class NoSurvey(DataSource):
        name = "nosurvey"

    with pytest.raises(RegistryError, match="'survey'"):
        reg.add(NoSurvey)

    class BadName(DataSource):
        name = "Bad Name"
        survey = "x"

    with pytest.raises(RegistryError, match="lower-case"):
        reg.add(BadName)


def test_unknown_name_lists_known():
    reg = Registry("head", object)
    with pytest.raises(RegistryError, match="no head named 'x'; registered: none"):
        reg.get("x")
