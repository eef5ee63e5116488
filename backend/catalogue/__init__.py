"""Catalogue — the versioned rule catalogue (目录), readable by everyone it applies to (art. 32, 44)."""
