"""The web UI of the stores' and the office's people (issue 12): server-rendered pages in
Russian, one area per package (picker app, store workstation, operations, reports), each
changing orders only through the same use cases as the assembly API."""
