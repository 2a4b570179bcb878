"""The chat plugin's tests."""
