"""Blue/green on an online endpoint: which colour is live, which one serves when this run ends,
and the traffic steps between them. Pure planning plus one read of what Azure routes now.

The live colour is remembered by Azure itself, not by Pulumi state or a StackReference: the
endpoint's `traffic` map says which deployment serves, and each deployment carries the content
hash it was created from (tag `SPEC_TAG`). The program reads both with invokes before it
declares anything, so `preview` and `up` see the same truth, and a stack whose state was lost
still rolls forward from what really serves.

    LiveState(traffic, specs)  →  plan_rollout(live, desired_spec, steps)  →  Rollout
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pulumi_azure_native import machinelearningservices

from rules.capacity import BLUE_GREEN, IN_PLACE, STRATEGIES
from rules.values import TRAFFIC_STEPS

COLOURS = ("blue", "green")
SPEC_TAG = "amlgpu-spec"  # on each OnlineDeployment: the content hash it was created from


@dataclass(frozen=True)
class LiveState:
    """What the endpoint routes now (colour → percent) and the spec of each existing colour."""

    traffic: Mapping[str, int]
    specs: Mapping[str, str]

    @property
    def live(self) -> str | None:
        """The colour that serves the most traffic now (None: nothing serves)."""
        serving = [(percent, colour) for colour, percent in self.traffic.items() if percent > 0]
        if not serving:
            return None
        # Most traffic first; on a tie the colour listed first in COLOURS.
        return min(serving, key=lambda item: (-item[0], _order(item[1])))[1]


@dataclass(frozen=True)
class Rollout:
    """The plan for one `pulumi up`."""

    live: str | None  # the colour serving now (None on the first run)
    target: str  # the colour serving 100% when this run ends
    creates: bool  # the target deployment is created in this run
    retired: tuple[str, ...]  # colours not declared any more: Pulumi deletes them last
    steps: tuple[int, ...]  # percent of traffic on the target after each step; the last is 100
    strategy: str = BLUE_GREEN
    updates_in_place: bool = False  # the live colour gets a new spec (strategy inPlace)
    # What the endpoint routes when this run starts (existing colours only). Every PUT of the
    # endpoint itself carries it: a PUT without `traffic` resets every share to 0%.
    serving: Mapping[str, int] = field(default_factory=dict)

    @property
    def rolling(self) -> bool:
        """Traffic moves from a live colour to another one in this run."""
        return self.live is not None and self.live != self.target

    def traffic_at(self, percent: int) -> dict[str, int]:
        """The endpoint's traffic map at one step (all on the target outside a rollout)."""
        if not self.rolling:
            return {self.target: 100}
        assert self.live is not None
        split = {self.target: percent, self.live: 100 - percent}
        return {colour: share for colour, share in split.items() if share > 0}

    @property
    def traffic_steps(self) -> tuple[dict[str, int], ...]:
        """The traffic maps this run applies, in order."""
        if not self.rolling:
            return ({self.target: 100},)
        return tuple(self.traffic_at(percent) for percent in self.steps)

    def describe(self) -> str:
        steps = " → ".join(str(step[self.target]) for step in self.traffic_steps)
        action = "creating" if self.creates else "updating in place" if self.updates_in_place else "keeping"
        text = f"live colour: {self.live or 'none'}; {action} {self.target}; "
        text += f"traffic to {self.target}: {steps}%"
        if self.retired:
            text += f"; then {', '.join(self.retired)} is deleted"
        return text


def plan_rollout(
    live: LiveState | None, desired_spec: str, steps: Sequence[int] = (100,), strategy: str = BLUE_GREEN
) -> Rollout:
    """blueGreen: a changed spec goes to the colour that is not live; traffic moves in `steps`
    (percent to the new colour, the last one 100) only when a live colour serves beside it.
    inPlace: a changed spec goes to the live colour itself, which Azure ML rolls pod by pod."""
    if TRAFFIC_STEPS.refuses(tuple(steps)):
        raise ValueError(f"traffic steps {list(steps)}: {TRAFFIC_STEPS.allowed}")
    if strategy not in STRATEGIES:
        raise ValueError(f"rollout strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    state = live or LiveState({}, {})
    current = state.live
    matching = [colour for colour, spec in state.specs.items() if spec == desired_spec]
    if current in matching or (strategy == IN_PLACE and current is not None):
        target = current
    elif matching:
        target = sorted(matching, key=_order)[0]
    else:
        target = next(colour for colour in COLOURS if colour != current)
    assert target is not None
    retired = tuple(colour for colour in COLOURS if colour != target and colour in state.specs)
    in_place = target in state.specs and state.specs[target] != desired_spec
    serving = {colour: percent for colour, percent in state.traffic.items() if colour in state.specs}
    return Rollout(
        current, target, target not in state.specs, retired, tuple(steps), strategy, in_place, serving
    )


def _order(colour: str) -> int:
    return COLOURS.index(colour) if colour in COLOURS else len(COLOURS)


def read_live_state(resource_group: str, workspace: str, endpoint: str) -> LiveState | None:
    """The endpoint's traffic and its deployments' spec tags; None when the endpoint (or its
    workspace or resource group) does not exist yet. Any other error is raised as is."""
    try:
        found = machinelearningservices.get_online_endpoint(
            endpoint_name=endpoint, resource_group_name=resource_group, workspace_name=workspace
        )
    except Exception as error:
        if is_not_found(error):
            return None
        raise
    traffic = {colour: int(percent) for colour, percent in (found.properties.traffic or {}).items()}
    specs: dict[str, str] = {}
    for colour in COLOURS:
        try:
            deployment = machinelearningservices.get_online_deployment(
                deployment_name=colour,
                endpoint_name=endpoint,
                resource_group_name=resource_group,
                workspace_name=workspace,
            )
        except Exception as error:
            if is_not_found(error):
                continue
            raise
        specs[colour] = (deployment.tags or {}).get(SPEC_TAG, "")
    return LiveState(traffic, specs)


_NOT_FOUND = re.compile(r"NotFound|(?<![\w-])404(?![\w-])")


def is_not_found(error: Exception) -> bool:
    """Azure's 404s as the provider words them (`Status=404 Code="ResourceNotFound"`,
    `RESPONSE 404: 404 Not Found`, ResourceGroupNotFound, ParentResourceNotFound, ...)."""
    return _NOT_FOUND.search(str(error)) is not None
