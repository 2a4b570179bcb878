"""Viatic's core: identity, tenancy, rights, plugin manager, UI shell, scheduler and audit."""

__version__ = "0.1.0"
