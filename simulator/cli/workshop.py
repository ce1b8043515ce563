"""``python -m simulator workshop``: list the workshops, check one, and (``--answers``) print each act's
answer from its run, so a facilitator knows the reveals before the room does."""
from __future__ import annotations

import sys
from pathlib import Path

from simulator.cli.common import SCENARIO_DIR


def add_commands(sub) -> None:
    p = sub.add_parser("workshop", help="list workshops, check one, or print each act's simulated answer")
    p.add_argument("workshop", nargs="?", help="a workshop YAML file, or a name from workshops/")
    p.add_argument("--answers", action="store_true", help="run every act and print its answer")
    p.set_defaults(func=cmd_workshop)


def cmd_workshop(args) -> int:
    from simulator.workshop.definition import (
        WorkshopError,
        bundled_scenarios,
        load_folder,
        load_workshop,
        workshop_dir,
    )

    scenarios = bundled_scenarios(SCENARIO_DIR)
    if not args.workshop:
        found, problems = load_folder(workshop_dir(), scenarios)
        for name, workshop in found.items():
            print(f"{name:24s} {workshop.title} ({len(workshop.acts)} acts, {workshop.minutes:g} minutes)")
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        return 2 if problems else 0
    path = Path(args.workshop)
    if not path.suffix:
        path = workshop_dir() / f"{args.workshop}.yaml"
    try:
        workshop = load_workshop(path, scenarios)
    except WorkshopError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    print(f"{workshop.title}: {len(workshop.acts)} acts, {workshop.minutes:g} minutes")
    for i, act in enumerate(workshop.acts, start=1):
        print(f"\n{i}. {act.title} ({act.scenario}, {act.minutes:g} min)\n   {act.question}")
        for choice in act.answer.choices:
            print(f"   - {choice.label}")
        if args.answers:
            print(f"   answer: {_answer(act, scenarios)}")
    return 0


def _answer(act, scenarios) -> str:
    from simulator.runner import run
    from simulator.workshop.answers import NoAnswer, truth
    from simulator.workshop.definition import act_scenario

    scenario, versus = act_scenario(act, scenarios)
    seed = act.seed if act.seed is not None else scenario.seed
    summary = run(scenario, seed).summary
    other = run(versus, seed).summary if versus is not None else None
    try:
        right = truth(act.answer, summary, other)
    except NoAnswer as err:
        return f"none ({err})"
    return f"{right.choice} (simulated: {right.shown})" if right.choice else right.shown
