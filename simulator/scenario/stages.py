"""Scenario sections of the request path's stations: traffic, ingestion, feature store, dependency, model pool."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from simulator.common.limits import (
    MAX_CV,
    MAX_DURATION_S,
    MAX_ENTRIES,
    MAX_LATENCY_MS,
    MAX_NAME_CHARS,
    MAX_POINTS,
    MAX_REPLICAS,
)
from simulator.common.section import Section
from simulator.mechanisms.breaker import BreakerConfig, RetryConfig

Dist = Literal["exponential", "lognormal", "gamma", "constant"]

MAX_RATE_PER_S = 200_000.0
MAX_SHARE = 1e6            # segment and region shares are relative weights
MAX_PATH_CHARS = 4096
# a URL or fsspec-style protocol ("http://", "s3:", "file:", "simplecache::"), or a Windows network share
URL_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+:|\\\\)")


class TrafficSpike(Section):
    """A named surge: the rate ramps up to ``multiplier`` x, holds, and ramps back down."""

    name: str = Field("spike", max_length=MAX_NAME_CHARS, description="Name shown on charts and in the narrative")
    start_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="When the ramp up begins (s after start)")
    multiplier: float = Field(2.0, ge=0, le=100, description="Peak rate as a multiple of the base rate")
    ramp_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, description="Seconds to ramp from 1x to the peak (and back)")
    duration_s: float = Field(600.0, gt=0, le=MAX_DURATION_S, description="Seconds at the peak, between the two ramps")


class DailyCurve(Section):
    """A smooth day/night cycle: rate x (1 + amplitude x cos(2 pi (hour - peak_hour) / 24))."""

    enabled: bool = Field(False, description="Apply the day/night cycle")
    amplitude: float = Field(0.5, ge=0, le=1, description="Relative swing around the mean (0 = flat)")
    peak_hour: float = Field(14.0, ge=0, lt=24, description="Hour of day with the highest traffic")


class TrafficConfig(Section):
    """Open-loop arrivals: who arrives, when, and with which attributes."""

    kind: Literal["poisson", "replay"] = Field(
        "poisson", description="poisson: (time-varying) Poisson arrivals; replay: timestamps from a CSV")
    rate_per_s: float = Field(50.0, ge=0, le=MAX_RATE_PER_S, description="Base arrival rate (requests per second)")
    profile_points: tuple[tuple[float, float], ...] = Field(
        (), max_length=MAX_POINTS,
        description="Piecewise-linear rate multiplier as (t_s, multiplier) points; empty = flat")
    daily: DailyCurve = DailyCurve()
    spikes: tuple[TrafficSpike, ...] = Field(
        (), max_length=MAX_ENTRIES, description="Named surges on top of the base profile")
    replay_csv: str | None = Field(
        None, max_length=MAX_PATH_CHARS,
        description="CSV file with a column t_s of arrival times (kind: replay); a local file, never a URL")
    segments: dict[str, float] = Field(
        {"consumer": 0.8, "business": 0.2}, min_length=1, max_length=MAX_ENTRIES,
        description="Customer segments and their shares of traffic")
    regions: dict[str, float] = Field(
        {"north": 0.3, "south": 0.3, "east": 0.2, "west": 0.2}, min_length=1, max_length=MAX_ENTRIES,
        description="Customer regions and their shares of traffic")

    @field_validator("replay_csv")
    @classmethod
    def _local_file_only(cls, path: str | None) -> str | None:
        if path is None:
            return None
        if not path.strip():
            raise ValueError("give a file name")
        if any(not c.isprintable() for c in path):
            raise ValueError("a file name cannot contain control characters")
        if URL_PATTERN.search(path):
            raise ValueError("replay data is read from a local file, never from a URL")
        return path

    @model_validator(mode="after")
    def _check(self) -> TrafficConfig:
        for name, shares in (("segments", self.segments), ("regions", self.regions)):
            if any(not 0 < len(key) <= MAX_NAME_CHARS for key in shares):
                raise ValueError(f"{name}: names must have 1 to {MAX_NAME_CHARS} characters")
            if any(not 0 <= v <= MAX_SHARE for v in shares.values()) or sum(shares.values()) <= 0:
                raise ValueError(f"{name}: shares must be between 0 and {MAX_SHARE:g} and sum to more than 0")
        times = [p[0] for p in self.profile_points]
        if any(b < a for a, b in zip(times, times[1:])):
            raise ValueError("profile_points: times must be increasing")
        if any(not (0 <= p[0] <= MAX_DURATION_S and 0 <= p[1] <= 100) for p in self.profile_points):
            raise ValueError(f"profile_points: times must be in [0, {MAX_DURATION_S:g}] s and multipliers in [0, 100]")
        if self.kind == "replay" and not self.replay_csv:
            raise ValueError("replay_csv: required when kind is replay")
        return self


class StreamConfig(Section):
    """A Kafka-like topic read by one consumer group; each partition has exactly one consumer."""

    partitions: int = Field(12, ge=1, le=10_000, description="Partitions of the topic")
    consumers: int = Field(4, ge=1, le=10_000, description="Consumers in the group (parallelism = min(consumers, partitions))")
    process_ms: float = Field(2.0, ge=0, le=MAX_LATENCY_MS, description="Mean consumer processing time per message (ms)")
    process_cv: float = Field(1.0, ge=0, le=MAX_CV, description="Coefficient of variation of the processing time")
    process_dist: Dist = Field("exponential", description="Distribution of the processing time")


class BatchConfig(Section):
    """A scheduled job: requests wait for the next trigger, then flow at the job's throughput."""

    interval_s: float = Field(
        3600.0, ge=1, le=MAX_DURATION_S,
        description="Seconds between job triggers (at least 1 s; for faster delivery use stream mode)")
    throughput_per_s: float = Field(500.0, gt=0, le=1e7, description="Records the job pushes through per second")
    startup_s: float = Field(30.0, ge=0, le=86_400, description="Job start-up time before the first record flows (s)")


class IngestionConfig(Section):
    """How requests enter the pipeline."""

    mode: Literal["direct", "stream", "batch"] = Field(
        "direct", description="direct: synchronous call (stage off); stream: topic + consumers; batch: scheduled job")
    stream: StreamConfig = StreamConfig()
    batch: BatchConfig = BatchConfig()


class FeatureStoreConfig(Section):
    """Online feature lookup; a miss (or no store) computes features from the source database."""

    mode: Literal["online_store", "compute", "off"] = Field(
        "online_store",
        description="online_store: lookup, misses go to the DB; compute: no store, every request queries the DB; off: stage disabled")
    hit_ratio: float = Field(0.95, ge=0, le=1, description="Probability that the online store has fresh features")
    lookup_ms: float = Field(2.0, ge=0, le=60_000, description="Mean online lookup latency (ms)")
    lookup_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the lookup latency")
    lookup_dist: Dist = Field("lognormal", description="Distribution of the lookup latency")
    db_connections: int = Field(8, ge=1, le=10_000, description="Connection pool size of the source database")
    db_query_ms: float = Field(40.0, ge=0, le=MAX_LATENCY_MS, description="Mean time a feature computation holds a DB connection (ms)")
    db_query_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the DB query time")
    db_query_dist: Dist = Field("lognormal", description="Distribution of the DB query time")
    materialization_interval_s: float = Field(
        900.0, gt=0, le=MAX_DURATION_S, description="Online features are refreshed this often; a hit is up to this stale (s)")


class ExternalApiConfig(Section):
    """An enrichment call to a third-party service (weather); no connection limit."""

    enabled: bool = Field(True, description="Call the external API on every request")
    name: str = Field("weather service", max_length=MAX_NAME_CHARS, description="Plain-language name of the dependency")
    latency_ms: float = Field(60.0, ge=0, le=MAX_LATENCY_MS, description="Mean call latency (ms)")
    latency_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the call latency")
    latency_dist: Dist = Field("lognormal", description="Distribution of the call latency")
    timeout_ms: float = Field(1000.0, ge=1, le=MAX_LATENCY_MS, description="Client timeout; slower calls fail at this time (ms)")
    error_rate: float = Field(0.0, ge=0, le=1, description="Share of calls that fail even when the service is healthy")
    error_latency_ms: float = Field(5.0, ge=0, le=MAX_LATENCY_MS, description="How fast a failing call returns its error (ms)")
    fallback: Literal["none", "cached", "default"] = Field(
        "none", description="When the call fails: none (the request fails), cached (last good answer for the region), default (a constant)")
    cache_max_staleness_s: float = Field(
        3600.0, ge=0, le=MAX_DURATION_S, description="A cached answer older than this is not used (s)")
    cached_accuracy_penalty: float = Field(
        0.01, ge=0, le=1, description="Accuracy lost when the model uses a cached answer (absolute, 0-1)")
    default_accuracy_penalty: float = Field(
        0.03, ge=0, le=1, description="Accuracy lost when the model uses the default answer (absolute, 0-1)")
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()


class InferenceConfig(Section):
    """A pool of model replicas; each serves ``concurrency`` requests at once, FIFO queue in front."""

    enabled: bool = Field(True, description="Run the model stage")
    replicas: int = Field(
        4, ge=0, le=MAX_REPLICAS, description="Replicas serving the model (the fixed pool, or the autoscaler's start)")
    precision: Literal["fp32", "fp16", "int8"] = Field(
        "fp32", description="Numeric precision of the served model (changes speed, memory and measured accuracy)")
    concurrency: int = Field(1, ge=1, le=1_000, description="Requests one replica serves at the same time")
    service_ms: float = Field(20.0, ge=0, le=MAX_LATENCY_MS, description="Mean model service time per request (ms)")
    service_cv: float = Field(0.5, ge=0, le=MAX_CV, description="Coefficient of variation of the service time")
    service_dist: Dist = Field("lognormal", description="Distribution of the service time")
    queue_limit: int | None = Field(
        None, ge=0, le=10_000_000,
        description="Max requests waiting; beyond it a request is rejected (null or unlimited = no limit)")
    timeout_ms: float | None = Field(
        None, ge=1, le=3_600_000,
        description="Request deadline from entering the queue; later answers fail (null or none = no deadline)")


class TracingConfig(Section):
    """Which requests get OpenTelemetry-style spans (one per stage, queue wait and service apart)."""

    sample_rate: float = Field(0.01, ge=0, le=1, description="Share of requests traced (head sampling)")
    service_name: str = Field("fraud-scoring", min_length=1, max_length=MAX_NAME_CHARS,
                              description="service.name attribute of exported spans")
