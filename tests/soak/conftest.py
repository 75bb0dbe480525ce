"""The soak layer reuses the integration layer's fuzzing app fixture."""

from tests.integration.test_reliability_fuzz import fuzz_app

__all__ = ["fuzz_app"]
