"""Step 4, check: Great Expectations suites over the freshly built warehouse gate every publish."""

import warnings

# After the Spark engine ran, Great Expectations finds PySpark imported and loads its testing helpers (gx.py), which
# warn about pandas 3: noise on the run's stderr that says nothing about this run. Our Spark engine uses no pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
