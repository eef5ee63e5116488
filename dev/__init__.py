"""Development only: embedded PostgreSQL and Redis, the demo county and its history.

Nothing in ``backend``, ``admin`` or ``points_rules`` imports this package, and it is not part of the
installed distribution (``pyproject.toml`` packages only those three). ``python -m dev`` is the
``cunxin`` command plus ``up`` and ``seed-demo``, with embedded servers when ``DATABASE_URL`` /
``REDIS_URL`` are not set.
"""
