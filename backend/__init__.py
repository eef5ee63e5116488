"""Cunxin (村信) — the credit-points platform service."""

import os

# Piccolo finds its engine through this module path; set before any table class is imported.
os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")
