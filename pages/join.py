"""Join a workshop: a participant's phone (390x844). No sign-in: the join code admits, a random token in
the address (``?code=...&me=...``) is who you are, so a reload keeps your answer. Shows only the act on
the projector: its question, your answer, and once revealed the answer and how the room guessed."""
import html

import streamlit as st

from dashboard import team
from dashboard import workshop as ws
from dashboard.frame import ensure_frame
from dashboard.widgets import chart, escape_markdown
from simulator.store import workshops
from simulator.viz.guesses import choices_figure, numbers_figure
from simulator.workshop.answers import is_right, room, room_sentence, shown

ensure_frame()
K_CODE, K_ME = "code", "me"
FONT = 14

st.html("""<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header [data-testid="stToolbar"] { display: none !important; }
.wj-question { font-size: 1.35rem; font-weight: 700; line-height: 1.3; margin: 0.3rem 0 0.6rem 0; }
.wj-answer { font-size: 2.1rem; font-weight: 800; color: #2ca02c; line-height: 1.15; }
.wj-mine { font-size: 1.1rem; }
[data-testid="stRadio"] label { padding: 0.35rem 0; }
[data-testid="stRadio"] label p { font-size: 1.1rem; }
</style>""")

store = team.store()
code = workshops.normalise_code(st.query_params.get(K_CODE, ""))
token = st.query_params.get(K_ME, "")


def join_form(message: str | None = None) -> None:
    st.title("Join the workshop")
    if message:
        st.warning(message)
    with st.form("wj_join", border=False):
        typed = st.text_input("Code on the screen", value=code, max_chars=8, key="wj_code",
                              placeholder="e.g. K7P4QX")
        name = st.text_input("Your name", max_chars=workshops.NAME_CHARS, key="wj_name",
                             placeholder="a first name is enough")
        if st.form_submit_button("Join", type="primary", key="wj_go", width="stretch"):
            try:
                joined = workshops.join(store, typed, name)
            except (ValueError, LookupError) as err:
                st.error(str(err))
            else:
                st.query_params[K_CODE] = joined.code
                st.query_params[K_ME] = joined.token
                st.rerun()
    st.caption("Only your name and your answers are kept, for this workshop.")


if not token:
    join_form()
    st.stop()
try:
    view = workshops.participant_view(store, code, token)
except LookupError:
    st.query_params.pop(K_ME, None)
    join_form("This link does not belong to a participant of this workshop; please join again.")
    st.stop()


@st.fragment(run_every=ws.POLL)
def follow(revision: int) -> None:
    """Look for the facilitator's next step every two seconds; redraw the page when there is one."""
    try:
        latest, people, answers = workshops.pulse(store, code)
    except LookupError:
        return
    if latest != revision:
        st.rerun()
    if view.act is not None and not view.revealed:
        st.caption(f"{answers} of {people} people have answered.")


st.caption(f"{escape_markdown(view.title)} · you are **{escape_markdown(view.name)}**")
if view.closed:
    st.title("Thank you!")
    st.markdown("The workshop has ended.")
    st.stop()
follow(view.revision)  # one place on every screen, so the poll keeps its identity from one act to the next
if view.on_closing:
    st.title("That was the last question")
    st.markdown("Look at the screen: the room is deciding what to do about it.")
    st.stop()

act = view.act
answer = act.answer
st.subheader(f"Question {view.act_number} of {view.act_count}: {escape_markdown(act.title)}")
if act.setup and not view.revealed:
    st.markdown(escape_markdown(act.setup))
st.html(f'<div class="wj-question">{html.escape(act.question)}</div>')

if not view.revealed:
    if view.mine is not None:
        mine = shown(answer, view.mine) if isinstance(view.mine, float) else view.mine
        st.success(f"Your answer: **{escape_markdown(mine)}**. You can change it until the answer is revealed.",
                   icon=":material/check_circle:")
    with st.form(f"wj_answer_{view.act_number}", border=False):
        if answer.kind == "choice":
            labels = [c.label for c in answer.choices]
            picked = st.radio("Your answer", labels, index=labels.index(view.mine) if view.mine in labels else None,
                              key=f"wj_pick_{view.act_number}")
        else:
            picked = st.number_input(f"Your answer{f' ({answer.unit})' if answer.unit else ''}",
                                     min_value=answer.guess_min, max_value=answer.guess_max,
                                     value=view.mine if isinstance(view.mine, float) else None,
                                     step=10.0 ** -answer.decimals, format=f"%.{answer.decimals}f",
                                     placeholder="type a number", key=f"wj_number_{view.act_number}")
        sent = st.form_submit_button("Change my answer" if view.mine is not None else "Send my answer",
                                     type="primary", width="stretch")
    if sent:
        if picked is None:
            st.error("Pick one of the choices." if answer.kind == "choice" else "Type a number.")
        else:
            try:
                workshops.answer(store, code, token, view.act_number - 1, picked)
            except workshops.NotOpen as err:
                st.info(str(err))
            except (ValueError, LookupError) as err:
                st.error(str(err))
            st.rerun()
    st.stop()

truth = view.truth
result = room(answer, truth, view.guesses)
st.html(f'<div>The simulation says</div><div class="wj-answer">{html.escape(truth.choice or truth.shown)}</div>')
if view.mine is None:
    st.markdown("You did not answer this one.")
else:
    mine = shown(answer, view.mine) if isinstance(view.mine, float) else view.mine
    verdict = "right" if answer.kind == "choice" else "close"
    st.html(f'<div class="wj-mine">Your answer: <b>{html.escape(mine)}</b> '
            f'({verdict if is_right(answer, truth, view.mine) else "not " + verdict})</div>')
st.markdown(escape_markdown(room_sentence(answer, truth, result)))
if answer.kind == "choice":
    fig = choices_figure([c.label for c in answer.choices], list(result.counts.values()), truth.choice,
                         font_size=FONT, height=260, wrap=18)
else:
    fig = numbers_figure([g for g in view.guesses if isinstance(g, float)], float(truth.value), truth.shown,
                         answer.decimals, font_size=FONT, height=260)
chart(fig, key="wj_guesses", config={"displayModeBar": False, "staticPlot": True})
for paragraph in view.story:
    st.markdown(paragraph)
