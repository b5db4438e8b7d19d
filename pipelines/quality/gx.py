"""Great Expectations, imported once for the check step, without what it would load and never be used for."""

from __future__ import annotations

import os
import sys

# GX would otherwise try to send usage statistics over the network on every context.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _import_without_pyspark() -> None:
    """Import GX with PySpark out of its sight.

    GX probes for PySpark at import, for Spark data sources we never use: once the `spark` extra is installed that
    is a second of imports on every run (and a pandas-3 warning on stderr). A process that already runs Spark (the
    Spark engine) imported it before and keeps it.
    """
    hidden = "pyspark" not in sys.modules
    if hidden:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # makes `import pyspark` raise ImportError
    try:
        import great_expectations  # noqa: F401
    finally:
        if hidden:
            del sys.modules["pyspark"]


_import_without_pyspark()

# Every module of this package takes GX from here, so the import above is always the first.
import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.core import ExpectationValidationResult  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context import EphemeralDataContext  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.metadata_types import FailureSeverity  # noqa: E402
from great_expectations.validator.v1_validator import Validator  # noqa: E402

__all__ = [
    "BatchDefinition",
    "DataContextConfig",
    "EphemeralDataContext",
    "ExpectationValidationResult",
    "FailureSeverity",
    "InMemoryStoreBackendDefaults",
    "ProgressBarsConfig",
    "Validator",
    "gx",
    "gxe",
]
