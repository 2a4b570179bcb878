"""The plugin's Alembic branch ``chamilo``: one revision file per schema change.

A package only so that setuptools ships the revisions with the plugin; Alembic skips this
file.
"""
