"""The dashboard's side of the team features: sign-in, the acting person, the store, and messages.

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
from simulator.store import audit, people, runs
from simulator.store.access import Actor, PermissionDenied, Role, load_rules, local_actor, system_actor
from simulator.store.db import Store, StoreError, data_dir, database_url, open_store

K_ACTOR = "_team_actor"
K_SIGNED_IN = "_team_signed_in"      # the sign-in of this session is in the audit log
K_FLASH = "_team_flash"              # messages from callbacks, shown once by show_flash()


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
    no menu of the pages behind it. Public pages (a workshop participant's) are themselves."""
    from dashboard.frame import PAGES_DIR, PUBLIC_PAGES

    def screen_for(path: str):
        def screen() -> None:
            sign_in_screen(section)
        screen.__name__ = f"sign_in_{path}"
        return screen

    stems = sorted(p.stem for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_"))
    return [st.Page(screen_for("home"), title="Sign in", default=True)] + [
        st.Page(f"pages/{stem}.py", title="Join a workshop", url_path=stem) if stem in PUBLIC_PAGES else
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
        from dashboard.library import open_and_tell

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


def allowed(action: str, object_id: str) -> bool:
    """Check a role where an action starts (e.g. a capacity plan); a refusal is shown and audited."""
    try:
        audit.authorize(store(), actor(), action, "scenario", object_id)
    except PermissionDenied as err:
        st.error(str(err), icon="🔒")
        return False
    return True


def role_name(role: Role) -> str:
    return {Role.viewer: "viewer: reads and explores", Role.analyst: "analyst: also runs plans, saves, decides",
            Role.admin: "admin: also deletes, manages roles, reads the audit log"}[role]
