"""Sharded scans: which targets one worker of an estate scan takes, and which run it belongs to.

A worker (a Kubernetes Indexed Job pod, a CI matrix leg) scans shard K of N. The partition is a
pure function of each target's identity and N, so every worker computes the same split without
talking to the others:

- storefronts are spread by jump consistent hashing (Lamping & Veach, 2014) of SHA-256 of
  ``kind + identity``: a storefront's shard never depends on which other storefronts exist, so
  adding or removing shops never moves the others, and growing N from 4 to 5 moves only about a
  fifth of them (plain ``hash mod N`` would move four fifths);
- every other target (IaC trees, config files, the declared controls, the repository searched
  for card data) stays on shard 1: the checks that compare declared controls with the IaC's
  findings need both in one process, and these targets are few and come from the same checkout
  as posture.yaml.

The cross-target (scan-phase) checks run on every shard over that shard's results: those that
judge each storefront (trackers without an opt-out link, undeclared vendors) then give exactly
the unsharded results; their whole-scan verdicts (a pass with no resource) come from shard 1.

Shards are numbered 1..N as in ``--shard 2/4`` (Playwright's and pytest-split's convention);
Kubernetes' ``JOB_COMPLETION_INDEX`` counts from 0 and is shifted by one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from posture.errors import UsageError
from posture.model import Target, TargetKind

SHARD_ENV = "POSTURE_SHARD"  # "K/N", as --shard
COUNT_ENV = "POSTURE_SHARD_COUNT"  # N, with JOB_COMPLETION_INDEX (0-based) in an Indexed Job
RUN_ENV = "POSTURE_RUN_ID"
JOB_NAME_ENV = "POSTURE_JOB_NAME"  # the Job's name, from the downward API (docs/deploy/)
MAX_SHARDS = 10_000
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$")
_JUMP = 2862933555777941757


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, value: str, source: str = "--shard") -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if not match:
            raise UsageError(f"{source} {value!r}: expected K/N, e.g. 2/4")
        return cls.of(int(match[1]), int(match[2]), source)

    @classmethod
    def of(cls, index: int, count: int, source: str) -> Shard:
        if not 1 <= count <= MAX_SHARDS:
            raise UsageError(f"{source}: the shard count must be 1..{MAX_SHARDS}, not {count}")
        if not 1 <= index <= count:
            raise UsageError(f"{source}: shard {index} is not in 1..{count}")
        return cls(index, count)


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash: a bucket in 0..buckets-1; growing ``buckets`` moves ~1/n keys."""
    bucket, j = -1, 0
    while j < buckets:
        bucket = j
        key = (key * _JUMP + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket


def identity(target: Target) -> str:
    """What a target is, whatever it is called: a storefront's URL with scheme and host folded."""
    if target.kind is TargetKind.STOREFRONT:
        parts = urlsplit(target.name)
        host = (parts.hostname or "").lower()
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme.lower()}://{host}{port}{parts.path or '/'}"
    return target.name


def shard_of(target: Target, count: int) -> int:
    """The 1-based shard that scans ``target`` when the estate is split ``count`` ways."""
    if target.kind is not TargetKind.STOREFRONT:
        return 1
    digest = hashlib.sha256(f"{target.kind.value}\x1f{identity(target)}".encode()).digest()
    return jump_hash(int.from_bytes(digest[:8], "big"), count) + 1


def select(targets: Sequence[Target], shard: Shard | None) -> list[Target]:
    if shard is None or shard.count == 1:
        return list(targets)
    return [t for t in targets if shard_of(t, shard.count) == shard.index]


def shard_from(
    value: str | None, count: int | None, env: Mapping[str, str] = os.environ
) -> Shard | None:
    """--shard K/N, else --shard-count N (or $POSTURE_SHARD_COUNT) with $JOB_COMPLETION_INDEX.

    ``$POSTURE_SHARD`` is read like --shard. Without a count, ``JOB_COMPLETION_INDEX`` alone does
    not shard: an Indexed Job may run posture once per index over different configurations.
    """
    if value:
        if count is not None:
            raise UsageError("--shard K/N and --shard-count N: give one of them")
        return Shard.parse(value)
    if env.get(SHARD_ENV):
        return Shard.parse(env[SHARD_ENV], f"${SHARD_ENV}")
    source = "--shard-count"
    if count is None and env.get(COUNT_ENV):
        source = f"${COUNT_ENV}"
        try:
            count = int(env[COUNT_ENV])
        except ValueError:
            raise UsageError(f"${COUNT_ENV} {env[COUNT_ENV]!r}: not a number") from None
    if count is None:
        return None
    index_text = env.get("JOB_COMPLETION_INDEX")
    if index_text is None:
        raise UsageError(
            f"{source} {count}: needs $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); "
            "elsewhere give --shard K/N"
        )
    try:
        index = int(index_text)
    except ValueError:
        raise UsageError(f"$JOB_COMPLETION_INDEX {index_text!r}: not a number") from None
    return Shard.of(index + 1, count, f"$JOB_COMPLETION_INDEX {index} with {source} {count}")


def run_id_from(value: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """--run-id, else $POSTURE_RUN_ID, else one derived from the CI run or the Kubernetes Job.

    GitHub Actions: ``github:<repository>:<run id>``. The attempt number is left out on purpose:
    "re-run failed jobs" starts attempt 2 of the failed shard only, and its results must replace
    that shard's own in the same run, not open a new run the other shards never join.
    """
    source = "--run-id"
    if not value and env.get(RUN_ENV):
        value, source = env[RUN_ENV], f"${RUN_ENV}"
    if not value and env.get("GITHUB_RUN_ID"):
        repo = env.get("GITHUB_REPOSITORY", "")
        value, source = f"github:{repo}:{env['GITHUB_RUN_ID']}", "$GITHUB_RUN_ID"
    if not value and env.get(JOB_NAME_ENV):
        value, source = f"k8s:{env[JOB_NAME_ENV]}", f"${JOB_NAME_ENV}"
    if not value:
        return None
    if not _RUN_ID.match(value):
        raise UsageError(
            f"{source} {value[:80]!r}: a run id is 1-200 letters, digits and ._:/@+- "
            "(starting with a letter or digit)"
        )
    return value
