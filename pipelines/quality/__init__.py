"""Step 4, check: Great Expectations suites over the freshly built warehouse gate every publish."""

import warnings

# Great Expectations imports PySpark when it is installed (the `spark` extra), and PySpark warns about pandas 3 on
# import: noise on every run's stderr that says nothing about this run. Our Spark engine does not use pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
