"""Built-in plugins, each loaded through the viatic.plugins entry points like any other."""
