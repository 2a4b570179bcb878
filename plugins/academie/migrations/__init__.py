"""The plugin's Alembic branch ``academie``: one revision file per schema change.

A package only so that setuptools ships the revisions with the plugin; Alembic skips this
file.
"""
