"""The plugin's Alembic branch ``lms``: one revision file per schema change.

A package only so that setuptools ships the revisions with the plugin; Alembic skips this
file.
"""
