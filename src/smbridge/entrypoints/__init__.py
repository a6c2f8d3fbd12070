"""Process entry points: the HTTP apps and the ``smbridge`` command line."""
