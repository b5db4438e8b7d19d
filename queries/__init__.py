"""All SQL and its declarations (`*.sql`, `*.yml`), one file per statement or model.

A package only so that the wheel ships the files: code finds them through `pipelines.queries`, which locates this
folder from the imported package, whatever the working directory and however the project was installed.
"""
