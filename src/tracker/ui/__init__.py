"""``tracker ui``: a local dashboard over a store (needs the ``ui`` extra: bokeh, numpy).

`tracker.ui.server.Dashboard` serves the pages in ``static/`` and the JSON API of
`tracker.ui.api`; `tracker.ui.downsample` thins long curves on the server.
"""
