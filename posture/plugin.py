"""The contract between the engine and check modules: ``@check``, ``@collector`` and ``Outcome``.

The decorators only attach a frozen spec to the function; nothing is registered globally at
import time. The registry finds specs by looking at a module's attributes, so importing a check
module twice, or in a test, has no side effects.

A *collector* touches the world once per target (a TLS scan, an HTTP fetch, a checkov run) and
returns a facts object. A *check* is a pure function ``(facts, ctx) -> Iterable[Outcome]`` over
those facts. A check that yields nothing passed, provided it had something to look at: a check
may say what it needs (``@check(needs=...)``: a function of the facts and the context that gives
the reason when there is nothing to evaluate), and a facts object may say so for every check on it
(a ``nothing_to_evaluate`` attribute holding the reason, else ``None``). The runner then turns the
silent check into *skipped* with that reason; can't look is never a pass.
One that yields only ``Outcome.not_applicable()`` gives no result.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from posture.model import (
    Area,
    EvidenceSource,
    Location,
    Origin,
    Severity,
    Status,
    Target,
    TargetKind,
)

if TYPE_CHECKING:
    from posture.config import Config
    from posture.policy import Policy

CHECK_ATTR = "__posture_check__"
COLLECTOR_ATTR = "__posture_collector__"

F = TypeVar("F", bound=Callable[..., Any])


# An evidence key a check may set: its text also joins the scan's warnings (once, however many
# results carry it), for what a reader must see in the summary, not only in one record.
SCAN_WARNING = "scan_warning"


@dataclass(frozen=True)
class Outcome:
    """What a check says about one thing. Most fields are optional overrides of the check's spec.

    ``key`` separates several outcomes of one check on one target and resource (a protocol
    version, a cookie name): it goes into the fingerprint, so choose something stable.
    ``check_id``/``title``/``area`` overrides exist for engines that carry their own rule ids
    (checkov): the result then reports the engine's rule under this check's family.
    """

    status: Status
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    resource: str | None = None
    location: Location | None = None
    key: str | None = None
    severity: Severity | None = None
    source: EvidenceSource = EvidenceSource.OBSERVED
    check_id: str | None = None
    title: str | None = None
    area: Area | None = None
    remediation: str | None = None
    references: tuple[str, ...] | None = None
    suppressed: str | None = None  # an inline suppression's reason (checkov:skip ...)
    origin: Origin | None = None  # IaC: root module and module calls (in the fingerprint)
    # the path an earlier version reported this at: its fingerprint stays matched by baselines
    previous_path: str | None = None
    applies: bool = True  # False: the check does not apply to this target; no result at all

    @classmethod
    def fail(cls, message: str = "", **kw: Any) -> Outcome:
        return cls(Status.FAIL, message, **kw)

    @classmethod
    def passed(cls, message: str = "", **kw: Any) -> Outcome:
        return cls(Status.PASS, message, **kw)

    @classmethod
    def judged(cls, ok: bool, if_ok: str, if_not: str, **kw: Any) -> Outcome:
        """Pass with ``if_ok`` or fail with ``if_not``, the rest (resource, evidence...) alike."""
        return cls(Status.PASS if ok else Status.FAIL, if_ok if ok else if_not, **kw)

    @classmethod
    def skip(cls, message: str, **kw: Any) -> Outcome:
        """The check could not be evaluated (can't test is not pass); say why."""
        return cls(Status.SKIPPED, message, **kw)

    @classmethod
    def error(cls, message: str, **kw: Any) -> Outcome:
        return cls(Status.ERROR, message, **kw)

    @classmethod
    def not_applicable(cls, reason: str = "") -> Outcome:
        """The check does not apply to this target (an sshd check on an nginx file): the runner
        records no result for it. *skipped* stays for "could apply, but could not be evaluated"."""
        return cls(Status.SKIPPED, reason, applies=False)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    area: Area
    severity: Severity
    target: TargetKind
    facts: str
    func: Callable[[Any, CheckContext], Iterable[Outcome]] = field(repr=False, compare=False)
    description: str = ""
    remediation: str = ""
    references: tuple[str, ...] = ()
    source: str = ""  # module (or entry point) the check came from
    # (facts, ctx) -> the reason there is nothing to evaluate, else None (see the module doc)
    needs: Callable[[Any, CheckContext], str | None] | None = field(
        default=None, repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "area": self.area.value,
            "severity": self.severity.value,
            "target": self.target.value,
            "facts": self.facts,
            "description": self.description,
            "remediation": self.remediation,
            "references": list(self.references),
            "source": self.source,
        }


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    target: TargetKind
    func: Callable[[Target, CollectContext], Any] = field(repr=False, compare=False)
    source: str = ""


@dataclass(frozen=True)
class ScanOptions:
    """How to reach things: shared by every collector in one scan."""

    timeout: float = 10.0  # per network operation
    check_timeout: float = 60.0  # per check function
    collect_timeout: float = 600.0  # per collector run on one target
    concurrency: int = 8
    resolve: Mapping[tuple[str, int], str] = field(default_factory=dict)
    ca_bundle: str | None = None
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    browser: str | None = None  # --browser PATH; default: Chromium found on PATH
    history_db: str | None = None  # where earlier scans are recorded (payment-page changes)
    evidence_dir: str | None = None  # where collectors keep files (screenshots); None: not kept

    def resolve_address(self, host: str, port: int) -> str | None:
        """The address ``--resolve host:port:addr`` pins, as curl does, else ``None``.

        Names are compared in their ASCII form: ``bücher.example`` and ``xn--bcher-kva.example``
        are one host."""
        from posture.hostnames import a_label

        name = a_label(host)
        for wanted in (port, 0):  # an exact port first, then curl's '*'
            for (pinned, pinned_port), address in self.resolve.items():
                if pinned_port == wanted and a_label(pinned) == name:
                    return address
        return None


class ScanResources:
    """Expensive things collectors share within one scan (one browser for every storefront).

    The runner makes one per scan and closes it when the scan ends, however it ends; a resource
    is anything with a ``close()`` method, made on first use under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}

    def get(self, key: str, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._items:
                self._items[key] = factory()
            return self._items[key]

    def close(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for item in reversed(items):
            close = getattr(item, "close", None)
            if not callable(close):
                continue  # a remembered failure, not a resource
            try:
                close()
            except Exception:  # noqa: BLE001 - closing one resource never stops the others
                logging.getLogger(__name__).warning("could not close %r", item, exc_info=True)


@dataclass(frozen=True)
class CollectContext:
    options: ScanOptions
    policy: Policy
    config: Config | None
    base_dir: str
    resources: ScanResources = field(default_factory=ScanResources)


@dataclass(frozen=True)
class CheckContext:
    """What a check may read besides its facts. Never anything that does I/O."""

    target: Target
    policy: Policy
    config: Config | None
    now: dt.datetime


def check(
    *,
    id: str,
    title: str,
    area: Area,
    severity: Severity,
    target: TargetKind,
    facts: str,
    description: str = "",
    remediation: str = "",
    references: Iterable[str] = (),
    needs: Callable[[Any, CheckContext], str | None] | None = None,
) -> Callable[[F], F]:
    """Mark a function ``(facts, ctx) -> Iterable[Outcome]`` as a check.

    ``needs(facts, ctx)`` returns why there is nothing to evaluate (no vendors declared, no
    storefront answered), else ``None``: a check that then yields nothing is skipped, not passed."""

    def mark(func: F) -> F:
        doc = description or (func.__doc__ or "").strip()
        spec = CheckSpec(
            id=id,
            title=title,
            area=area,
            severity=severity,
            target=target,
            facts=facts,
            func=func,
            description=doc,
            remediation=remediation,
            references=tuple(references),
            source=func.__module__,
            needs=needs,
        )
        setattr(func, CHECK_ATTR, spec)
        return func

    return mark


def collector(*, name: str, target: TargetKind) -> Callable[[F], F]:
    """Mark a function ``(target, ctx) -> facts`` as the collector of facts ``name``."""

    def mark(func: F) -> F:
        setattr(func, COLLECTOR_ATTR, CollectorSpec(name, target, func, func.__module__))
        return func

    return mark
