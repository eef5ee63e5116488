"""信用修复 — credit repair (art. 45): applications, routes, documents told at once, decided by who recorded it."""
