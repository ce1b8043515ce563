"""Workshop: the facilitator's screen for the projector (1366x768): join code and QR code, the act's
question, the live count of answers, the reveal (the simulated answer against the room's guesses, then
the scenario's story and diagram), and a closing slide with every answer and the room's decisions."""
import html

import streamlit as st

from dashboard import team
from dashboard import workshop as ws
from dashboard.frame import ensure_frame
from dashboard.widgets import chart, diagram, escape_markdown
from simulator.store import workshops
from simulator.store.access import PermissionDenied
from simulator.viz.diagram import architecture_dot
from simulator.viz.guesses import choices_figure, numbers_figure
from simulator.workshop.answers import room, room_sentence

ensure_frame()
K_SESSION = "session"           # query parameter: the session on screen (a reload keeps it)
FONT = 18                        # chart and diagram text, readable from the back of a room

st.html("""<style>
.ws-question { font-size: 2.0rem; font-weight: 700; line-height: 1.25; margin: 0.2rem 0 0.8rem 0; }
.ws-setup { font-size: 1.15rem; line-height: 1.5; }
.ws-code { font-size: 2.6rem; font-weight: 800; letter-spacing: 0.25rem; font-family: monospace; line-height: 1.1; }
.ws-answer { font-size: 3.0rem; font-weight: 800; color: #2ca02c; line-height: 1.1; }
.ws-count { font-size: 1.5rem; font-weight: 600; }
.ws-choice { font-size: 1.35rem; line-height: 1.6; }
.ws-small { font-size: 1.4rem; margin-bottom: 0.4rem; }
.ws-room { font-size: 1.25rem; font-weight: 600; line-height: 1.4; margin: 0.5rem 0; }
.st-key-ws_qr img { image-rendering: pixelated; }
</style>""")

who = team.actor()
store = team.store()
team.show_flash()


def open_session(code: str) -> None:
    st.query_params[K_SESSION] = code


def leave_session() -> None:
    st.query_params.pop(K_SESSION, None)


def act_do(action, done: str | None = None) -> None:
    """A facilitator's button: the store checks the role and audits; a refusal becomes a message."""
    team.attempt(action, done)


# --------------------------------------------------------------------------- no session yet
def start_screen() -> None:
    st.title("Workshop")
    st.caption("Run a workshop: the room answers from their phones, the simulation gives the answer.")
    if not who.can("facilitate"):
        st.info(f"Running a workshop needs the analyst role; you are a {who.role.name}. Trying it is refused "
                f"and recorded.", icon="🔒")
    found, problems = ws.catalog()
    for line in problems:
        st.warning(f"Skipped a workshop file: {line}", icon="⚠️")
    if not found:
        st.error(f"No workshop found in {escape_markdown(str(ws.workshop_dir()))}.")
        return
    name = st.selectbox("Workshop", list(found), format_func=lambda n: found[n].title, key="ws_pick")
    chosen = found[name]
    st.markdown(escape_markdown(chosen.description))
    st.markdown("\n".join(f"{i + 1}. **{escape_markdown(a.title)}** ({a.minutes:g} min, scenario "
                           f"`{a.scenario}`): {escape_markdown(a.question)}" for i, a in enumerate(chosen.acts)))
    st.caption(f"{len(chosen.acts)} acts, {sum(a.minutes for a in chosen.acts):g} of {chosen.minutes:g} minutes; "
               f"the rest is for the welcome and the closing discussion.")
    if st.button("Start a session", type="primary", icon=":material/play_arrow:", key="ws_start"):
        started = team.attempt(lambda: workshops.start(store, who, name, chosen))
        if started is not None:
            open_session(started.code)
        st.rerun()
    if who.can("facilitate"):
        sessions = team.attempt(lambda: workshops.recent(store, who)) or []
        if sessions:
            st.subheader("Sessions")
            for code, title, when, still_open in sessions:
                cols = st.columns([1, 4, 1])
                cols[0].markdown(f"**{code}**")
                cols[1].markdown(f"{escape_markdown(title)} · started {when:%Y-%m-%d %H:%M} UTC"
                                 + ("" if still_open else " · closed"))
                cols[2].button("Open", key=f"ws_open_{code}", on_click=open_session, args=(code,))


code = st.query_params.get(K_SESSION)
if not code:
    start_screen()
    st.stop()
try:
    session = workshops.state(store, who, code)
except PermissionDenied as err:
    st.error(str(err), icon="🔒")
    st.stop()
except LookupError as err:
    st.error(str(err))
    st.button("Back to the workshops", on_click=leave_session)
    st.stop()

acts = session.workshop.acts
count = len(acts)
position = session.current
url = ws.join_url(session.code)


@st.fragment(run_every=ws.POLL)
def live(revision: int, open_for_answers: bool) -> None:
    """The count of people and answers, every two seconds; another facilitator's change redraws the page."""
    latest, people, answers = workshops.pulse(store, session.code)
    if latest != revision:
        st.rerun()
    if open_for_answers:
        st.html(f'<div class="ws-count">{answers} of {people} {"person has" if people == 1 else "people have"} '
                f'answered</div>')
    else:
        st.caption(f"{people} {'person' if people == 1 else 'people'} joined")


def join_box() -> None:
    """The QR code, the address and the join code, while the room answers."""
    with st.container(key="ws_qr"):
        st.image(ws.qr_svg(url, scale=7), width=230)
        st.html(f'<div>Join at <b>{html.escape(ws.base_url())}/join</b> with the code</div>'
                f'<div class="ws-code">{session.code}</div>')


def nav_buttons(revealed: bool, ready) -> None:
    cols = st.columns(4 if revealed else 3)
    cols[0].button("Previous act", icon=":material/arrow_back:", disabled=position == 0, key="ws_prev",
                   on_click=act_do, args=(lambda: workshops.go_to(store, who, session.code, position - 1),))
    if revealed:
        cols[1].button("Reopen answers", icon=":material/undo:", key="ws_reopen",
                       help="Take the answer off the screens and let people answer (or change their answer) again.",
                       on_click=act_do, args=(lambda: workshops.reopen(store, who, session.code, position),))
        with cols[2].popover("Reset this act", icon=":material/restart_alt:"):
            st.markdown("Removes every answer to this question and opens it again. This cannot be undone.")
            st.button("Remove the answers", key="ws_reset", type="primary",
                      on_click=act_do, args=(lambda: workshops.reset(store, who, session.code, position),
                                             "The act was reset: every answer to it was removed."))
    else:
        if cols[1].button("Reveal the answer", type="primary", icon=":material/visibility:", key="ws_reveal",
                          disabled=ready is None):
            workshops_reveal(ready)
    last = cols[-1]
    last.button("Next act" if position + 1 < count else "Closing slide", icon=":material/arrow_forward:",
                key="ws_next", on_click=act_do,
                args=(lambda: workshops.go_to(store, who, session.code, position + 1),))


def workshops_reveal(ready: ws.ActRun) -> None:
    team.attempt(lambda: workshops.reveal(store, who, session.code, position, ready.truth, ws.story(ready)))
    st.rerun()


# --------------------------------------------------------------------------- closing slide
def closing() -> None:
    st.title("What the room found")
    st.caption(f"{escape_markdown(session.workshop.title)} · code {session.code} · {session.participants} people")
    for i, act in enumerate(acts):
        state = session.acts[i]
        with st.container(border=True):
            left, right = st.columns([3, 2])
            left.markdown(f"**Act {i + 1}: {escape_markdown(act.title)}**  \n{escape_markdown(act.question)}")
            if state.truth is None:
                right.markdown("*Not revealed*")
            else:
                result = room(act.answer, state.truth, state.guesses)
                right.markdown(f"**{escape_markdown(state.truth.choice or state.truth.shown)}**  \n"
                               f"{escape_markdown(room_sentence(act.answer, state.truth, result))}")
            with st.form(f"ws_decide_{i}", border=False):
                typed, save = st.columns([5, 1], vertical_alignment="bottom")
                text = typed.text_input("What would the room decide?", value=state.decision, key=f"ws_decision_{i}",
                                        placeholder="e.g. keep two warm servers before every sales event",
                                        max_chars=workshops.DECISION_CHARS)
                if save.form_submit_button("Save", icon=":material/save:"):
                    team.attempt(lambda i=i, text=text: workshops.set_decision(store, who, session.code, i, text),
                                 "Saved.")
                    st.rerun()
    st.markdown(f"**{escape_markdown(session.workshop.closing)}**")
    cols = st.columns(3)
    cols[0].button("Back to the last act", icon=":material/arrow_back:", key="ws_back",
                   on_click=act_do, args=(lambda: workshops.go_to(store, who, session.code, count - 1),),
                   disabled=session.closed_at is not None)
    if session.closed_at is None:
        cols[1].button("End the workshop", icon=":material/stop:", key="ws_close",
                       help="Phones show that the workshop is over; this page keeps every answer and decision.",
                       on_click=act_do, args=(lambda: workshops.close(store, who, session.code),
                                              "The workshop has ended."))
    else:
        cols[1].caption(f"Ended {session.closed_at:%Y-%m-%d %H:%M} UTC.")
    cols[2].button("Other workshops", key="ws_leave", on_click=leave_session)


# --------------------------------------------------------------------------- an act
def act_screen() -> None:
    act = acts[position]
    state = session.acts[position]
    if state.status == "revealed":
        revealed_screen(act, state)
        return
    st.caption(f"{escape_markdown(session.workshop.title)} · act {position + 1} of {count} · "
               f"about {act.minutes:g} minutes")
    main, side = st.columns([2.3, 1], gap="large")
    with main:
        st.subheader(escape_markdown(act.title))
        if act.setup:
            st.html(f'<div class="ws-setup">{html.escape(act.setup)}</div>')
        st.html(f'<div class="ws-question">{html.escape(act.question)}</div>')
        if act.answer.kind == "choice":
            st.html("".join(f'<div class="ws-choice">{chr(65 + i)}. {html.escape(c.label)}</div>'
                            for i, c in enumerate(act.answer.choices)))
        live(session.revision, True)
    with side:
        join_box()
    ready = ws.prepare(act)   # simulates while the room answers; cached, so the reveal is instant
    nav_buttons(False, ready)
    if ready is not None:
        st.caption("The simulation has its answer; reveal it when the room is ready.")


def revealed_screen(act, state) -> None:
    """The answer and the room's guesses above the fold; the story, the diagram and the prompts below."""
    st.caption(f"{escape_markdown(session.workshop.title)} · act {position + 1} of {count} · join at "
               f"{escape_markdown(ws.base_url())}/join with the code **{session.code}**")
    st.subheader(escape_markdown(act.title))
    st.html(f'<div class="ws-question ws-small">{html.escape(act.question)}</div>')
    result = room(act.answer, state.truth, state.guesses)
    left, right = st.columns([1, 1.5], gap="large")
    with left:
        st.html(f'<div>The simulation says</div><div class="ws-answer">'
                f'{html.escape(state.truth.choice or state.truth.shown)}</div>')
        if state.truth.choice:
            st.markdown(f"Simulated: {escape_markdown(state.truth.shown)}")
        st.html(f'<div class="ws-room">{html.escape(room_sentence(act.answer, state.truth, result))}</div>')
        live(session.revision, False)
    with right:
        if act.answer.kind == "choice":
            fig = choices_figure([c.label for c in act.answer.choices], list(result.counts.values()),
                                 state.truth.choice, font_size=FONT, height=300)
        else:
            fig = numbers_figure([g for g in state.guesses if isinstance(g, float)], float(state.truth.value),
                                 state.truth.shown, act.answer.decimals, font_size=FONT, height=300)
        chart(fig, key="ws_guesses", config={"staticPlot": True})
    nav_buttons(True, None)
    st.subheader("What happened")
    for paragraph in state.story:
        st.markdown(paragraph)
    run = ws.prepare(act)
    if run is not None:
        diagram(architecture_dot(run.result.scenario, run.found, run.result.summary, font_size=20, rankdir="rows"),
                key="ws_diagram")
    if act.discussion:
        st.subheader("Discuss")
        for prompt in act.discussion:
            st.markdown(f"- {escape_markdown(prompt)}")


if position >= count:
    closing()
else:
    act_screen()
