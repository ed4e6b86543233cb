"""docroute: code documentation with local LLMs, each task routed to the right model.

The public API. Importing it loads no model, builds no client and reads no environment.
"""

from ._exceptions import (
    AllAttemptsFailed,
    BackendError,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ContextOverflowError,
    DocrouteError,
    InputError,
    ModelNotFound,
    ParseError,
    PromptTruncated,
    UnsafeEditError,
    ValidationError,
)
from .config import Config, ModelConfig, default_config, load_config
from .types import DocContent, Example, Insertion, Param, Unit

__version__ = "0.1.0"

__all__ = [
    "AllAttemptsFailed",
    "BackendError",
    "BackendOverloaded",
    "BackendTimeout",
    "BackendUnavailable",
    "Config",
    "ConfigError",
    "ContextOverflowError",
    "DocContent",
    "DocrouteError",
    "Example",
    "InputError",
    "Insertion",
    "ModelConfig",
    "ModelNotFound",
    "Param",
    "ParseError",
    "PromptTruncated",
    "Unit",
    "UnsafeEditError",
    "ValidationError",
    "__version__",
    "default_config",
    "load_config",
]
