"""cli: the ``meshhouse`` command, the top room. ``main.py`` builds the parser from one module per
command group (and from other packages' ``meshhouse.commands`` entry points, such as the
benchmark's); ``instance.py`` gives commands the Dagster instance; ``demo.py`` is the headless
run of every location.

May import: every room, and platform_resources.location."""
