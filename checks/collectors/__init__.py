"""The few modules that touch the world: TLS, HTTP, checkov, files. Heavy imports stay inside."""
