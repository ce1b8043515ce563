"""Workshop files and answer scoring: validation one line per problem, the bundled workshop, answers taken
from a run and checked against the run's own per-request rows, guesses scored by hand-computed limits."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from simulator.runner import run
from simulator.scenario.config import load_scenario
from simulator.workshop.answers import NoAnswer, check_guess, is_right, room, room_sentence, shown, truth
from simulator.workshop.definition import (
    WORKSHOP_DIR,
    Answer,
    WorkshopError,
    bundled_scenarios,
    load_folder,
    measure_kind,
    parse_workshop,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenarios():
    return bundled_scenarios(ROOT / "scenarios")


def small(**answer) -> dict:
    """A one-act workshop with the given answer section."""
    return {"title": "T", "minutes": 10, "acts": [{"title": "A", "scenario": "bad_canary", "minutes": 5,
                                                    "question": "Q?", "answer": answer}]}


def problems(data, scenarios) -> list[str]:
    with pytest.raises(WorkshopError) as err:
        parse_workshop(data, scenarios, "w.yaml")
    return err.value.lines


# --------------------------------------------------------------------------- the bundled workshop
def test_the_bundled_workshop_covers_the_seeds_themes_in_45_minutes(scenarios):
    found, trouble = load_folder(WORKSHOP_DIR, scenarios)
    assert trouble == []
    workshop = found["five_surprises"]
    assert workshop.minutes == 45
    assert sum(a.minutes for a in workshop.acts) <= 45
    assert [a.scenario for a in workshop.acts] == ["black_friday", "weather_api_outage", "bad_canary",
                                                   "fairness_drift", "quantization"]
    assert "20 minutes" in workshop.acts[1].question and "don't get an answer" in workshop.acts[1].question
    assert all(a.discussion for a in workshop.acts)


# --------------------------------------------------------------------------- validation
def test_each_problem_is_one_line_naming_its_field(scenarios):
    data = small(kind="number", measure="requests.failed")
    data["acts"][0]["colour"] = "red"
    data["acts"][0]["minutes"] = 500
    lines = problems(data, scenarios)
    assert "w.yaml: acts.0.colour: unknown field (check the spelling)" in lines
    assert any(line.startswith("w.yaml: acts.0.minutes: Input should be less than or equal to 120") for line in lines)


def test_an_unknown_scenario_and_a_bad_override_are_named(scenarios):
    data = small(kind="number", measure="requests.failed")
    data["acts"].append(copy.deepcopy(data["acts"][0]))
    data["acts"][0]["scenario"] = "moon_landing"
    data["acts"][1]["overrides"] = {"inference.replicas": -3}
    lines = problems(data, scenarios)
    assert lines[0].startswith("w.yaml: acts.0.scenario: 'moon_landing' is not a bundled scenario; choose one of ")
    assert "bad_canary" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("w.yaml: acts.1.overrides: inference.replicas")


@pytest.mark.parametrize("answer, expected", [
    ({"kind": "number", "measure": "requests.nothing"}, "'requests.nothing' is not a field of the run's summary"),
    ({"kind": "number", "measure": "canary.outcome"}, "'canary.outcome' is text"),
    ({"kind": "number", "measure": "requests.failed", "choices": [{"label": "a", "max": 1}]},
     "only a choice question has choices"),
    ({"kind": "choice", "measure": "requests.failed", "choices": [{"label": "a", "max": 1}]}, "2 to 6 choices"),
    ({"kind": "choice", "measure": "requests.failed", "choices": [{"label": "a", "max": 10},
                                                                    {"label": "b", "min": 5}]}, "'a' and 'b' overlap"),
    ({"kind": "choice", "measure": "requests.failed", "choices": [{"label": "a", "max": 10},
                                                                    {"label": "a", "min": 10}]}, "its own label"),
    ({"kind": "choice", "measure": "requests.failed", "choices": [{"label": "a", "equals": "x"},
                                                                    {"label": "b", "equals": "y"}]}, "is numeric"),
    ({"kind": "choice", "measure": "canary.outcome", "choices": [{"label": "a", "min": 3, "max": 1},
                                                                   {"label": "b", "equals": "y"}]},
     "min (3) must be below max (1)"),
    ({"kind": "number", "measure": "requests.failed", "guess_min": 5, "guess_max": 5}, "guess_min must be below"),
])
def test_inconsistent_questions_are_refused(scenarios, answer, expected):
    lines = problems(small(**answer), scenarios)
    assert len(lines) == 1 and expected in lines[0], lines


def test_acts_longer_than_the_workshop_are_refused(scenarios):
    data = small(kind="number", measure="requests.failed")
    data["minutes"] = 5
    data["acts"][0]["minutes"] = 6
    assert problems(data, scenarios) == ["w.yaml: (workshop): acts: their minutes add up to 6, more than the "
                                         "workshop's 5"]


def test_measures_are_the_summarys_leaves():
    assert measure_kind("requests.failed") == "number"
    assert measure_kind("model.approval_rate_by_group.north") == "number"   # a mapping's key may be any region
    assert measure_kind("canary.outcome") == "text"
    assert measure_kind("requests") is None                                # a section, not a value
    assert measure_kind("requests.failed.more") is None


# --------------------------------------------------------------------------- answers from a run
@pytest.fixture(scope="module")
def canary_run():
    return run(load_scenario(ROOT / "scenarios" / "bad_canary.yaml"))


def test_the_answer_is_what_the_run_did_counted_from_its_requests(canary_run):
    req = canary_run.requests
    measured = req[req.arrival_s >= canary_run.summary.warmup_s]
    bad_on_canary = int(((measured.model_version == "v2") & (measured.outcome == "failed")).sum())
    failed = int((measured.outcome == "failed").sum())
    assert bad_on_canary > 0
    answer = Answer(kind="number", measure="canary.bad_responses_on_canary", unit="customers")
    assert truth(answer, canary_run.summary).value == bad_on_canary
    assert truth(answer, canary_run.summary).shown == f"{bad_on_canary} customers"
    assert truth(Answer(kind="number", measure="requests.failed"), canary_run.summary).value == failed
    outcome = Answer(kind="choice", measure="canary.outcome", choices=[
        {"label": "Promoted to everyone", "equals": "promoted"}, {"label": "Rolled back", "equals": "rolled_back"}])
    assert truth(outcome, canary_run.summary).choice == "Rolled back"
    share = Answer(kind="number", measure="on_time_fraction", scale=100, unit="%", decimals=1)
    latency_ms = (measured.end_s - measured.arrival_s) * 1000  # the frame keeps times, not their difference
    answered = measured.outcome.isin(["ok", "degraded"])  # a failed request is never on time
    on_time = ((latency_ms <= 300) & answered).sum() / (measured.outcome != "in_flight").sum() * 100
    assert truth(share, canary_run.summary).value == pytest.approx(round(on_time, 1), abs=0.051)


def test_a_versus_answer_is_the_difference_of_two_runs(canary_run):
    answer = Answer(kind="number", measure="requests.failed", versus={"canary.enabled": False}, decimals=0)
    fake_versus = canary_run.summary.model_copy(update={"requests": canary_run.summary.requests.model_copy(
        update={"failed": 4})})
    assert truth(answer, canary_run.summary, fake_versus).value == canary_run.summary.requests.failed - 4
    with pytest.raises(NoAnswer, match="the second one is missing"):
        truth(answer, canary_run.summary)


def test_an_answer_outside_every_choice_or_missing_says_so(canary_run):
    answer = Answer(kind="choice", measure="requests.failed", choices=[{"label": "none", "max": 1},
                                                                       {"label": "a few", "min": 1, "max": 10}])
    with pytest.raises(NoAnswer, match="fits none of the choices"):
        truth(answer, canary_run.summary)   # 74 failed
    with pytest.raises(NoAnswer, match="this run has no 'where_time_went.stage'"):
        truth(Answer(kind="choice", measure="where_time_went.stage", choices=[
            {"label": "a", "equals": "x"}, {"label": "b", "equals": "y"}]), canary_run.summary)


# --------------------------------------------------------------------------- scoring
def test_close_guesses_by_hand():
    answer = Answer(kind="number", measure="requests.failed", unit="customers")
    right = truth_of(answer, 74.0)
    assert answer.close_limit(74.0) == pytest.approx(7.4)                 # 10 % of the answer
    guesses = [70.0, 80.0, 82.0, 74.0, 1000.0]
    assert [is_right(answer, right, g) for g in guesses] == [True, True, False, True, False]
    result = room(answer, right, guesses)
    assert (result.answers, result.right, result.median) == (5, 3, 80.0)
    assert room_sentence(answer, right, result) == ("Within 7 customers of it: 3 of 5 guesses. The room's middle "
                                                    "guess: 80 customers.")
    zero = Answer(kind="number", measure="requests.failed", close_within=100)
    assert [is_right(zero, truth_of(zero, 0.0), g) for g in (0.0, 100.0, 101.0)] == [True, True, False]
    exact = Answer(kind="number", measure="requests.failed")               # 10 % of 0 is 0: one unit still counts
    assert [is_right(exact, truth_of(exact, 0.0), g) for g in (0.0, 1.0, 2.0)] == [True, True, False]


def test_choice_bins_include_their_lower_bound():
    answer = Answer(kind="choice", measure="on_time_fraction", scale=100, unit="%", decimals=1, choices=[
        {"label": "99 % or more", "min": 99}, {"label": "97 to 99 %", "min": 97, "max": 99},
        {"label": "below 97 %", "max": 97}])
    assert [c.label for v in (99.0, 98.99, 97.0, 96.9) for c in answer.choices if c.holds(v)] == [
        "99 % or more", "97 to 99 %", "97 to 99 %", "below 97 %"]
    right = truth_of(answer, 97.9, "97 to 99 %")
    result = room(answer, right, ["97 to 99 %", "99 % or more", "99 % or more"])
    assert result.counts == {"99 % or more": 2, "97 to 99 %": 1, "below 97 %": 0}
    assert room_sentence(answer, right, result) == "Picked “97 to 99 %”: 1 of 3 guesses."


def test_guesses_are_checked_with_a_sentence_for_the_phone():
    answer = Answer(kind="number", measure="requests.failed", guess_max=1000)
    assert check_guess(answer, "12") == 12.0
    for bad, message in (("twelve", "Type a number."), ("nan", "Type a number from 0 to 1,000."),
                         (1001, "Type a number from 0 to 1,000."), (-1, "Type a number from 0 to 1,000.")):
        with pytest.raises(ValueError, match=message):
            check_guess(answer, bad)
    choice = Answer(kind="choice", measure="canary.outcome", choices=[{"label": "a", "equals": "x"},
                                                                      {"label": "b", "equals": "y"}])
    with pytest.raises(ValueError, match="Pick one of the choices."):
        check_guess(choice, "c")


def test_numbers_are_shown_without_minus_zero():
    answer = Answer(kind="number", measure="requests.failed", unit="points", decimals=2)
    assert shown(answer, -0.001) == "0.00 points"
    assert shown(answer, -0.03) == "-0.03 points"
    assert shown(Answer(kind="number", measure="requests.failed", unit="%", decimals=1), 97.94) == "97.9 %"


def truth_of(answer: Answer, value: float, choice: str | None = None):
    from simulator.workshop.answers import Truth

    return Truth(value, shown(answer, value), choice)


# --------------------------------------------------------------------------- the reveal chart's bins
def test_guesses_are_counted_in_readable_bins():
    from simulator.viz.guesses import count_guesses

    bins, counts, hit = count_guesses([70, 80, 82, 74, 60, 130], 74)          # span 70: width 10
    assert [b.label for b in bins][:3] == ["60 to 69", "70 to 79", "80 to 89"]
    assert counts == [1, 2, 2, 0, 0, 0, 0, 1] and hit == 1
    bins, counts, hit = count_guesses([0, 50, 300, 2_000_000], 0)            # spans orders of magnitude
    assert [b.label for b in bins] == ["0", "1 to 9", "10 to 99", "100 to 999", "1,000 to 9,999", "10k to 100k",
                                       "100k to 1 m", "1 m to 10 m"]
    assert counts == [1, 0, 1, 1, 0, 0, 0, 1] and hit == 0
    bins, counts, hit = count_guesses([97.5, 98.0, 99.2], 97.9, decimals=1)
    assert bins[hit].label == "97.8 to 97.9" and sum(counts) == 3


# --------------------------------------------------------------------------- command line
def test_the_command_lists_checks_and_refuses_with_exit_2(tmp_path, capsys):
    from simulator.cli.main import main

    assert main(["workshop"]) == 0
    assert capsys.readouterr().out.startswith("five_surprises           Five surprises of a fraud-scoring service "
                                              "(5 acts, 45 minutes)")
    assert main(["workshop", "five_surprises"]) == 0
    assert "2. The weather service goes down (weather_api_outage, 8 min)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nminutes: 3\nacts: []\n", encoding="utf-8")
    assert main(["workshop", str(bad)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: bad.yaml: minutes: Input should be greater than or equal to 5; got '3'",
        "error: bad.yaml: acts: List should have at least 1 item after validation, not 0"]
    assert main(["workshop", "nope"]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err
