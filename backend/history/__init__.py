"""History import: a county brings its earlier years — events from Excel/CSV through the same scoring path as live recording."""
