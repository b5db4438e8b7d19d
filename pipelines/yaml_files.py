"""The one reader of the project's YAML declarations (sources, checks, contracts, history entities, metrics, rules).

Every CLI process reads them, an ETL run all of them: libyaml's parser (PyYAML's C loader) reads the same documents
into the same values about ten times faster than the pure-Python one, which was a tenth of a small refresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# PyYAML is built without libyaml on some platforms: the pure-Python loader reads the same documents, only slower.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The document in `path`, loaded safely (plain data only, as `yaml.safe_load`)."""
    return yaml.load(path.read_text(), Loader=_SAFE_LOADER)
