"""`errata analyze` — placeholder replaced below."""
