"""The model service: what Azure ML runs (score.py) and the tools around it (train, client).

This directory is also Azure ML's source directory, uploaded as is; its modules import only
the scoring environment's packages at import time (numpy, tensorflow), nothing from the repo.
"""
