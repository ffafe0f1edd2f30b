"""model_parallel."""

__all__: list[str] = []
