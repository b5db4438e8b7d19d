"""Step 4, check: Great Expectations suites over the freshly built warehouse gate every publish."""
