"""The strict-API suite reuses the booking world: both simulators seeded over real HTTP, one connected installation."""

from tests.sync.booking.conftest import World, entry_total, world  # noqa: F401
