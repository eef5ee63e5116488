"""Charts — SVG images of rating distributions and trends (admins would rather look than read)."""
