"""One module per subcommand. Top-level imports stay light: the work is imported in ``run``."""
