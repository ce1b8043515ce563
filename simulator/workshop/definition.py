"""Workshop files: a validated sequence of acts, each a bundled scenario (plus overrides) and a question.

A workshop is a YAML file in ``workshops/`` (``PIPELINE_TWIN_WORKSHOPS`` names another folder). Every
act names a bundled scenario, optional dotted overrides (as ``--set``), the question put to the room
and how the simulation answers it: a numeric ``measure`` of the run's summary (``requests.failed``),
optionally scaled (a fraction times 100 is a percentage) and optionally as the difference against a
second run of the same scenario with ``versus`` overrides. A multiple-choice question sorts that
number into bins (``min`` inclusive, ``max`` exclusive) or matches a text field (``canary.outcome``)
with ``equals``. Problems are reported one line each, naming the field.
"""
from __future__ import annotations

import os
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.common.safe_yaml import MAX_YAML_BYTES, YamlError, load_yaml
from simulator.report.summary_model import Summary
from simulator.scenario.config import Scenario, ScenarioError, load_scenario, read_regular_file, with_overrides

WORKSHOPS_ENV = "PIPELINE_TWIN_WORKSHOPS"
WORKSHOP_DIR = Path(__file__).resolve().parents[2] / "workshops"
TEXT = 600          # characters in a question, a set-up or a prompt
LABEL = 120         # characters in a title or a choice


class WorkshopError(ValueError):
    """An invalid workshop; ``lines`` holds one readable line per problem."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Part):
    """One option of a multiple-choice question: a range of the measure, or a text value of it."""

    label: str = Field(min_length=1, max_length=LABEL)
    min: float | None = Field(None, allow_inf_nan=False, description="inclusive lower bound")
    max: float | None = Field(None, allow_inf_nan=False, description="exclusive upper bound")
    equals: str | None = Field(None, min_length=1, max_length=LABEL, description="a text value of the measure")

    @model_validator(mode="after")
    def _one_kind(self) -> Choice:
        if self.equals is not None and (self.min is not None or self.max is not None):
            raise ValueError("a choice has either equals or a range (min/max), not both")
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError("a choice needs equals or at least one of min and max")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self

    def holds(self, value: float | str) -> bool:
        if self.equals is not None:
            return isinstance(value, str) and value == self.equals
        if isinstance(value, str):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value < self.max)


class Answer(_Part):
    """How the simulation answers the question, and how guesses are taken."""

    kind: Literal["number", "choice"]
    measure: str = Field(min_length=1, max_length=200, description="dotted field of the run's summary")
    scale: float = Field(1.0, allow_inf_nan=False, description="the measure is multiplied by this (100: a percentage)")
    versus: dict[str, Any] | None = Field(None, description="overrides of a second run; the answer is the difference")
    unit: str = Field("", max_length=40)
    decimals: int = Field(0, ge=0, le=4)
    close_within: float | None = Field(None, ge=0, allow_inf_nan=False,
                                       description="a guess this near the answer counts as close (its unit)")
    guess_min: float = Field(0.0, allow_inf_nan=False)
    guess_max: float = Field(1e9, allow_inf_nan=False)
    choices: list[Choice] = Field(default_factory=list, max_length=6)

    @model_validator(mode="after")
    def _consistent(self) -> Answer:
        kind = measure_kind(self.measure)
        if kind is None:
            raise ValueError(f"measure: '{self.measure}' is not a field of the run's summary (e.g. requests.failed, "
                             f"latency_ms.p99, canary.outcome)")
        if self.guess_min >= self.guess_max:
            raise ValueError("guess_min must be below guess_max")
        if self.kind == "number":
            if self.choices:
                raise ValueError("choices: only a choice question has choices")
            if kind != "number":
                raise ValueError(f"measure: '{self.measure}' is text; a number question needs a numeric field")
            return self
        if not 2 <= len(self.choices) <= 6:
            raise ValueError("choices: a choice question needs 2 to 6 choices")
        labels = [c.label for c in self.choices]
        if len(set(labels)) != len(labels):
            raise ValueError("choices: every choice needs its own label")
        texts = [c.equals is not None for c in self.choices]
        if any(texts) and not all(texts):
            raise ValueError("choices: either every choice has equals or every choice has a range")
        if all(texts):
            if kind != "text" or self.versus is not None:
                raise ValueError(f"choices: equals needs a text measure without versus; '{self.measure}' is numeric")
            return self
        if kind != "number":
            raise ValueError(f"choices: ranges need a numeric measure; '{self.measure}' is text")
        bins = sorted(self.choices, key=lambda c: -float("inf") if c.min is None else c.min)
        for low, high in zip(bins, bins[1:]):
            if low.max is None or high.min is None or low.max > high.min:
                raise ValueError(f"choices: '{low.label}' and '{high.label}' overlap")
        return self

    def close_limit(self, value: float) -> float:
        """How far a guess may be from ``value`` and still count as close: ``close_within``, else 10 %
        of the answer, and never less than one step of the shown precision."""
        step = 10.0 ** -self.decimals
        limit = self.close_within if self.close_within is not None else 0.1 * abs(value)
        return max(limit, step)


class Act(_Part):
    title: str = Field(min_length=1, max_length=LABEL)
    scenario: str = Field(min_length=1, max_length=200, description="a bundled scenario's name")
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    minutes: float = Field(ge=1, le=120, allow_inf_nan=False)
    setup: str = Field("", max_length=TEXT, description="what the room hears before the question")
    question: str = Field(min_length=1, max_length=TEXT)
    answer: Answer
    discussion: list[str] = Field(default_factory=list, max_length=6)

    @model_validator(mode="after")
    def _prompts(self) -> Act:
        if any(not p.strip() or len(p) > TEXT for p in self.discussion):
            raise ValueError(f"discussion: every prompt needs 1 to {TEXT} characters")
        return self


class Workshop(_Part):
    title: str = Field(min_length=1, max_length=LABEL)
    description: str = Field("", max_length=2000)
    minutes: float = Field(ge=5, le=480, allow_inf_nan=False, description="the whole workshop, in minutes")
    acts: list[Act] = Field(min_length=1, max_length=12)
    closing: str = Field("Which decisions would this room take?", max_length=TEXT)

    @model_validator(mode="after")
    def _fits(self) -> Workshop:
        total = sum(a.minutes for a in self.acts)
        if total > self.minutes:
            raise ValueError(f"acts: their minutes add up to {total:g}, more than the workshop's {self.minutes:g}")
        return self


# --------------------------------------------------------------------------- measures
def _leaf_kind(annotation: Any) -> str | None:
    """'number', 'text' or None (a section) for a field of the summary model."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else [annotation]
    if len(args) != 1:
        return None
    inner = args[0]
    if inner in (int, float):
        return "number"
    if inner is str:
        return "text"
    return None


def measure_kind(path: str) -> str | None:
    """'number' or 'text' when ``path`` names a leaf of the summary model (a mapping's key may be any name),
    None otherwise."""
    model: Any = Summary
    parts = path.split(".")
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return None
        annotation = fields[part].annotation
        if typing.get_origin(annotation) is dict:  # approval_rate_by_group.north: any key
            return _leaf_kind(typing.get_args(annotation)[1]) if i == len(parts) - 2 else None
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        section = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if section is not None:
            model = section
            continue
        return _leaf_kind(annotation) if i == len(parts) - 1 else None
    return None


# --------------------------------------------------------------------------- loading
def workshop_dir() -> Path:
    return Path(os.environ.get(WORKSHOPS_ENV) or WORKSHOP_DIR)


def _error_lines(err: ValidationError, where: str) -> list[str]:
    lines = []
    for e in err.errors(include_url=False, include_context=False):
        path = ".".join(str(p) for p in e["loc"]) or "(workshop)"
        given = e.get("input")
        shown = "" if e["type"] in ("missing", "extra_forbidden") or isinstance(given, (dict, list)) \
            else f"; got {str(given)[:40]!r}"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        lines.append(f"{where}: {path}: {message}{shown}")
    return lines


def parse_workshop(data: Any, scenarios: dict[str, Scenario], where: str = "workshop") -> Workshop:
    """Validate a workshop and check that each act's scenario exists and its overrides apply."""
    if not isinstance(data, dict):
        raise WorkshopError([f"{where}: expected a mapping of fields at the top level"])
    try:
        workshop = Workshop.model_validate(data)
    except ValidationError as err:
        raise WorkshopError(_error_lines(err, where)) from None
    lines = []
    for i, act in enumerate(workshop.acts):
        if act.scenario not in scenarios:
            lines.append(f"{where}: acts.{i}.scenario: '{act.scenario[:60]}' is not a bundled scenario; choose one "
                         f"of {', '.join(sorted(scenarios))}")
            continue
        for field, overrides in (("overrides", act.overrides), ("answer.versus", act.answer.versus or {})):
            try:
                with_overrides(scenarios[act.scenario], overrides)
            except ScenarioError as err:
                lines += [f"{where}: acts.{i}.{field}: {line}" for line in err.lines]
    if lines:
        raise WorkshopError(lines)
    return workshop


def load_workshop(path: Path, scenarios: dict[str, Scenario]) -> Workshop:
    where = path.name
    try:
        data = load_yaml(read_regular_file(path, MAX_YAML_BYTES, where))
    except ScenarioError as err:  # the file's own problem (missing, too large): its line names the file
        raise WorkshopError(err.lines) from None
    except YamlError as err:
        raise WorkshopError([f"{where}: {err}"]) from None
    return parse_workshop(data, scenarios, where)


def bundled_scenarios(folder: Path) -> dict[str, Scenario]:
    """The scenarios an act may name, by file name (files that do not validate are left out)."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            found[path.stem] = load_scenario(path)
        except ScenarioError:
            continue
    return found


def load_folder(folder: Path, scenarios: dict[str, Scenario]) -> tuple[dict[str, Workshop], list[str]]:
    """Every valid workshop of ``folder`` by file name, and one line per problem of the others."""
    found, problems = {}, []
    for path in sorted(folder.glob("*.yaml")):
        try:
            found[path.stem] = load_workshop(path, scenarios)
        except WorkshopError as err:
            problems += err.lines
    return found, problems


def act_scenario(act: Act, scenarios: dict[str, Scenario]) -> tuple[Scenario, Scenario | None]:
    """The act's scenario with its overrides, and the ``versus`` run's scenario (or None)."""
    scenario = with_overrides(scenarios[act.scenario], act.overrides)
    versus = with_overrides(scenario, act.answer.versus) if act.answer.versus is not None else None
    return scenario, versus
