"""economics."""

__all__: list[str] = []
