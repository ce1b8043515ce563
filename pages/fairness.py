"""Fairness & governance: are regions treated alike, do we notice when they are not, what human
review costs, how good the model is on live traffic, why it decided, and who did what."""
import streamlit as st

from dashboard import state, widgets
from dashboard.frame import ensure_frame
from simulator.scenario.config import ScenarioError, with_overrides
from simulator.scenario.rates import expected_arrivals
from simulator.viz import feature_charts as fc

ensure_frame()  # a direct link on a fresh server still gets the sidebar and menu


widgets.page_header("Fairness & governance", "fairness")

result = state.current_run()
found = state.current_findings()
sc, summary, ev = result.scenario, result.summary, result.events
extra = result.extra or {}
fair, reviews, reviewers = extra.get("fairness"), extra.get("reviews"), extra.get("reviewers")
size = state.font_size()
presenting = state.presentation_mode()
fsum, review, model = summary.fairness, summary.review, summary.model
monitored = fsum is not None and fsum.enabled and fair is not None and len(fair) > 0

if model is None:
    st.info("This scenario has no model stage, so there are no decisions to check. Pick **fairness_drift** (a "
            "regional economic shock) or **no_feature_store** in the sidebar.", icon=":material/info:")
    st.stop()

tiles = fc.fairness_tiles(sc, summary, found, fair if monitored else None)
widgets.kpi_row(tiles, key="fairness")
figures, paragraphs = [], []

# --------------------------------------------------------------------------- fairness
st.subheader("Are all regions treated alike?")
rates = model.approval_rate_by_group
if monitored:
    text = fc.fairness_paragraph(sc, found)
    paragraphs.append(text)
    st.markdown(text)
    figures.append(fc.di_figure(sc, fair, ev, size))
    widgets.chart(figures[-1], key="fair_di")
    cols = st.columns(1 if presenting else 2)
    with cols[0]:
        figures.append(fc.group_rates_figure(sc, fair, size))
        widgets.chart(figures[-1], key="fair_groups")
    if rates:
        with cols[-1]:
            figures.append(fc.approval_rates_figure(rates, sc.fairness.threshold, size))
            widgets.chart(figures[-1], key="fair_rates")
else:
    st.info("The fairness monitor is switched off in this scenario, so nobody is alerted to a gap. Pick "
            "**fairness_drift** in the sidebar to watch a regional economic shock being noticed, reviewed and "
            "fixed.", icon=":material/info:")
    fairness = found.get("fairness")
    if fairness is not None:
        paragraphs.append(fairness.headline)
        st.markdown(fairness.headline)
    if rates:
        figures.append(fc.approval_rates_figure(rates, sc.fairness.threshold, size))
        widgets.chart(figures[-1], key="fair_rates")

# --------------------------------------------------------------------------- human review
if review is not None and review.cases and found.get("review") is not None:
    st.subheader("Human review")
    text = found.get("review").headline
    paragraphs.append(text)
    st.markdown(text)
    figures.append(fc.review_backlog_figure(sc, reviews, reviewers, size))
    widgets.chart(figures[-1], key="fair_backlog")
elif monitored:
    st.caption("No decisions were sent to human review in this run.")

# --------------------------------------------------------------------------- model quality
st.subheader("Is the model as good on live traffic as in testing?")
text = fc.skew_sentence(sc, summary)
if text:
    paragraphs.append(text)
    st.markdown(text)
quality = fc.model_quality_table(sc, summary)
if len(quality):
    st.dataframe(quality, hide_index=True, width="stretch")
if sc.feature_store.mode == "online_store":
    st.caption("Pick **no_feature_store** in the sidebar to see what computing features on the spot "
               "(training-serving skew) does to these numbers.")
else:
    st.caption("Open **Compare** to run this scenario against the same service with a feature store "
               "(same customers): slower answers and lower live accuracy are what the feature store saves.")

# --------------------------------------------------------------------------- explanations
st.subheader("Why did the model decide that?")
explanations = extra.get("explanations")
focus = None
if monitored:
    flagged = fair[fair["flagged"].astype(bool)]
    focus = str(flagged["worst_group"].iloc[0]) if len(flagged) else None
if focus is None and rates:
    focus = min(rates, key=rates.get)
source = result
if explanations is None or len(explanations) == 0:
    st.markdown("This scenario does not explain its decisions (explanations are off). Switching them on adds a "
                "little work to each explained decision.")
    if st.toggle("Show example explanations", value=False, key="fair_explain",
                 help="Simulates the scenario again with explanations for a sample of decisions (same customers, "
                      "same seed)."):
        rate = min(1.0, max(0.01, 300.0 / max(expected_arrivals(sc), 1.0)))
        try:
            variant = with_overrides(sc, {"explanations.mode": "sampled", "explanations.sample_rate": rate})
            source = state.run_many([(variant, result.seed)], label="the run with explanations")[0]
            explanations = (source.extra or {}).get("explanations")
        except ScenarioError as err:
            st.warning("\n".join(err.lines))
if explanations is not None and len(explanations):
    flag_s = fsum.first_flag_s if fsum is not None else None
    examples = fc.explanation_examples(source.scenario, explanations, source.requests, n=6, focus_group=focus,
                                       after_s=flag_s)
    st.caption("A few decisions with the two facts that weighed most"
               + (" after the first fairness flag" if flag_s is not None else "")
               + (f"; rejections in the {focus} region first." if focus else "."))
    st.dataframe(examples, hide_index=True, width="stretch")

# --------------------------------------------------------------------------- audit log
st.subheader("Audit log")
audit = extra.get("audit")
st.markdown(fc.audit_summary(audit))
table = fc.audit_table(sc, audit)
if len(table):
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(table)))

widgets.downloads(result, "fairness", f"Fairness & governance: {sc.name}", figures=figures, tiles=tiles,
                  paragraphs=paragraphs, found=found)
