"""The routes of the review web app, one module per area, each an ``APIRouter``:
:mod:`~errata.review.web.sessions` (log-in, log-out, the annotator's account),
:mod:`~errata.review.web.items` (home page, queues, items), :mod:`~errata.review.web.images`
(pictures and the class-hierarchy browser), :mod:`~errata.review.web.admin` (the admin page and
its actions, the export). They share one :class:`~errata.review.web.state.AppState` through
FastAPI dependencies; :mod:`~errata.review.web.middleware` holds the ASGI layers around the app.
:func:`errata.review.app.create_app` puts them together. Imports FastAPI: reached only after
``create_app`` checked that the ``review`` extra is installed."""
