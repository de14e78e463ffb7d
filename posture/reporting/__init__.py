"""The quarterly audit report: built from the scan history, rendered as HTML, PDF, Markdown,
JSON or OSCAL, and signed."""
