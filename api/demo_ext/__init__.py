"""Domain additions to the demo data: each module ``<domain>.py`` has ``extend(conn, ctx) -> dict[str, int]``."""
