"""The aml-gpu-inference policy pack: `pulumi preview --policy-pack policy/`.

Started by the engine (or a test) with `policy/` as cwd; prints the port of its analyzer gRPC
server on the first stdout line. The policies themselves live in `aml_policies.py`.
"""

from aml_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="aml-gpu-inference", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
