"""Policy data (YAML and JSON) shipped with posture. No code lives here."""
