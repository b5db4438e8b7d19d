"""Great Expectations, imported once for the check step, without what it would load and never be used for."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

# GX would otherwise try to send usage statistics over the network on every context.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


# Imported by expectations we never use (KL divergence, KS tests), for their computations and charts only: loaded
# on first use instead of at GX's import, which they make 1.4 s slower on every run.
_DEFERRED = ("scipy.stats", "altair")


class _Deferred(importlib.abc.MetaPathFinder):
    """Finds `_DEFERRED` modules as the other finders do, but executes each on its first attribute read."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def _import_lean() -> None:
    """Import GX with PySpark out of its sight and the `_DEFERRED` modules loaded on first use.

    GX probes for PySpark at import, for Spark data sources we never use: once the `spark` extra is installed that
    is a second of imports on every run (and a pandas-3 warning on stderr). A process that already runs Spark (the
    Spark engine) imported it before and keeps it.
    """
    hidden = "pyspark" not in sys.modules
    if hidden:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # makes `import pyspark` raise ImportError
    deferred = _Deferred()
    sys.meta_path.insert(0, deferred)
    try:
        import great_expectations  # noqa: F401
    finally:
        sys.meta_path.remove(deferred)
        if hidden:
            del sys.modules["pyspark"]


_import_lean()

# Every module of this package takes GX from here, so the import above is always the first.
import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.core import ExpectationValidationResult  # noqa: E402
from great_expectations.core.batch_definition import BatchDefinition  # noqa: E402
from great_expectations.data_context import EphemeralDataContext, set_context  # noqa: E402
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import Expectation  # noqa: E402
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration  # noqa: E402
from great_expectations.expectations.metadata_types import FailureSeverity  # noqa: E402
from great_expectations.validator.v1_validator import Validator  # noqa: E402


@contextmanager
def configurations_built_once() -> Iterator[None]:
    """While inside: each expectation builds its `configuration` once instead of at every read.

    GX rebuilds an expectation's configuration (a pydantic `dict()` and a new object) each time it reads one of its
    arguments, some 45 times per expectation and validation: two fifths of the check step on a small warehouse.
    Inside one validation nothing changes an expectation (GX makes its own from the suite's configurations and
    only reads them), so the first build serves every read. Not for code that changes expectations meanwhile.
    """
    build = vars(Expectation).get("configuration")
    if not isinstance(build, property):  # another GX release: leave it be, only slower
        yield
        return
    built: dict[int, tuple[Expectation, ExpectationConfiguration]] = {}  # by id(); holding it keeps the id unique

    def configuration(self: Expectation) -> ExpectationConfiguration:
        entry = built.get(id(self))
        if entry is None:
            entry = built[id(self)] = (self, build.fget(self))  # type: ignore[misc]
        return entry[1]

    replaced: Any = property(configuration)
    Expectation.configuration = replaced  # type: ignore[method-assign]
    try:
        yield
    finally:
        Expectation.configuration = build  # type: ignore[method-assign, assignment]
        built.clear()


__all__ = [
    "BatchDefinition",
    "Expectation",
    "ExpectationConfiguration",
    "DataContextConfig",
    "EphemeralDataContext",
    "ExpectationValidationResult",
    "FailureSeverity",
    "InMemoryStoreBackendDefaults",
    "ProgressBarsConfig",
    "Validator",
    "configurations_built_once",
    "gx",
    "gxe",
    "set_context",
]
