"""The dashboard's side of the team features: sign-in, the acting person, and the store.

Sign-in is Streamlit's own ``st.login`` against any OpenID Connect provider configured in the
``[auth]`` section of ``.streamlit/secrets.toml``. Without that section the app runs in local
single-user mode: one person, labelled as such in the sidebar, with every right. Roles are
checked again by the store function that performs each action (``simulator.store``); this
module only decides what to show and turns refusals into friendly messages.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import state
from simulator.report.results import RunResult
from simulator.scenario.config import Scenario
from simulator.store import audit, people, runs, scenarios
from simulator.store.access import Actor, PermissionDenied, Role, load_rules, local_actor, system_actor
from simulator.store.db import Store, StoreError, data_dir, database_url, open_store
from simulator.store.diff import body_diff, show_value

K_ACTOR = "_team_actor"
K_SIGNED_IN = "_team_signed_in"      # the sign-in of this session is in the audit log
K_OPENED = "_team_opened"            # sidebar scenario name -> (library name, version, version id)
K_FLASH = "_team_flash"              # messages from callbacks, shown once by show_flash()
K_CONFLICT = "_team_conflict"        # a refused stale save, kept so the user can compare and retry
K_DRAFT = "_team_decision_draft"     # runs handed from Compare to the Decisions page


# --------------------------------------------------------------------------- store
@st.cache_resource(show_spinner="Opening the team's database…")
def _open(url: str, folder: str) -> Store | StoreError:
    """One store per server process (and location): migrations run here, the retention setting is applied."""
    try:
        store = open_store(url, Path(folder))
    except StoreError as err:
        return err
    try:
        runs.prune(store, system_actor(), runs.Retention.from_env())
    except (ValueError, OSError) as err:  # a bad retention setting must not keep the app from starting
        st.session_state[state.K_NOTICE] = f"Retention not applied: {err}"
    return store


def store() -> Store:
    """The open store, or a clear message and a stopped page when it cannot be used."""
    folder = data_dir()
    opened = _open(database_url(folder), str(folder))
    if isinstance(opened, StoreError):
        st.error(f"The team's database cannot be used: {opened}", icon="🛑")
        st.stop()
    return opened


# --------------------------------------------------------------------------- identity
def auth_section() -> dict | None:
    """The ``[auth]`` section of the secrets, or None (local single-user mode)."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return None
    return dict(section) if section else None


def providers(section: dict) -> list[str | None]:
    """Named providers ([auth.google] ...) or the single default one (None)."""
    named = [k for k, v in section.items() if hasattr(v, "keys")]
    return named or [None]


def _signed_in_actor(st_store: Store) -> Actor:
    email = str(st.user.get("email") or st.user.get("sub") or "").strip().lower()
    name = str(st.user.get("name") or email)
    try:
        rules = load_rules()
    except ValueError as err:
        st.error(f"The roles file cannot be read, so nobody can be given a role: {err}", icon="🛑")
        st.stop()
    return people.actor_for(st_store, email, name, rules)


def sign_in_screen(section: dict) -> None:
    st.title("Pipeline Twin")
    st.markdown("A flight simulator for the fraud-scoring service. Sign in to explore scenarios and to see "
                "the team's saved scenarios, runs and decisions.")
    for provider in providers(section):
        label = f"Sign in with {provider.capitalize()}" if provider else "Sign in"
        if st.button(label, type="primary", key=f"sign_in_{provider or 'default'}", icon=":material/login:"):
            st.login(provider) if provider else st.login()


def _sign_in_pages(section: dict) -> list:
    """The sign-in screen under every page's address (a shared link lands on it, not on 'page not found');
    no menu of the pages behind it."""
    from dashboard.frame import PAGES_DIR

    def screen_for(path: str):
        def screen() -> None:
            sign_in_screen(section)
        screen.__name__ = f"sign_in_{path}"
        return screen

    stems = sorted(p.stem for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_"))
    return [st.Page(screen_for("home"), title="Sign in", default=True)] + [
        st.Page(screen_for(stem), title="Sign in", url_path=stem) for stem in stems]


def gate() -> Actor:
    """The acting person for this rerun; shows the sign-in screen (and stops) when nobody is signed in."""
    section = auth_section()
    st_store = store()
    if section is None:
        who = local_actor()
    elif not st.user.is_logged_in:
        st.navigation(_sign_in_pages(section), position="hidden").run()
        st.stop()
    else:
        who = _signed_in_actor(st_store)
    st.session_state[K_ACTOR] = who
    _follow_open_link()
    if st.session_state.get(K_SIGNED_IN) != who.email:
        audit.log_event(st_store, who, "sign_in", "session", who.email,
                        "local single-user mode" if who.local else f"role {who.role.name}")
        st.session_state[K_SIGNED_IN] = who.email
    return who


def _follow_open_link() -> None:
    """A shared link ``library?open=<version id>`` opens that saved version, before the sidebar is drawn."""
    opening = st.query_params.get("open")
    if opening is None:
        return
    del st.query_params["open"]
    if str(opening).isdigit():
        open_and_tell(int(opening))
    else:
        flash("error", f"'{opening}' in the link is not a saved version number.")


def actor() -> Actor:
    """The person acting in this session (set by :func:`gate` on every rerun)."""
    return st.session_state.get(K_ACTOR) or local_actor()


def sidebar(who: Actor) -> None:
    sb = st.sidebar
    if who.local:
        sb.info("**Local single-user mode**: no sign-in configured; you have every right (admin).",
                icon=":material/person:")
        sb.caption("To require sign-in, add an `[auth]` section to `.streamlit/secrets.toml` (see the README).")
        return
    sb.markdown(f"Signed in as **{who.name}** · {who.role.name}")
    if sb.button("Sign out", key="sign_out", icon=":material/logout:"):
        st.logout()


# --------------------------------------------------------------------------- messages
def flash(kind: str, text: str) -> None:
    """A message from a callback, shown at the top of the page on the next rerun."""
    st.session_state.setdefault(K_FLASH, []).append((kind, text))


def show_flash() -> None:
    for kind, text in st.session_state.pop(K_FLASH, []):
        {"ok": st.success, "refused": lambda t: st.error(t, icon="🔒"), "error": st.error,
         "info": st.info}[kind](text)


def attempt(action: Callable[[], Any], done: str | None = None) -> Any:
    """Run a store action; a refusal or a bad value becomes a message instead of an exception."""
    try:
        result = action()
    except PermissionDenied as err:
        flash("refused", str(err))
        return None
    except (ValueError, LookupError) as err:
        flash("error", str(err))
        return None
    if done:
        flash("ok", done)
    return result


def role_note(action: str, who: Actor) -> str | None:
    """A hint next to a button the person's role does not allow (the store refuses it in any case)."""
    if who.can(action):
        return None
    needed = {"save_scenario": "analyst", "restore_scenario": "analyst", "plan": "analyst",
              "write_decision": "analyst", "save_run": "analyst"}.get(action, "admin")
    return f"Needs the {needed} role; you are a {who.role.name}. Trying it is refused and recorded."


# --------------------------------------------------------------------------- runs finished in the app
def _base_of(scenario: Scenario) -> tuple[str, Scenario | None]:
    """The sidebar entry a run's scenario came from: its name and its body before any what-if change."""
    base = state.base_scenario()
    if base.name == scenario.name:
        return state.selected_name(), base
    for name, candidate in state.catalog().items():
        if candidate.name == scenario.name:
            return name, candidate
    return scenario.name, None


def changes_from(base: Scenario | None, scenario: Scenario) -> dict[str, Any]:
    """The fields a run changed from the scenario as written (the what-if knobs, for example)."""
    if base is None:
        return {}
    return {d["path"]: d["after"] for d in body_diff(base.model_dump(mode="json"), scenario.model_dump(mode="json"))}


KEEP_AT_MOST = 2  # a page's run, or Compare's A and B; replication batches are audited, not kept


def runs_finished(results: list[RunResult]) -> None:
    """Hook for :func:`dashboard.state.run_many`: every fresh run is audited; a page's run (or Compare's
    two) is kept in the history when the person may keep runs, an identical kept run not twice."""
    who = actor()
    try:
        st_store = store()
        for result in results:
            name, base = _base_of(result.scenario)
            knobs = changes_from(base, result.scenario)
            if not who.can("save_run") or len(results) > KEEP_AT_MOST:
                audit.log_event(st_store, who, "run", "scenario", name, f"seed {result.seed}")
                continue
            if runs.find_same(st_store, result.scenario, result.seed) is not None:
                continue
            opened = st.session_state.get(K_OPENED, {}).get(name)
            with st.spinner("Keeping this run in the History…"):
                runs.save_run(st_store, who, result, scenario_name=opened[0] if opened else name, knobs=knobs,
                              scenario_version_id=opened[2] if opened and not knobs else None)
    except Exception as err:  # keeping a run must never break the page that shows it
        st.session_state[state.K_NOTICE] = f"This run could not be kept in the history: {err}"


def kept_run_id(result: RunResult) -> int | None:
    """The history id of a run (keeping it first when the person may and it is not kept yet)."""
    st_store = store()
    same = runs.find_same(st_store, result.scenario, result.seed)
    if same is not None:
        return same.id
    name, base = _base_of(result.scenario)
    info = attempt(lambda: runs.save_run(st_store, actor(), result, scenario_name=name,
                                         knobs=changes_from(base, result.scenario)))
    return info.id if info else None


# --------------------------------------------------------------------------- library
def open_version(version_id: int) -> str | None:
    """Put a saved version into the sidebar's list and select it (knobs back to 100 %); its sidebar name."""
    try:
        version = scenarios.get(store(), version_id)
    except LookupError as err:
        flash("error", str(err))
        return None
    from simulator.scenario.config import ScenarioError, parse_scenario

    try:
        scenario = parse_scenario(version.body)
    except ScenarioError as err:
        flash("error", f"{version.name} v{version.version} cannot be opened with today's code: " + "; ".join(err.lines))
        return None
    shown = f"{version.name} · v{version.version}"
    state.add_custom_scenario(shown, scenario)
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


def role_name(role: Role) -> str:
    return {Role.viewer: "viewer: reads and explores", Role.analyst: "analyst: also runs plans, saves, decides",
            Role.admin: "admin: also deletes, manages roles, reads the audit log"}[role]


# --------------------------------------------------------------------------- hooks for other pages
def requests_csv(result: RunResult, where: str) -> Callable[[], str]:
    """The on-click builder of a page's 'every request' download; the download is recorded in the audit
    log, since the rows hold customer attributes. Person and store are taken now: the builder runs outside
    the page script."""
    who, st_store = actor(), store()
    name, _ = _base_of(result.scenario)
    kept = runs.find_same(st_store, result.scenario, result.seed)
    object_id = str(kept.id) if kept else f"{name}, seed {result.seed} (not kept)"

    def build() -> str:
        audit.log_event(st_store, who, "download_requests", "run", object_id,
                        f"{len(result.requests):,} rows from the {where} page")
        return result.requests.to_csv(index=False)

    return build


def allowed(action: str, object_id: str) -> bool:
    """Check a role where an action starts (e.g. a capacity plan); a refusal is shown and audited."""
    try:
        audit.authorize(store(), actor(), action, "scenario", object_id)
    except PermissionDenied as err:
        st.error(str(err), icon="🔒")
        return False
    return True


def keep_plan(plan, seed: int, wall_s: float) -> None:
    """Keep a finished capacity plan in the history (the search was already authorized)."""
    from simulator.store.experiments import save_plan

    info = attempt(lambda: save_plan(store(), actor(), plan, seed, wall_s=wall_s, scenario_name=state.selected_name()))
    if info is not None:
        st.caption(f"Kept in the History as plan #{info.id}.")


def decision_button(run_a: RunResult, run_b: RunResult, label_a: str, label_b: str) -> None:
    """'Write a decision about A and B': both runs kept (when the role allows) and attached to a new decision."""
    who = actor()
    if not st.button("Write a decision about A and B", key="compare_decide", icon=":material/gavel:",
                     help=role_note("write_decision", who) or "Opens the Decisions page with both runs attached."):
        return
    attached = []
    for result, text in ((run_a, label_a), (run_b, label_b)):
        run_id = kept_run_id(result) if who.can("save_run") else getattr(
            runs.find_same(store(), result.scenario, result.seed), "id", None)
        if run_id is not None:
            attached.append((run_id, text))
    st.session_state[K_DRAFT] = {"runs": attached, "options": [label_a, label_b]}
    st.switch_page("pages/decisions.py")
