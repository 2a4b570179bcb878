"""A plugin with scheduled jobs: a slow global one, and one per commune."""

from __future__ import annotations

import time

from core import toolkit

SEEN: list[str] = []
DOWN = {"10124"}  # the communes whose service does not answer


def slow_tick() -> None:
    time.sleep(0.6)


def per_commune(commune: toolkit.Commune) -> None:
    if commune.insee in DOWN:
        raise RuntimeError(f"le service de {commune.name} ne répond pas")
    SEEN.append(commune.insee)


@toolkit.hookimpl
def viatic_plugin_info() -> toolkit.PluginInfo:
    return toolkit.PluginInfo(name="ticker", label="Horloge", version="1.0")


@toolkit.hookimpl
def viatic_scheduled_jobs() -> list[toolkit.Job]:
    return [
        toolkit.Job("slow_tick", slow_tick, "interval", {"seconds": 1}, max_runtime_seconds=30),
        toolkit.Job("per_commune", per_commune, "interval", {"hours": 1}, scope="commune"),
    ]
