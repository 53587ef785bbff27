"""A FAKE `pulumi` executable: the Pulumi CLI cannot be installed here, so tests put this on PATH.

It answers the few commands the cost guard's Automation API calls and the gitops make targets
issue, from a JSON scenario, and appends every argv it receives to a JSON-lines log, so tests can
assert exactly what was asked (e.g. which stacks were destroyed). It never touches a backend.

Scenario keys (all optional):
    stacks:        [{"name", "resourceCount", "lastUpdate"}]   -> `stack ls --json`
    config:        {stack: {key: {"value", "secret"}}}          -> `config --json --stack S`
    history:       {stack: [summary, ...]}                      -> `stack history --json`
    config_paths:  {stack: [path, ...]}                         -> `config get --path P` succeeds
    fail_destroy:  [stack, ...]                                 -> `destroy` exits 255
    refresh:       "clean" | "drift" | "error"                  -> `refresh --expect-no-changes`
    preview_output: text                                        -> what `preview` prints
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

VERSION = "v3.223.0"


def install(bin_dir: Path, scenario: dict, log: Path) -> dict[str, str]:
    """Write `bin_dir/pulumi` (this file, run by the current interpreter) and the scenario.

    Returns the environment variables that point the fake at its scenario and log.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    scenario_file = bin_dir / "scenario.json"
    scenario_file.write_text(json.dumps(scenario))
    executable = bin_dir / "pulumi"
    executable.write_text(f"#!{sys.executable}\n" + Path(__file__).read_text())
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"FAKE_PULUMI_SCENARIO": str(scenario_file), "FAKE_PULUMI_LOG": str(log)}


_DESTROYED = {
    "kind": "destroy",
    "startTime": "2026-11-27T14:00:00.000Z",
    "endTime": "2026-11-27T14:00:01.000Z",
    "message": "",
    "environment": {},
    "config": {},
    "result": "succeeded",
}


def _log_path() -> Path:
    return Path(os.environ["FAKE_PULUMI_LOG"])


def read_log(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def _value_after(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def _run(argv: list[str], scenario: dict) -> int:
    stack = _value_after(argv, "--stack")
    if argv[:1] == ["version"]:
        print(VERSION)
        return 0
    if argv[:2] == ["stack", "ls"]:
        print(json.dumps([{"current": False, **s} for s in scenario.get("stacks", [])]))
        return 0
    if argv[:2] == ["stack", "select"]:
        known = {s["name"] for s in scenario.get("stacks", [])}
        if stack not in known:
            print(f"error: no stack named '{stack}' found", file=sys.stderr)
            return 255
        return 0
    if argv[:2] == ["stack", "history"]:
        history = list(scenario.get("history", {}).get(stack, []))
        if any(a[:1] == ["destroy"] and _value_after(a, "--stack") == stack for a in read_log(_log_path())):
            history.insert(0, _DESTROYED)  # as the real backend: the destroy is the newest entry
        print(json.dumps(history))
        return 0
    if argv[:1] == ["config"] and "--path" in argv and argv[1] == "get":
        key = argv[argv.index("--path") + 1]
        if key in scenario.get("config_paths", {}).get(stack, []):
            print("2099-01-01")
            return 0
        print(f"error: configuration key '{key}' not found for stack '{stack}'", file=sys.stderr)
        return 255
    if argv[:2] == ["config", "set"]:
        return 0
    if argv[:1] == ["config"]:
        print(json.dumps(scenario.get("config", {}).get(stack, {})))
        return 0
    if argv[:1] == ["destroy"]:
        if stack in scenario.get("fail_destroy", []):
            print(f"error: destroying {stack} failed: the cloud said no", file=sys.stderr)
            return 255
        print(f"Destroying (fake) {stack}\nResources:\n    - 3 deleted")
        return 0
    if argv[:1] == ["preview"] and "preview_output" in scenario:
        print(scenario["preview_output"])
        return 0
    if argv[:1] in (["up"], ["preview"]):
        print(f"{argv[0]} (fake) {stack}: 12 unchanged")
        return 0
    if argv[:1] == ["refresh"]:
        return _refresh(scenario.get("refresh", "clean"))
    print(f"fake pulumi: unsupported command {argv}", file=sys.stderr)
    return 2


def _refresh(mode: str) -> int:
    print("Refreshing (dev):")
    if mode == "clean":
        print("    pulumi:pulumi:Stack aml-gpu-inference-dev  \nResources:\n    12 unchanged")
        return 0
    if mode == "drift":
        print("  ~ pulumi:pulumi:Stack: (same)")
        print("    ~ azure-native:resources:ResourceGroup: (update)")
        print("        [urn=urn:pulumi:dev::aml-gpu-inference::azure-native:resources:ResourceGroup::rg]")
        print("      ~ tags: {")
        print('          + cost-center: "manual-edit"')
        print("        }")
        print("error: no changes were expected but changes occurred", file=sys.stderr)
        return 255
    print("error: failed to log in to the backend", file=sys.stderr)
    return 255


def main() -> int:
    argv = sys.argv[1:]
    with _log_path().open("a") as log:
        log.write(json.dumps(argv) + "\n")
    scenario = json.loads(Path(os.environ["FAKE_PULUMI_SCENARIO"]).read_text())
    return _run(argv, scenario)


if __name__ == "__main__":
    sys.exit(main())
