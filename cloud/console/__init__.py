"""The operator console and the guardian dev phone page: static pages served by the cloud.

``cloud.console.pages.router`` serves ``/console``, ``/login``, ``/dev/phones`` and their assets under
``/console/static/``; the pages talk to the cloud API (``/api/v1/...``) and its live event stream.
"""
