"""The Locust file of the reboot storm: `locust -f harness/storm/locustfile.py`.

Every Locust user is one reference phone (`harness.storm.locust_user.ReferencePhone`);
the storm's own options (`--storm-server`, `--storm-set`, `--storm-out`...) appear in
`locust --help` under "reboot storm". Nothing else here: importing this file imports
locust and its gevent monkey-patching, so harness itself never imports it.
"""

from harness.storm.locust_user import ReferencePhone

__all__ = ["ReferencePhone"]
