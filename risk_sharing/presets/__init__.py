"""Shipped risk-compensation rule presets (JSON files in this folder).

A preset's file name is its rule id (``chongqing-4222.json`` holds rule ``chongqing-4222``): one
name per rule in the CLI, the API and Python. Each preset gives its public citation (document,
issuer, date; "official notice not verified" where only a report is known) in ``source`` and says
in ``description`` which numbers come from the source and which are stated assumptions.

Examples
--------
>>> "chongqing-4222" in list_presets()
True
>>> [p.share for p in load_preset("chongqing-4222").parties]
[Decimal('40'), Decimal('20'), Decimal('20'), Decimal('20')]
"""

from __future__ import annotations

from pathlib import Path

from risk_sharing.rules import Rule, load_rule

PRESET_DIR = Path(__file__).resolve().parent


def list_presets() -> list[str]:
    """Rule ids of the shipped presets (the file stems), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> Rule:
    """Load a shipped preset by its rule id (see :func:`list_presets`); an unknown id is a ``ValueError``."""
    path = PRESET_DIR / f"{name}.json"
    if name not in list_presets():
        raise ValueError(f"name: unknown preset '{name}'; known: {', '.join(list_presets())}")
    return load_rule(path)


def load_all_presets() -> list[Rule]:
    """Every shipped preset, validated."""
    return [load_preset(n) for n in list_presets()]


__all__ = ["PRESET_DIR", "list_presets", "load_all_presets", "load_preset"]
