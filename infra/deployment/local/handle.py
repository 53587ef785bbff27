"""`LocalHandle`: what the local backend records in state to find its service again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from deployment.local.process import ProcessRecord
from deployment.local.release import Release


@dataclass(frozen=True)
class LocalHandle:
    """The service directory, the front door's process and port (the scoring URI's), and the
    release serving behind it."""

    service_dir: Path
    port: int
    door: ProcessRecord
    release: Release

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_dir": str(self.service_dir),
            "port": self.port,
            "door": self.door.to_dict(),
            "release": self.release.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LocalHandle:
        missing = [name for name in ("service_dir", "port", "door", "release") if not data.get(name)]
        if missing:
            raise ValueError(
                f"handle: {', '.join(missing)} missing; expected the handle that the local backend's "
                "create returned (a service created before the front door held the scoring port: "
                "`pulumi destroy`, then `pulumi up`)"
            )
        return cls(
            service_dir=Path(data["service_dir"]),
            port=int(data["port"]),
            door=ProcessRecord.from_dict(data["door"]),
            release=Release.from_dict(data["release"]),
        )

    def with_release(self, release: Release) -> LocalHandle:
        return replace(self, release=release)
