"""数据接入 — inbound feeds from neighbouring systems (court, labour bureau, volunteer platform)."""
