"""`DeleteStepProvider`: the base of the dynamic providers whose resource is one step run on
delete (the compute detach, the traffic drain): nothing is sent on create or update, the inputs
are the state, and a change of the resource's subject (`replace_on`) replaces it, delete first,
so the step runs for the old subject before the new one exists."""

from __future__ import annotations

from typing import Any, ClassVar

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult


class DeleteStepProvider(ResourceProvider):
    id_key: ClassVar[str]  # the input that names the subject, also the resource's id
    replace_on: ClassVar[tuple[str, ...]]

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props[self.id_key]), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = {k for k in set(olds) | set(news) if k != "__provider"}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        replaces = [k for k in changed if k in self.replace_on]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)
