"""Day two: refresh, wait and cancel what was applied (poll.py), through the providers."""
