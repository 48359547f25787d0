"""runner: declarative, exactly-once quantum experiment runner."""

__version__ = "0.1.0"
