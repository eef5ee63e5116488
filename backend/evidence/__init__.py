"""Evidence — photos attached to credit events (证据照片)."""
