"""The Library's pieces for pages: open a saved version in the sidebar, and the save box with its
conflict view (used by the Library and the Scenario lab)."""
from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.team import actor, flash, role_note, store
from simulator.scenario.config import Scenario
from simulator.store import scenarios
from simulator.store.access import PermissionDenied
from simulator.store.diff import show_value

K_OPENED = "_team_opened"            # sidebar scenario name -> (library name, version, version id)
K_CONFLICT = "_team_conflict"        # a refused stale save, kept so the user can compare and retry


def open_version(version_id: int) -> str | None:
    """Put a saved version into the sidebar's list and select it (knobs back to 100 %); its sidebar name."""
    try:
        version = scenarios.get(store(), version_id)
    except LookupError as err:
        flash("error", str(err))
        return None
    from simulator.scenario.config import ScenarioError, parse_scenario

    shown = f"{version.name} · v{version.version}"
    try:
        scenario = parse_scenario(version.body)
        state.add_custom_scenario(shown, scenario)  # refuses a replay file the dashboard may not read
    except ScenarioError as err:
        flash("error", f"{version.name} v{version.version} cannot be opened here: " + "; ".join(err.lines))
        return None
    st.session_state.setdefault(K_OPENED, {})[shown] = (version.name, version.version, version.id)
    st.session_state[state.K_TRAFFIC] = 100
    st.session_state[state.K_CAPACITY] = 100
    return shown


def open_and_tell(version_id: int) -> None:
    """Button callback and link handler: open a saved version and say so."""
    shown = open_version(version_id)
    if shown:
        flash("ok", f"Opened **{shown}**: every page now shows it.")


def library_origin(sidebar_name: str) -> tuple[str, int, int] | None:
    """(library name, version, id) when the sidebar's scenario was opened from the Library."""
    return st.session_state.get(K_OPENED, {}).get(sidebar_name)


def _save(name: str, body: dict, expected: int, note: str) -> None:
    """Save, then show the saved version in the sidebar; a conflict is kept for display."""
    who = actor()
    try:
        saved = scenarios.save(store(), who, name, body, expected, note)
    except scenarios.VersionConflict as err:
        st.session_state[K_CONFLICT] = {"name": name, "body": body, "note": note, "latest": err.latest.version,
                                        "message": str(err), "diff": err.diff}
        return
    except PermissionDenied as err:
        flash("refused", str(err))
        return
    except (ValueError, LookupError) as err:
        flash("error", str(err))
        return
    st.session_state.pop(K_CONFLICT, None)
    open_version(saved.id)
    flash("ok", f"Saved as **{saved.name} v{saved.version}**"
                + (f" ({len(saved.diff)} change{'s' if len(saved.diff) != 1 else ''} from the version before)"
                   if saved.version > 1 else "") + "; the sidebar now shows it.")


def _save_from_box(key: str, body: dict) -> None:
    """Save button callback. Name and note are read now, not when the button was drawn: a note typed just
    before the click arrives with the click."""
    name = str(st.session_state.get(f"{key}_name") or "").strip()
    origin = library_origin(state.selected_name())
    expected = origin[1] if origin and origin[0] == name else 0  # 0: a new name, as far as this session knows
    _save(name, body, expected, str(st.session_state.get(f"{key}_note") or ""))


def save_box(scenario: Scenario, key: str, what: str) -> None:
    """Name, note and a Save button for ``scenario``, with the conflict view when someone saved first."""
    who = actor()
    origin = library_origin(state.selected_name())
    c1, c2 = st.columns([1, 2])
    name = c1.text_input("Name in the Library", value=origin[0] if origin else scenario.name, key=f"{key}_name",
                         max_chars=200)
    c2.text_input("What changed, in a few words", key=f"{key}_note", max_chars=500,
                  placeholder="e.g. six model servers for the holiday peak")
    st.button(f"Save {what} to the Library", key=f"{key}_save", type="primary", icon=":material/save:",
              on_click=_save_from_box, args=(key, scenario.model_dump(mode="json")),
              help=role_note("save_scenario", who))
    conflict = st.session_state.get(K_CONFLICT)
    if conflict and conflict["name"] == name.strip():
        st.warning(conflict["message"], icon="⚠️")
        st.markdown(f"Your version against **v{conflict['latest']}** (saved meanwhile):")
        st.dataframe(diff_table(conflict["diff"], "v" + str(conflict["latest"]), "yours"), hide_index=True,
                     width="stretch")
        st.button(f"Save mine on top of v{conflict['latest']}", key=f"{key}_retry", icon=":material/save_as:",
                  on_click=_save, args=(conflict["name"], conflict["body"], conflict["latest"], conflict["note"]))


def diff_table(diff: list[dict], before: str, after: str) -> list[dict]:
    """Rows for st.dataframe: setting, value before, value after."""
    return [{"setting": setting_words(d["path"]), before: show_value(d["before"]), after: show_value(d["after"]),
             "field": d["path"]} for d in diff]


def setting_words(path: str) -> str:
    """'traffic.rate_per_s' -> 'Traffic rate (per second)': a setting named as the Scenario lab names it."""
    from dashboard.widgets import pretty, unit_of

    *sections, leaf = path.split(".")
    unit = unit_of(leaf)[1]
    words = " ".join([pretty(s) for s in sections] + [pretty(leaf).lower() if sections else pretty(leaf)])
    return words + (f" ({unit})" if unit else "")


def changes_text(knobs: dict) -> str:
    """'Traffic rate (per second): 120.0; Inference replicas: 6' for a run's changes from its scenario."""
    return "; ".join(f"{setting_words(path)}: {show_value(value)}" for path, value in knobs.items() if path != "seed")
