"""Framework-free clients of external systems (no Flask import here)."""
