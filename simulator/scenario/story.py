"""How a scenario speaks and what it promises: its domain words, its service levels, and
whether it is a typical period or a one-off event.

Why: an executive reads "loan applications" and "the credit model" in a lending story, not
"card payments" and "the fraud model"; a monthly projection of a ten-hour incident is
nonsense, so a scenario says whether its period is typical (a month is many such periods)
or one-off, and for a one-off event how to run the same period without it (the paired run
that prices the incident).
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, JsonValue, model_validator

from simulator.common.limits import MAX_ENTRIES, check_small_overrides
from simulator.common.section import Section

# dotted overrides as a scenario holds them: small JSON documents, each checked where it lands
DottedOverrides = Annotated[dict[str, JsonValue], BeforeValidator(check_small_overrides)]


class Vocabulary(Section):
    """The scenario's own words for what flows through the service and what the model decides."""

    request: str = Field("card payment", min_length=1, max_length=60,
                         description="One request in the domain's words, singular ('card payment', 'loan application')")
    requests: str = Field("card payments", min_length=1, max_length=60, description="The same word, plural")
    customer: str = Field("customer", min_length=1, max_length=40,
                          description="Who is waiting for the answer, singular ('customer', 'applicant')")
    customers: str = Field("customers", min_length=1, max_length=40, description="The same word, plural")
    decision: str = Field("fraud decision", min_length=1, max_length=60,
                          description="What the model decides ('fraud decision', 'loan decision')")
    model: str = Field("fraud model", min_length=1, max_length=60,
                       description="The model's name in sentences ('fraud model', 'credit model')")
    approved: str = Field("approved", min_length=1, max_length=40, description="The positive decision ('approved')")
    rejected: str = Field("blocked", min_length=1, max_length=40, description="The negative decision ('blocked', 'declined')")
    caught: str = Field("fraud stopped", min_length=1, max_length=80,
                        description="What a correct negative decision achieves ('fraud stopped', 'defaults avoided')")
    false_alarm: str = Field("good customers blocked", min_length=1, max_length=80,
                             description="What a wrong negative decision does ('good customers blocked')")


class ServiceLevels(Section):
    """The promises the service is judged against (the latency promise is ``slo_latency_ms``)."""

    on_time_target: float = Field(0.99, gt=0, le=1,
                                  description="Share of customers that must get their answer within slo_latency_ms")
    availability_target: float = Field(0.999, gt=0, le=1,
                                       description="Share of customers that must get an answer at all")


class Period(Section):
    """Whether the simulated period is typical (a month is many like it) or a one-off event."""

    kind: Literal["typical", "one_off"] = Field(
        "typical", description="typical: costs may be projected to a month; one_off: an event priced against the "
                               "same period without it")
    incident: str = Field("", max_length=80, description="Plain name of the one-off event ('the weather-service "
                                                         "outage'); empty for a typical period")
    without_incident: DottedOverrides = Field(
        {}, max_length=MAX_ENTRIES,
        description="Dotted overrides giving the same period without the incident, e.g. "
                    "{faults.external_api: []}; required for one_off; each is checked where it lands")

    @model_validator(mode="after")
    def _check(self) -> Period:
        if self.kind == "one_off" and not self.without_incident:
            raise ValueError("without_incident: a one_off period needs the overrides that remove its incident "
                             "(e.g. {faults.external_api: []})")
        if self.kind == "one_off" and not self.incident.strip():
            raise ValueError("incident: a one_off period needs a plain name for its event")
        return self
