"""Shipped risk-compensation rule presets (JSON files in this folder).

Each preset cites its source (seed file / DESIGN.md §3) in ``source`` and says in
``description`` which numbers come from the source and which are stated assumptions.
"""

from __future__ import annotations

from pathlib import Path

from risk_sharing.rules import Rule, load_rule

PRESET_DIR = Path(__file__).resolve().parent


def list_presets() -> list[str]:
    """Names of the shipped presets (file stems), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> Rule:
    """Load a shipped preset by name (see :func:`list_presets`)."""
    path = PRESET_DIR / f"{name}.json"
    if name not in list_presets():
        raise ValueError(f"name: unknown preset '{name}'; known: {', '.join(list_presets())}")
    return load_rule(path)


def load_all_presets() -> list[Rule]:
    """Every shipped preset, validated."""
    return [load_preset(n) for n in list_presets()]


__all__ = ["PRESET_DIR", "list_presets", "load_all_presets", "load_preset"]
