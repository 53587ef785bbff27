"""The model's tools on your machine, never uploaded to Azure: the MNIST IDX format and the digits
(`mnist`, `augment`), the how-to's DNN and its training (`model`, `train`, `training_options`,
`model_dir`), and the client that queries a deployed service (`client`, `client_request`).

Run from the repository root in the scoring virtualenv (`.venv-scoring`), e.g.
`python -m model_tools.train --digits --out artifacts/model`; modules import each other as
`model_tools.x`. Nothing here is part of a deployment: model_service/ is what Azure ML uploads
and hashes, so editing these files changes no deployment input (tests/infra/test_source_scope.py).
"""
