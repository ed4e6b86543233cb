"""docroute: code documentation with local LLMs, each task routed to the right model.

The public API. Importing it loads no model, builds no client and reads no environment.
"""

from . import _exceptions
from ._exceptions import *  # noqa: F403 (the exception tree, as its __all__ lists it)
from .config import Config, ModelConfig, default_config, load_config
from .types import DocContent, Example, Insertion, Param, Unit

__version__ = "0.1.0"

__all__ = [
    "Config",
    "DocContent",
    "Example",
    "Insertion",
    "ModelConfig",
    "Param",
    "Unit",
    "__version__",
    "default_config",
    "load_config",
]
__all__ += _exceptions.__all__  # every exception class
