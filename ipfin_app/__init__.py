"""The application on top: the server that mounts the API and the dashboard, and the command line.

It may import everything; nothing below imports it (``tests/test_layering.py``).
"""
