"""Data-quality views for townships and the county (数据质量): six checks, their lists, a weekly trend."""
