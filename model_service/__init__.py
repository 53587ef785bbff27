"""The model service: what Azure ML runs, and nothing else. This directory is Azure ML's source
directory, uploaded and hashed as is: `score.py` (the entry script) and the modules it imports,
`logging.json`, and the scoring environment (`environment.yml` for the image, `requirements.txt`
for the local target's virtualenv).

`score.py` puts this directory on sys.path once, as azmlinfsrv loads it, and every module here
imports its siblings by their plain names; nothing imports the repo. Training, data and the
client are model_tools/, which is never uploaded.
"""
