"""Plugins that exist only for the test suite, loaded through the ``viatic_plugins`` fixture."""
