"""Every input has a domain: checked by walking the scenario schema, so a field added later is covered too.

The rules (issue 11): finite bounds on every number, NaN and inf refused everywhere, "no limit"
spelled as null/unlimited, booleans are not numbers and numbers are not booleans, no ``Any``,
every text field has a maximum length, and error messages quote at most a short prefix.
"""
import math
import re
import types
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from simulator.common.section import Section
from simulator.mechanisms.cost import InstanceType
from simulator.ml.model import ModelConfig
from simulator.scenario.config import Scenario, ScenarioError, parse_scenario, with_overrides

# compound fields whose element ranges are enforced by their section's validator (tested below)
VALIDATED_ELEMENTS = {"traffic.profile_points", "traffic.segments", "traffic.regions", "population.groups",
                      "population.income_multipliers", "population.history_shift_years", "review.shifts",
                      "compare_overrides", "period.without_incident", "skew.features", "canary.step_weights"}


def _members(ann):
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(ann) if a is not type(None)]
    return [ann]


def _section_of(ann):
    for m in _members(ann):
        if isinstance(m, type) and issubclass(m, BaseModel):
            return m
        args = typing.get_args(m)
        if typing.get_origin(m) is tuple and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def leaves(model=Scenario, prefix=""):
    """(path, FieldInfo, owning section) of every plain field, including those of list items."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        sub = _section_of(info.annotation)
        if sub is not None:
            if typing.get_origin(info.annotation) is tuple:
                yield path, info, model  # the list itself has a length bound
                yield from leaves(sub, f"{path}.0.")
            else:
                yield from leaves(sub, f"{path}.")
        else:
            yield path, info, model


ALL = list(leaves()) + [(f"ModelConfig.{n}", i, ModelConfig) for n, i in ModelConfig.model_fields.items()] + \
    [(f"InstanceType.{n}", i, InstanceType) for n, i in InstanceType.model_fields.items()]


def _bounds(info):
    lo = hi = None
    for m in info.metadata:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                lo = getattr(m, attr)
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                hi = getattr(m, attr)
    max_length = next((m.max_length for m in info.metadata if getattr(m, "max_length", None) is not None), None)
    pattern = next((m.pattern for m in info.metadata if getattr(m, "pattern", None)), None)
    if max_length is None and pattern and re.search(r"\{\d*,?\d+\}\$$", pattern):  # e.g. ^[a-z]{0,39}$
        max_length = int(re.search(r"(\d+)\}\$$", pattern).group(1)) + 1
    return lo, hi, max_length


def _element_bounded(ann) -> bool:
    """A tuple of texts whose every element has a length bound (Annotated str with max_length/pattern)."""
    args = typing.get_args(ann)
    if typing.get_origin(ann) is not tuple or not args:
        return False
    meta = getattr(args[0], "__metadata__", ())
    return any(getattr(m, "max_length", None) or getattr(m, "pattern", None) for m in meta)


def _kind(info):
    types_ = _members(info.annotation)
    if all(t in (int, float) for t in types_):
        return "number"
    if types_ == [bool]:
        return "bool"
    if types_ == [str]:
        return "text"
    if typing.get_origin(types_[0]) is Literal:
        return "choice"
    return "compound"


def _of_kind(*kinds):
    return [a for a in ALL if _kind(a[1]) in kinds]


def _ids(items):
    return [path for path, _, _ in items]


def test_the_walk_sees_every_section():
    """Sanity check of the walk itself: nested sections and list items are reached."""
    paths = {p for p, _, _ in ALL}
    for expected in ("autoscaler.sync_period_s", "traffic.spikes.0.multiplier", "faults.inference.0.replicas",
                     "drift.covariate.0.multiplier", "external_api.breaker.wait_duration_in_open_state_ms"):
        assert expected in paths
    assert len(paths) > 200


@pytest.mark.parametrize("path, info, owner", _of_kind("number"), ids=_ids(_of_kind("number")))
def test_every_number_has_finite_bounds(path, info, owner):
    lo, hi, _ = _bounds(info)
    assert lo is not None and hi is not None, f"{path} needs a lower and an upper bound"
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi


@pytest.mark.parametrize("path, info, owner", _of_kind("text", "compound"), ids=_ids(_of_kind("text", "compound")))
def test_every_text_and_list_has_a_maximum_length(path, info, owner):
    _, _, max_length = _bounds(info)
    assert max_length is not None or path.endswith("instance_type"), f"{path} needs a max_length"


@pytest.mark.parametrize("path, info, owner", _of_kind("compound"), ids=_ids(_of_kind("compound")))
def test_compound_fields_are_sections_or_validated(path, info, owner):
    """A list or mapping of plain values has its element ranges checked by its section's validator."""
    assert (_section_of(info.annotation) is not None or _element_bounded(info.annotation)
            or path in VALIDATED_ELEMENTS or path.endswith(".canary.step_weights")), path


def test_no_any_anywhere():
    def has_any(ann) -> bool:
        return ann is Any or any(has_any(a) for a in typing.get_args(ann))

    assert not [p for p, info, _ in ALL if has_any(info.annotation)]


def _scenario_paths(kind):
    return [p for p, info, _ in leaves() if _kind(info) == kind and ".0." not in p]


@pytest.mark.parametrize("path", _scenario_paths("number"))
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, True, False])
def test_inf_nan_and_booleans_are_refused_by_every_number(path, bad):
    """Each is refused with a line that starts with the field's path (never read as a number)."""
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), {path: bad})
    assert any(line.startswith(f"{path}:") for line in err.value.lines), err.value.lines


@pytest.mark.parametrize("path", _scenario_paths("bool"))
@pytest.mark.parametrize("bad", [0, 1, 2.5, "maybe"])
def test_numbers_are_not_booleans(path, bad):
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), {path: bad})
    assert any(line.startswith(f"{path}:") for line in err.value.lines), err.value.lines


@pytest.mark.parametrize("path", ["traffic.segments", "traffic.regions", "population.income_multipliers"])
def test_inf_and_nan_are_refused_inside_mappings(path):
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), {path: {"north": math.inf}})
    assert path in err.value.lines[0]


@pytest.mark.parametrize("override, field", [
    ({"traffic.profile_points": [[0, 1], [10, math.nan]]}, "traffic.profile_points"),
    ({"traffic.profile_points": [[0, 1], [10, 1e9]]}, "profile_points"),
    ({"traffic.segments": {"a": 1e12}}, "segments"),
    ({"traffic.regions": {"x" * 200: 1.0}}, "regions"),
    ({"review.shifts": [[0, 24, 10**9]]}, "shifts"),
    ({"population.history_shift_years": {"north": 1e6}}, "history"),
])
def test_validated_elements_have_ranges(override, field):
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), override)
    assert field in " ".join(err.value.lines)


@pytest.mark.parametrize("word", ["unlimited", "none", "null", "None", None])
def test_no_limit_is_spelled_not_infinite(word):
    """inference.queue_limit documents 'no limit': written as null/none/unlimited, never inf."""
    assert with_overrides(Scenario(), {"inference.queue_limit": word}).inference.queue_limit is None
    with pytest.raises(ScenarioError):
        with_overrides(Scenario(), {"inference.queue_limit": math.inf})


def test_error_lines_quote_only_a_short_prefix():
    """A megabyte of text in a field gives an error line of normal length."""
    with pytest.raises(ScenarioError) as err:
        parse_scenario({"name": "x" * 1_000_000, "inference": {"precision": "y" * 1_000_000}})
    assert len(err.value.lines) == 2 and all(len(line) < 300 for line in err.value.lines)


def test_sections_inherit_the_rules():
    """A section written later gets the same rules without doing anything."""
    from pydantic import Field

    class Later(Section):
        period_s: float = Field(1.0, ge=1, le=10)
        on: bool = False

    for bad in ({"period_s": math.inf}, {"period_s": True}, {"on": 1}, {"unknown": 1}):
        with pytest.raises(Exception):  # noqa: B017 (pydantic's ValidationError)
            Later.model_validate(bad)


@pytest.mark.parametrize("overrides, field", [
    ({"compare_overrides": {"nope.x": 1}}, "compare_overrides"),
    ({"compare_overrides": {"inference.replicas": [1, 2]}}, "compare_overrides"),
    ({"compare_overrides": {"traffic.spikes": [{}] * 2000}}, "compare_overrides"),
    ({"compare_overrides": {"inference.precision": "fp64"}}, "compare_overrides"),
])
def test_comparison_overrides_are_small_and_valid(overrides, field):
    """compare_overrides holds small values for real fields, each valid where it lands."""
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), overrides)
    assert err.value.lines[0].startswith(field) and len(err.value.lines) == 1


@pytest.mark.parametrize("path", ["/etc/hosts", "data/x.csv", "C:\\\\data\\\\x.csv"])
def test_local_replay_paths_are_accepted_by_the_model(path):
    assert with_overrides(Scenario(), {"traffic.replay_csv": path}).traffic.replay_csv == path


@pytest.mark.parametrize("url", ["http://127.0.0.1/x.csv", "https://example.org/x.csv", "s3://bucket/x.csv",
                                 "file:///etc/hosts", "ftp://h/x", "simplecache::s3://b/x", "\\\\\\\\server\\\\share\\\\x.csv",
                                 "gcs://b/x", "data:text/csv,1"])
def test_replay_urls_are_refused_by_the_model(url):
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), {"traffic.replay_csv": url})
    assert err.value.lines[0].startswith("traffic.replay_csv:") and "URL" in err.value.lines[0]
