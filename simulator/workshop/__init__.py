"""Workshop mode: a facilitator's sequence of acts, each a scenario and a question the simulation answers.

Pure Python (no streamlit, no database), above ``analysis`` and below ``store``:
:mod:`~simulator.workshop.definition` reads and validates workshop YAML files,
:mod:`~simulator.workshop.answers` computes an act's correct answer from its run and scores the
room's guesses. The live state of a session (participants, answers, reveals) is in
``simulator.store.workshops``.
"""
