"""accelerators."""

__all__: list[str] = []
