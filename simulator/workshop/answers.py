"""An act's correct answer from its run, and how the room's guesses compare with it.

The answer is read from the run's typed summary (the same numbers the CLI prints and the pages
judge), never from the scenario's settings: a workshop asks what the simulated service did.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from simulator.report.summary_model import Summary
from simulator.workshop.definition import Answer


class NoAnswer(ValueError):
    """The run does not give the measure (e.g. no model stage, so no ``replicas``)."""


@dataclass(frozen=True)
class Truth:
    """The simulated answer: the number (or text) and, for a choice question, the right option."""

    value: float | str
    shown: str
    choice: str | None = None


def summary_value(summary: Summary, path: str) -> float | str:
    node = summary.to_dict()
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise NoAnswer(f"this run has no '{path}'")
        node = node[part]
    if node is None or isinstance(node, (dict, list)):
        raise NoAnswer(f"this run has no value for '{path}'")
    if isinstance(node, bool):
        return float(node)
    if isinstance(node, (int, float)):
        if not math.isfinite(node):
            raise NoAnswer(f"this run has no finite value for '{path}'")
        return float(node)
    return str(node)


def shown(answer: Answer, value: float | str) -> str:
    """'74 customers', '97.9 %', '-0.03 points'."""
    if isinstance(value, str):
        return value.replace("_", " ")
    text = f"{value:,.{answer.decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0.0"
    return f"{text} {answer.unit}".strip() if answer.unit != "%" else f"{text} %"


def truth(answer: Answer, summary: Summary, versus: Summary | None = None) -> Truth:
    """The correct answer of a question from the act's run (and the ``versus`` run when the question has one)."""
    raw = summary_value(summary, answer.measure)
    if isinstance(raw, str):
        value: float | str = raw
    else:
        value = raw * answer.scale
        if answer.versus is not None:
            if versus is None:
                raise NoAnswer("this question compares two runs; the second one is missing")
            other = summary_value(versus, answer.measure)
            if isinstance(other, str):
                raise NoAnswer(f"'{answer.measure}' is text; it cannot be subtracted")
            value -= other * answer.scale
        value = round(value, answer.decimals)
    choice = None
    if answer.kind == "choice":
        choice = next((c.label for c in answer.choices if c.holds(value)), None)
        if choice is None:
            raise NoAnswer(f"the simulated {shown(answer, value)} fits none of the choices")
    return Truth(value, shown(answer, value), choice)


def check_guess(answer: Answer, guess: float | str) -> float | str:
    """A participant's guess as stored, or ValueError with a sentence a participant understands."""
    if answer.kind == "choice":
        if guess not in [c.label for c in answer.choices]:
            raise ValueError("Pick one of the choices.")
        return str(guess)
    try:
        number = float(guess)
    except (TypeError, ValueError):
        raise ValueError("Type a number.") from None
    if not math.isfinite(number) or not answer.guess_min <= number <= answer.guess_max:
        raise ValueError(f"Type a number from {answer.guess_min:,g} to {answer.guess_max:,g}.")
    return number


def is_right(answer: Answer, right: Truth, guess: float | str) -> bool:
    """A choice is right when it is the right option; a number when it is within the close limit."""
    if answer.kind == "choice":
        return guess == right.choice
    return isinstance(guess, float) and abs(guess - float(right.value)) <= answer.close_limit(float(right.value)) \
        + 1e-9


@dataclass(frozen=True)
class Room:
    """How the room guessed: counts, how many were right (or close), and the middle guess."""

    answers: int
    right: int
    median: float | None                 # number questions
    counts: dict[str, int]               # choice questions: label -> answers, in the question's order

    @property
    def right_share(self) -> float | None:
        return self.right / self.answers if self.answers else None


def room(answer: Answer, right: Truth, guesses: list[float | str]) -> Room:
    numbers = [g for g in guesses if isinstance(g, float)]
    counts = {c.label: sum(1 for g in guesses if g == c.label) for c in answer.choices}
    return Room(len(guesses), sum(1 for g in guesses if is_right(answer, right, g)),
                statistics.median(numbers) if numbers and answer.kind == "number" else None, counts)


def room_sentence(answer: Answer, right: Truth, result: Room) -> str:
    """One sentence for the projector and the phones: how the room did against the simulation."""
    if not result.answers:
        return "Nobody answered this one."
    of = f"{result.right} of {result.answers} {'guess' if result.answers == 1 else 'guesses'}"
    if answer.kind == "choice":
        return f"Picked “{right.choice}”: {of}."
    limit = answer.close_limit(float(right.value))
    return f"Within {shown(answer, limit)} of it: {of}. The room's middle guess: {shown(answer, result.median)}."
