"""profiling."""

__all__: list[str] = []
