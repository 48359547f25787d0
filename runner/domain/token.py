"""Deterministic client tokens: the same resource generation in the same state always gets the same one."""

from __future__ import annotations

import hashlib
import uuid


def make(lineage: str, address: str, fingerprint: str, generation: int) -> str:
    """32 hex characters from state lineage, address, fingerprint and generation."""
    text = f"runner-token\n{lineage}\n{address}\n{fingerprint}\n{generation}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def as_uuid(token: str) -> str:
    """The token as a version-4-shaped UUID, for APIs that take client-chosen GUIDs (Azure)."""
    return str(uuid.UUID(hex=token[:32], version=4))
