"""Base class for every scenario section: frozen, unknown keys rejected."""
from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A frozen pydantic model that rejects unknown keys (typos fail loudly)."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
