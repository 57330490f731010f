"""The commands that read runs back, one module each: ``runs``, ``show``, ``compare``,
``export``, ``plot``, ``delete`` and ``ui``.

`tracker.cli` makes every module here that defines ``NAME`` a subcommand: it adds the
module's arguments with ``configure(parser)`` and runs ``run(ctx)`` through
`tracker.commands.app.handler` (see `tracker.commands.app.CommandModule`). Shared pieces:
`tracker.commands.app` (options, store, errors), `tracker.commands.output` (tables,
colour, JSON) and `tracker.commands.exporters` (export formats).
"""
