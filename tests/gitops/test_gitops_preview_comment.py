"""The PR preview comment: the diff a (FAKE, tests/gitops/fake_pulumi.py) `pulumi preview` printed,
and beside it `infra/cost`'s estimate with the change in cost when the PR changes the pool. The
base branch is a git repository the tests build; the GitHub API is a recording double (no network).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cost import PriceBook, load_table
from cost.estimate import HOURS_PER_30_DAYS
from cost.table import TABLE_PATH
from scripts.preview_comment import main, marker, post
from tests.gitops.fake_pulumi import install

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 29, 12, 0, tzinfo=UTC)
TABLE = json.loads(TABLE_PATH.read_text())
T4_ENTRY = TABLE["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]
T4 = Decimal(T4_ENTRY["price"])
DIFF = (
    "Previewing update (dev):\n"
    "  ~ azure-native:containerservice:AgentPool gpu update [diff: ~count]\n"
    "      ~ count: 3 => 4"
)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A checkout whose `main` has the how-to's Pulumi.dev.yaml; the work tree is the PR's head."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.invalid")
    git(root, "config", "user.name", "t")
    (root / "Pulumi.dev.yaml").write_text((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def fake_preview(tmp_path: Path, output: str) -> Path:
    """Run the fake `pulumi preview` as the workflow's step would and keep what it printed."""
    bin_dir = tmp_path / "bin"
    env = install(bin_dir, {"preview_output": output}, tmp_path / "argv.jsonl")
    result = subprocess.run(
        [str(bin_dir / "pulumi"), "preview", "--stack", "dev", "--diff"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    path = tmp_path / "preview.txt"
    path.write_text(result.stdout)
    return path


class Recorder:
    """The GitHub REST API's double: the PR's comments in pages, every write recorded."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages, self.calls = pages, []

    def __call__(self, method: str, url: str, body: Any) -> Any:
        self.calls.append((method, url, body))
        if method == "GET":
            page = int(url.rpartition("page=")[2])
            return self.pages[page - 1] if page <= len(self.pages) else []
        return {"id": 99}


def run(repo: Path, tmp_path: Path, capsys, *extra: str, request: Recorder | None = None) -> tuple[int, str]:
    preview = fake_preview(tmp_path, DIFF)
    code = main(
        ["--stack", "dev", "--preview-output", str(preview), "--base", "main", *extra],
        prices=PriceBook(table=load_table()),
        root=repo,
        now=NOW,
        request=request,
    )
    return code, capsys.readouterr().out


def test_the_comment_carries_the_diff_the_estimate_and_the_change_when_the_pool_grows(repo, tmp_path, capsys):
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("nodeCount: 3", "nodeCount: 4"))
    code, body = run(repo, tmp_path, capsys)
    assert code == 0
    assert body.startswith(marker("dev"))
    assert "~ count: 3 => 4" in body  # the preview's diff, as the fake pulumi printed it
    registry, aks = (
        Decimal(TABLE["registry_daily"]["Basic"]["price"]),
        Decimal(TABLE["aks_management_hourly"]["Free"]["price"]),
    )
    hourly = 4 * T4 + registry / 24 + aks
    assert f"**{hourly.quantize(Decimal('0.0001'))} USD/h**" in body
    assert f"+{T4:.4f} USD/h" in body  # one more GPU node
    assert f"+{(T4 * HOURS_PER_30_DAYS).quantize(Decimal('0.01'))} USD per 30 days" in body
    assert f"price table of {T4_ENTRY['read_on']}" in body  # the source and its date


def test_an_unchanged_pool_says_no_change_and_a_new_stack_says_it_is_new(repo, tmp_path, capsys):
    _, body = run(repo, tmp_path, capsys)
    assert "Change in cost" not in body and "3 × Standard_NC4as_T4_v3" in body
    git(repo, "rm", "-q", "--cached", "Pulumi.dev.yaml")
    git(repo, "commit", "-q", "-m", "the stack is new in the PR")
    _, body = run(repo, tmp_path, capsys)
    assert "**Change in cost:** `Pulumi.dev.yaml` is new (not on main)" in body


def test_a_config_the_estimate_refuses_is_named_in_the_comment(repo, tmp_path, capsys):
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("nodeCount: 3", "nodeCount: -1"))
    code, body = run(repo, tmp_path, capsys)
    assert code == 0 and "**Cost estimate:** not computed:" in body and "nodeCount" in body
    assert "~ count: 3 => 4" in body  # the diff is still there


def test_post_edits_the_stacks_own_comment_found_on_a_later_page(repo, tmp_path, capsys):
    others = [{"id": n, "body": marker("dev-v2") if n == 1 else "lgtm"} for n in range(100)]
    api = Recorder([others, [{"id": 500, "body": f"{marker('dev')}\nold"}]])
    code, body = run(repo, tmp_path, capsys, "--post", "--repo", "o/r", "--pr", "7", request=api)
    assert code == 0
    writes = [(m, url, b) for m, url, b in api.calls if m != "GET"]
    assert writes == [
        ("PATCH", "https://api.github.com/repos/o/r/issues/comments/500", {"body": body.rstrip()})
    ]


def test_post_creates_the_comment_when_the_pr_has_none_for_the_stack():
    api = Recorder([[{"id": 1, "body": marker("dev-v2")}]])
    assert post("text", stack="dev", repo="o/r", pr=7, request=api) == "created comment 99"
    assert api.calls[-1] == ("POST", "https://api.github.com/repos/o/r/issues/7/comments", {"body": "text"})


def test_github_request_speaks_the_rest_api_over_http_with_the_token(repo, tmp_path, capsys):
    """The real client against a local server standing in for api.github.com (GITHUB_API_URL)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[tuple[str, str, str | None, Any]] = []

    class Api(BaseHTTPRequestHandler):
        def _answer(self, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            seen.append(("GET", self.path, self.headers["Authorization"], None))
            self._answer([])

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(("POST", self.path, self.headers["Authorization"], body))
            self._answer({"id": 7})

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        preview = fake_preview(tmp_path, DIFF)
        environ = {
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "AMLGPU_PRICE_SOURCE": "table",  # an environ of its own: no network, as tests/conftest.py
        }
        argv = ["--stack", "dev", "--preview-output", str(preview), "--base", "main"]
        code = main([*argv, "--post", "--repo", "o/r", "--pr", "3"], environ=environ, root=repo, now=NOW)
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    assert [(m, p, a) for m, p, a, _ in seen] == [
        ("GET", "/repos/o/r/issues/3/comments?per_page=100&page=1", "Bearer t0ken"),
        ("POST", "/repos/o/r/issues/3/comments", "Bearer t0ken"),
    ]
    assert seen[1][3]["body"].startswith(marker("dev"))
    assert "created comment 7 on o/r#3" in capsys.readouterr().err
