"""The route handlers this package adds to the app (``backend.app`` registers them; the public
``CatalogueController`` and ``catalogue_page`` were registered before this package had routes of its own)."""

from backend.catalogue.controllers import CountyCatalogueController, MyCatalogueController

ROUTES: list = [CountyCatalogueController, MyCatalogueController]
