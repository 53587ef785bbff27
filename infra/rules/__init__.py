"""The rules every layer checks the same way: one copy, stdlib only, relative imports only.

- `checks.py`: a `Rule` (what a typed value must be, and the words for it) and the message style
  (how a refused value is shown, `≥`/`≤` not `>=`).
- `values.py`: the value rules: names (service, model, prefixes...), ranges of the service
  settings, node and worker counts, azure-v2's traffic steps.
- `tags.py`: the required tags and the `expires-on` language (a date, or a timestamp with an
  offset), with its one parser.
- `gpu_sizes.py`: the GPU VM sizes and the retired ones with their replacements.
- `aks_nodes.py`: the CPU and memory AKS leaves allocatable to pods on a node.

Who imports it, and how (each runs with a different `sys.path`, so this package lives where all
of them can reach it without path tricks):

- the program (`infra/__main__.py`) and the dynamic provider host (`python -m pulumi.dynamic`)
  run with `infra/` as cwd: `import rules` (config_*.py, deployment/validation.py);
- `scripts/` runs as `python -m scripts.x` from the repository root: `from infra.rules import ...`
  (`infra` is a namespace package there; the rules' relative imports work under both names);
- the policy pack runs with `policy/` as cwd: `policy/rules` is a symlink to this folder, so
  `import rules` finds the same files (`pulumi policy publish` archives the files it points at);
- the tests have both `.` and `infra/` on `sys.path` and import `rules`.
"""
