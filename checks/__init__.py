"""Built-in check families. Each module is registered as a ``posture.checks`` entry point."""
