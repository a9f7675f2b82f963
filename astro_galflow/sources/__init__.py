"""Data sources: where catalogs and cutouts come from (built-in plugins)."""
