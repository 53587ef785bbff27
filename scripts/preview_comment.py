"""The pull request's preview comment: the `pulumi preview` diff of one stack and, beside it, the
stack's cost estimate with the change in cost against the base branch (docs/cost.md).

    python -m scripts.preview_comment --stack dev --preview-output FILE [--base origin/main]
        [--out FILE] [--post --repo OWNER/NAME --pr NUMBER]

The estimate is `infra/cost`'s, from `Pulumi.<stack>.yaml` as the PR has it and as the base branch
had it (`git show BASE:Pulumi.<stack>.yaml`); no price is computed here. `--post` creates the
stack's comment or edits it in place (one comment per stack, found by a hidden marker, so a matrix
of stacks never overwrites each other's comment), with GITHUB_TOKEN over the GitHub REST API.

Exit codes: 0 written (and posted); 1 posting failed; 2 bad command line or an unreadable preview
output file. A stack config the estimate refuses is not an error here: the comment says why (the
preview beside it fails on the same config, naming the key).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT / "infra") not in sys.path:
    sys.path.append(str(PROJECT_ROOT / "infra"))  # `cost` imports `config` top-level, as the engine does

from cost import PriceBook, price_book_from_environment  # noqa: E402
from cost.report import markdown  # noqa: E402
from cost.stack_file import estimate_from_values, read_stack_file  # noqa: E402

# GitHub refuses a comment body over 65536 characters; the diff is cut to leave room for the rest.
MAX_DIFF_CHARS = 60000
GITHUB_API = "https://api.github.com"


def marker(stack: str) -> str:
    """The hidden line that identifies the stack's comment among the PR's comments."""
    return f"<!-- aml-gpu-inference preview: {stack} -->"


def base_stack_file(stack: str, base: str, root: Path = PROJECT_ROOT) -> str | None:
    """The base branch's `Pulumi.<stack>.yaml`, or None when the base has no such file."""
    result = subprocess.run(
        ["git", "show", f"{base}:Pulumi.{stack}.yaml"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def cost_section(
    stack: str, head_text: str | None, base_text: str | None, prices: PriceBook, now: datetime, *, base: str
) -> str:
    """`cost.report.markdown` of the head's estimate against the base's; a refusal is named."""
    if head_text is None:
        return f"**Cost estimate:** none (`Pulumi.{stack}.yaml` is not in this change)."
    try:
        head = _estimate(head_text, stack, prices, now, f"Pulumi.{stack}.yaml")
    except ValueError as e:  # ConfigError and StackFileError are ValueErrors
        return f"**Cost estimate:** not computed: {e}"
    base_estimate, base_note = None, ""
    if base_text is None:
        base_note = f"`Pulumi.{stack}.yaml` is new (not on {base})"
    else:
        try:
            base_estimate = _estimate(base_text, stack, prices, now, f"{base}:Pulumi.{stack}.yaml")
        except ValueError as e:
            base_note = f"the base's config could not be estimated ({e})"
    return markdown(head, base_estimate, base_note=base_note)


def _estimate(text: str, stack: str, prices: PriceBook, now: datetime, where: str):
    values, secrets = read_stack_file(text, where)
    return estimate_from_values(values, stack=stack, prices=prices, now=now, secret_keys=secrets)


def render(stack: str, preview_output: str, cost: str) -> str:
    """The comment: marker, heading, the cost section, then the diff folded."""
    diff = preview_output.strip() or "(the preview printed nothing)"
    if len(diff) > MAX_DIFF_CHARS:
        diff = "…(cut: the start of the output is in the workflow log)\n" + diff[-MAX_DIFF_CHARS:]
    fence = "````"  # four backticks: a diff line with three cannot close the block
    return "\n".join(
        [
            marker(stack),
            f"### `pulumi preview` of `{stack}`",
            "",
            cost,
            "",
            "<details><summary>The diff</summary>",
            "",
            f"{fence}diff",
            diff,
            fence,
            "",
            "</details>",
        ]
    )


Request = Callable[[str, str, Mapping[str, Any] | None], Any]  # (method, url, body) -> decoded JSON


def github_request(token: str) -> Request:
    def request(method: str, url: str, body: Mapping[str, Any] | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read() or b"null")

    return request


def post(body: str, *, stack: str, repo: str, pr: int, request: Request, api: str = GITHUB_API) -> str:
    """Edit the stack's comment on the PR if there is one, else create it; returns what it did."""
    page = 1
    while True:  # the PR's comments, 100 a page, until a short page
        comments = request("GET", f"{api}/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}", None)
        for comment in comments:
            if marker(stack) in (comment.get("body") or ""):
                request("PATCH", f"{api}/repos/{repo}/issues/comments/{comment['id']}", {"body": body})
                return f"edited comment {comment['id']}"
        if len(comments) < 100:
            break
        page += 1
    created = request("POST", f"{api}/repos/{repo}/issues/{pr}/comments", {"body": body})
    return f"created comment {created.get('id')}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.preview_comment", description="The PR comment: preview diff and cost."
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument("--preview-output", type=Path, required=True, help="the preview's output (a file)")
    parser.add_argument("--base", default="origin/main", help="the base branch's ref (default origin/main)")
    parser.add_argument("--out", type=Path, help="also write the comment to FILE")
    parser.add_argument("--post", action="store_true", help="create or edit the stack's comment on the PR")
    parser.add_argument("--repo", help="OWNER/NAME (with --post)")
    parser.add_argument("--pr", type=int, help="the pull request's number (with --post)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    prices: PriceBook | None = None,
    request: Request | None = None,
    root: Path = PROJECT_ROOT,
    now: datetime | None = None,
) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.post and not (args.repo and args.pr and (request or environ.get("GITHUB_TOKEN"))):
        parser.error("--post needs --repo, --pr and GITHUB_TOKEN in the environment")
    try:
        preview_output = args.preview_output.read_text(errors="replace")
    except OSError as e:
        print(f"preview_comment: --preview-output {args.preview_output}: {e.strerror}", file=sys.stderr)
        return 2
    stack_file = root / f"Pulumi.{args.stack}.yaml"
    head_text = stack_file.read_text() if stack_file.is_file() else None
    try:
        prices = prices or price_book_from_environment(environ)
    except ValueError as e:
        print(f"preview_comment: {e}", file=sys.stderr)
        return 2
    cost = cost_section(
        args.stack,
        head_text,
        base_stack_file(args.stack, args.base, root),
        prices,
        now or datetime.now(UTC),
        base=args.base,
    )
    body = render(args.stack, preview_output, cost)
    if args.out:
        args.out.write_text(body + "\n")
    print(body)
    if args.post:
        try:
            done = post(
                body,
                stack=args.stack,
                repo=args.repo,
                pr=args.pr,
                request=request or github_request(environ["GITHUB_TOKEN"]),
                api=environ.get("GITHUB_API_URL", GITHUB_API),
            )
        except (urllib.error.URLError, OSError, ValueError) as e:
            print(f"preview_comment: posting to {args.repo}#{args.pr} failed: {e}", file=sys.stderr)
            return 1
        print(f"preview_comment: {done} on {args.repo}#{args.pr}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
