"""The reference phone: a simulated provisioning client that follows the spec, with quirks.

Sans-I/O core (`engine.py` + the transition table `engine_table.py`), pure
pieces (`profile_rule`, `macro_values`, `parameters`), quirks (`quirks.py`),
asyncio adapters (`adapters/`), the driver `SimPhone` (`phone.py`), the admin
web UI (`admin.py`) and `harness sim` (`cli.py`). Import the driver with
`from harness.device.sim.phone import SimPhone`; this file imports nothing so
that the pure modules load without asyncio or ssl.
"""
