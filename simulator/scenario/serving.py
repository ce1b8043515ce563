"""Model variants (precision), replica memory and cold-start time: the numbers behind elasticity.

Defaults cite mechanisms.md section 7. The PyTorch dynamic-quantization tutorial on
bert-base (CPU) measured 438 MB -> 181 MB (int8 size factor 0.41) and 160 s -> 90 s on one
thread (service-time factor 0.56). fp16 halves the bytes exactly; on CPUs without native fp16
arithmetic it brings no speed-up, so its service factor defaults to 1.0 [derived]. Accuracy is
never assumed here: it is measured on a real model (simulator.ml) for each precision.
"""
from __future__ import annotations

from pydantic import Field

from simulator.common.limits import MAX_NAME_CHARS
from simulator.common.section import Section


class ModelServingConfig(Section):
    """The served model: how it is trained (for measured accuracy) and what each precision costs."""

    version: str = Field("v1", min_length=1, max_length=MAX_NAME_CHARS, description="Version label of the primary model")
    training_seed: int = Field(
        7, ge=0, le=2**63 - 1, description="Seed of the synthetic training data (the deployed artifact)")
    base_size_mb: float = Field(438.0, gt=0, le=200_000, description="Model size at fp32 (MB); bert-base is 438 MB")
    runtime_memory_gib: float = Field(1.0, ge=0, le=1024, description="Memory of the serving process without the model (GiB)")
    memory_per_model_gb: float = Field(
        2.0, ge=1, le=10, description="Resident memory per GB of model (weights plus buffers and activations)")
    fp16_size_factor: float = Field(0.5, gt=0, le=1, description="fp16 model size relative to fp32 (half the bytes)")
    fp16_service_factor: float = Field(
        1.0, gt=0, le=2, description="fp16 service time relative to fp32 (1.0: no speed-up on CPUs without fp16 units)")
    int8_size_factor: float = Field(
        0.41, gt=0, le=1, description="int8 model size relative to fp32 (PyTorch BERT tutorial: 438 -> 181 MB)")
    int8_service_factor: float = Field(
        0.56, gt=0, le=2, description="int8 service time relative to fp32 (PyTorch BERT tutorial: 160 s -> 90 s)")
    decision_threshold: float = Field(0.5, gt=0, lt=1, description="Approve when P(good) >= this")


class ColdStartConfig(Section):
    """A new replica is ready only after provisioning, image pull, model load and warm-up."""

    provisioning_s: float = Field(5.0, ge=0, le=3600, description="Scheduling and container start (s)")
    image_pull_s: float = Field(20.0, ge=0, le=3600, description="Pulling the serving image (s)")
    model_load_s_per_gb: float = Field(10.0, ge=0, le=3600, description="Loading the model, per GB of model size (s)")
    warmup_requests: int = Field(10, ge=0, le=100_000, description="Warm-up requests run before taking traffic")
    node_provisioning_s: float = Field(
        90.0, ge=0, le=3600, description="Extra wait when the replica needs a new node (cluster autoscaler) (s)")


def size_factor(cfg: ModelServingConfig, precision: str) -> float:
    return {"fp32": 1.0, "fp16": cfg.fp16_size_factor, "int8": cfg.int8_size_factor}[precision]


def service_factor(cfg: ModelServingConfig, precision: str) -> float:
    return {"fp32": 1.0, "fp16": cfg.fp16_service_factor, "int8": cfg.int8_service_factor}[precision]


def model_size_gb(cfg: ModelServingConfig, precision: str) -> float:
    return cfg.base_size_mb * size_factor(cfg, precision) / 1000.0


def replica_memory_gib(cfg: ModelServingConfig, precision: str) -> float:
    """Memory one replica needs: the runtime plus the model with its buffers."""
    return cfg.runtime_memory_gib + model_size_gb(cfg, precision) * cfg.memory_per_model_gb


def cold_start_s(cold: ColdStartConfig, serving: ModelServingConfig, precision: str,
                 service_ms: float, needs_new_node: bool) -> float:
    """Seconds from 'replica requested' to 'replica ready'."""
    warmup_s = cold.warmup_requests * service_ms * service_factor(serving, precision) / 1000.0
    node_s = cold.node_provisioning_s if needs_new_node else 0.0
    return (node_s + cold.provisioning_s + cold.image_pull_s
            + cold.model_load_s_per_gb * model_size_gb(serving, precision) + warmup_s)
