"""Reboot storm: a crowd of reference phones provisioning against one server at once.

What lives where (faces import engines, never the other way):
- `phone.py`: `StormPhone`, the sans-I/O driver of one reference phone (the sim's
  `Engine`, its timers, the request it waits on, what it saw as observations).
  No sockets, no clock reads: time comes in on every call.
- `crowd.py`: `StormConfig` (who the phones are, what they fetch) and the asyncio
  crowd runner: one event loop, one timer heap, a bounded connection pool; the
  phones' I/O through the sim's own adapters (`harness.device.sim.adapters`).
- `blocking_io.py`: the same fetch over plain blocking sockets, for gevent
  (Locust) drivers. No asyncio, no locust import.
- `summary.py`: what a finished (or running) storm says: answers and latency over
  time, the provisioned curve, attempts per phone by Table 3-1 class, the spec
  check (`harness.rules`, the same rules as `harness analyze`) and the capacity
  finding. Pure functions over phones' records.
- `output.py`: the terminal lines, the JSON document and the HTML page.
- `cli.py`: `harness storm` (argument handling only).
- `locust_user.py` / `locustfile.py`: the Locust `User` (one user = one reference
  phone) and the file `locust -f` loads. Only these two import locust (and so
  gevent's monkey-patching); nothing else in harness imports them.
"""
